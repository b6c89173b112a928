import { describe, expect, it } from "vitest"
import { eventLoopSamplingMs, processVitals, watchEventLoop } from "./processVitals.ts"

/**
 * Holds the event loop, as a long synchronous callback does, until its own thread has run `ms` of
 * CPU: the process's CPU would count its other threads too (the collector's, the runner's), and the
 * loop would be let go early on a busy machine (106 ms held for 120 of the process's).
 */
const busyFor = (ms: number) => {
  const from = process.threadCpuUsage()
  for (;;) {
    const used = process.threadCpuUsage(from)
    if ((used.user + used.system) / 1000 >= ms) return
  }
}

const turns = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("process vitals", () => {
  it("count the CPU and the event loop's busy time a window spent, and how late a held-up turn came", async () => {
    watchEventLoop()
    await turns(5 * eventLoopSamplingMs)
    const before = processVitals()
    busyFor(120)
    await turns(5 * eventLoopSamplingMs)
    const after = processVitals()

    expect(after.pid).toBe(process.pid)
    const cpu =
      after.cpuSeconds.user + after.cpuSeconds.system - before.cpuSeconds.user - before.cpuSeconds.system
    expect(cpu).toBeGreaterThan(0.1)
    // The window's utilisation, from two reads: mostly the 120 ms the loop was held.
    const active = after.eventLoop.activeMs - before.eventLoop.activeMs
    const idle = after.eventLoop.idleMs - before.eventLoop.idleMs
    expect(active).toBeGreaterThanOrEqual(110)
    expect(active / (active + idle)).toBeGreaterThan(0.5)
    // One turn came about 120 ms late; most came on time. The sampling interval is not lateness.
    expect(after.eventLoop.delayMs.max).toBeGreaterThan(100)
    expect(after.eventLoop.delayMs.p50).toBeLessThan(eventLoopSamplingMs)
    expect(after.memoryBytes.rss).toBeGreaterThan(after.memoryBytes.heapUsed)
  })

  it("watch one event loop however many agents a process starts", async () => {
    watchEventLoop()
    await turns(2 * eventLoopSamplingMs)
    busyFor(60)
    await turns(2 * eventLoopSamplingMs)
    const first = processVitals().eventLoop.delayMs.max
    expect(first).toBeGreaterThan(40)
    // A second agent's start keeps the monitor, and what it has seen: a new one would start at 0.
    watchEventLoop()
    expect(processVitals().eventLoop.delayMs.max).toBeGreaterThanOrEqual(first)
  })
})
