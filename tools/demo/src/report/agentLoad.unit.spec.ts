import type { ProcessVitals } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import { agentLoadBetween } from "./agentLoad.ts"

const vitals = (over: {
  readonly pid?: number
  readonly cpu: number
  readonly active: number
  readonly idle: number
  readonly p99?: number
}): ProcessVitals => ({
  pid: over.pid ?? 4242,
  uptimeSeconds: 60,
  cpuSeconds: { user: over.cpu * 0.75, system: over.cpu * 0.25 },
  memoryBytes: { rss: 300 * 2 ** 20, heapUsed: 120 * 2 ** 20 },
  eventLoop: { activeMs: over.active, idleMs: over.idle, delayMs: { p50: 0.2, p99: over.p99 ?? 4, max: 40 } },
})

describe("an agent's load over the day", () => {
  it("is the CPU and event-loop time between the two reads, over the day's length", () => {
    const load = agentLoadBetween(
      vitals({ cpu: 2, active: 1_500, idle: 3_000 }),
      vitals({ cpu: 17, active: 9_000, idle: 25_500, p99: 12.5 }),
      30_000,
    )
    expect(load).toEqual({
      cpuSeconds: 15,
      cores: 0.5,
      eventLoopUtilization: 0.25,
      eventLoopDelayMs: { p99: 12.5, max: 40 },
      rssMb: 300,
    })
  })

  it("is unknown for a process killed and started again meanwhile, or one whose status could not be read", () => {
    const before = vitals({ cpu: 2, active: 1_000, idle: 1_000 })
    expect(agentLoadBetween(before, vitals({ pid: 5151, cpu: 1, active: 500, idle: 500 }), 30_000)).toBeNull()
    expect(agentLoadBetween(before, new Error("customer-ops's /status answered 503"), 30_000)).toBeNull()
    expect(agentLoadBetween(undefined, before, 30_000)).toBeNull()
  })
})
