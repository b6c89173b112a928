import { describe, expect, it } from "vitest"
import { type LoggedEvent, type MemoryChange, planMemoryBatch } from "./memoryProjection.ts"

interface TestEvent {
  readonly eventId: string
  readonly type: "Drafted" | "Invalidated" | "Noise"
  readonly id: string
  readonly text: string
}

let sequence = 0
const logged = (type: TestEvent["type"], id: string, text = ""): LoggedEvent<TestEvent> => {
  sequence++
  return { stream: "S", sequence, event: { eventId: `e${sequence}`, type, id, text } }
}

const toMemory = (event: TestEvent): MemoryChange => {
  switch (event.type) {
    case "Drafted":
      return { id: event.id, tenantId: "t1", text: event.text, updatedAt: "2026-11-25T10:00:00.000Z" }
    case "Invalidated":
      return { stale: event.id }
    case "Noise":
      return undefined
  }
}

describe("planMemoryBatch", () => {
  it("keeps the last draft of each memory, with the event it came from", () => {
    const events = [
      logged("Drafted", "a", "one"),
      logged("Drafted", "b", "two"),
      logged("Drafted", "a", "three"),
    ]
    const plan = planMemoryBatch(events, toMemory)
    expect(plan.upserts.map((u) => [u.draft.id, u.draft.text, u.source.eventId])).toEqual([
      ["b", "two", events[1]!.event.eventId],
      ["a", "three", events[2]!.event.eventId],
    ])
    expect(plan.upserts[1]!.source).toEqual({
      stream: "S",
      sequence: events[2]!.sequence,
      eventId: events[2]!.event.eventId,
    })
  })

  it("marks stale only the memories whose last word in the batch was a stale mark", () => {
    const events = [
      logged("Drafted", "a", "one"),
      logged("Invalidated", "a"),
      logged("Invalidated", "b"),
      logged("Drafted", "b", "fresh again"),
      logged("Invalidated", "c"),
      logged("Noise", "x"),
    ]
    const plan = planMemoryBatch(events, toMemory)
    expect(plan.upserts.map((u) => u.draft.id)).toEqual(["a", "b"])
    const staleIds = [...plan.stale.values()].flat().sort()
    expect(staleIds).toEqual(["a", "c"])
    expect(plan.ignored).toBe(1)
  })

  it("names the event behind a stale mark when the projection gives no reason", () => {
    const event = logged("Invalidated", "a")
    const plan = planMemoryBatch([event], toMemory)
    expect([...plan.stale.keys()]).toEqual([`Invalidated at S#${event.sequence}`])
  })
})
