import { type ELDHistogram, monitorEventLoopDelay, performance } from "node:perf_hooks"
import type { ProcessVitals } from "@mesh/contracts"

// The process section of an agent's /status (its contract, and why an SRE reads it, is in
// @mesh/contracts): read from Node's own counters, the event loop's delay from a monitor started
// with the agent.

/** The event loop's delay is sampled this often: a hundred wake-ups a second cost nothing to see. */
export const eventLoopSamplingMs = 10

// One monitor per process, started by the first agent host and kept for the life of the process.
let delays: ELDHistogram | undefined

/** Starts sampling the event loop's delay, once per process (later calls keep the first monitor). */
export const watchEventLoop = (): void => {
  if (delays !== undefined) return
  delays = monitorEventLoopDelay({ resolution: eventLoopSamplingMs })
  delays.enable()
}

const millis = (nanos: number) => nanos / 1e6

/** The process's vitals now. The event loop's delay is zero until {@link watchEventLoop} runs. */
export const processVitals = (): ProcessVitals => {
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  const loop = performance.eventLoopUtilization()
  // The histogram holds each sampling interval whole: its lateness is what exceeds the interval.
  const late = (nanos: number) =>
    delays === undefined || delays.count === 0 ? 0 : Math.max(0, millis(nanos) - eventLoopSamplingMs)
  const round = (ms: number) => Math.round(ms * 10) / 10
  return {
    pid: process.pid,
    uptimeSeconds: Math.round(process.uptime() * 10) / 10,
    cpuSeconds: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
    memoryBytes: { rss: memory.rss, heapUsed: memory.heapUsed },
    eventLoop: {
      activeMs: Math.round(loop.active),
      idleMs: Math.round(loop.idle),
      delayMs: {
        p50: round(late(delays?.percentile(50) ?? 0)),
        p99: round(late(delays?.percentile(99) ?? 0)),
        max: round(late(delays?.max ?? 0)),
      },
    },
  }
}
