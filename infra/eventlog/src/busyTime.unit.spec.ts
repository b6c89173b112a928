import { describe, expect, it } from "vitest"
import { BusyTime } from "./busyTime.ts"

describe("busy time", () => {
  it("counts the busy stretches between two instants, in part where they overlap", () => {
    const busy = new BusyTime()
    busy.mark(true, 1_000)
    busy.mark(false, 1_100)
    busy.mark(true, 1_300)
    busy.mark(false, 1_350)
    expect(busy.busyBetween(1_000, 1_400)).toBe(150)
    expect(busy.busyBetween(1_050, 1_320)).toBe(50 + 20)
    expect(busy.busyBetween(1_100, 1_300)).toBe(0)
    // An event stored before the consumer ever was busy waited behind what came after.
    expect(busy.busyBetween(0, 1_400)).toBe(150)
    expect(busy.busyBetween(1_400, 1_000)).toBe(0)
  })

  it("counts a stretch still running up to the instant asked", () => {
    const busy = new BusyTime()
    busy.mark(true, 2_000)
    expect(busy.busy).toBe(true)
    expect(busy.busyBetween(1_900, 2_250)).toBe(250)
    // Marking the state it is in changes nothing.
    busy.mark(true, 2_100)
    expect(busy.busyBetween(2_000, 2_300)).toBe(300)
  })

  it("never runs backwards when the clock steps back", () => {
    const busy = new BusyTime()
    busy.mark(true, 5_000)
    busy.mark(false, 4_900)
    busy.mark(true, 5_100)
    busy.mark(false, 5_200)
    expect(busy.busyBetween(4_000, 6_000)).toBe(100)
  })

  it("keeps its recent changes only, and reads an instant before them as the oldest kept", () => {
    const busy = new BusyTime({ kept: 4 })
    for (let i = 0; i < 20; i++) {
      busy.mark(true, i * 100)
      busy.mark(false, i * 100 + 10)
    }
    // The last stretches are exact; what was dropped counts as nothing.
    expect(busy.busyBetween(1_800, 2_000)).toBe(20)
    expect(busy.busyBetween(0, 2_000)).toBeLessThanOrEqual(80)
    expect(busy.busyBetween(0, 2_000)).toBeGreaterThanOrEqual(20)
  })

  it("takes back an empty free stretch, so that messages handled back to back keep one change each way", () => {
    const busy = new BusyTime({ kept: 4 })
    for (let i = 0; i < 100; i++) {
      busy.mark(true, 1_000 + i * 10)
      busy.mark(false, 1_000 + (i + 1) * 10)
    }
    // One busy stretch of a second, still whole although only four changes are kept at least.
    expect(busy.busyBetween(0, 3_000)).toBe(1_000)
    expect(busy.busyBetween(1_500, 1_600)).toBe(100)
  })

  it("counts the time before the consumer started as busy: a backlog waited for the consumer, not the mesh", () => {
    const busy = new BusyTime({ absentUntil: 10_000 })
    expect(busy.busy).toBe(false)
    expect(busy.busyBetween(9_000, 10_500)).toBe(1_000)
    expect(busy.busyBetween(10_000, 10_500)).toBe(0)
  })
})
