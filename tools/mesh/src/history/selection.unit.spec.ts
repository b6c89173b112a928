import { describe, expect, it } from "vitest"
import type { HistoryCommit } from "./historyFile.ts"
import { selectSlice, storedContentHashes } from "./selection.ts"

const event = (
  eventId: string,
  aggregate: string,
  correlationId: string,
  causationId: string | null,
  payload: unknown = {},
  occurredAt = "2026-12-01T10:00:00.000Z",
) => {
  const [aggregateType, aggregateId] = aggregate.split("/")
  return { eventId, aggregateType, aggregateId, correlationId, causationId, occurredAt, payload }
}
const commit = (
  domain: HistoryCommit["domain"],
  sequence: number,
  events: ReadonlyArray<unknown>,
): HistoryCommit => {
  const first = events[0] as { aggregateType: string; aggregateId: string }
  return {
    domain,
    sequence,
    subject: `${domain}.${first.aggregateType}.${first.aggregateId}`,
    msgId: null,
    events,
  }
}

// Two tickets; the second chain's reply was decided by a recorded decision and asked for an action.
const history: ReadonlyArray<HistoryCommit> = [
  commit("customer", 1, [event("e1", "ticket/t1", "chain-a", null)]),
  commit("customer", 2, [event("e2", "ticket/t2", "chain-b", null)]),
  commit("customer", 3, [event("e3", "ticket/t1", "chain-c", null, {}, "2026-12-01T12:00:00.000Z")]),
  commit("decisions", 1, [
    event("d1", "customer-ops/dec-1", "chain-b", "e2", {
      decisionId: "dec-1",
      prompt: { _tag: "Stored", sha256: "f".repeat(64) },
      input: { _tag: "Inline", sha256: "0".repeat(64), text: "{}" },
    }),
  ]),
  commit("actions", 1, [
    event("a1", "customer-ops/act-1", "chain-b", "d1", { cause: { decisionId: "dec-1", eventId: "e2" } }),
  ]),
  commit("actions", 2, [event("a2", "customer-ops/act-2", "chain-a", "e1")]),
]
const whole = { correlationIds: [], aggregates: [], sinceMs: null, untilMs: null }
const keys = (slice: ReadonlyArray<HistoryCommit>) => slice.map((c) => `${c.domain}#${c.sequence}`)

describe("cutting a slice of history", () => {
  it("keeps everything when nothing is asked for", () => {
    expect(selectSlice(history, whole)).toBe(history)
  })

  it("keeps a chain with the events it names as causes and the decisions its actions came from", () => {
    expect(keys(selectSlice(history, { ...whole, correlationIds: ["chain-b"] }))).toEqual([
      "customer#2",
      "decisions#1",
      "actions#1",
    ])
  })

  it("keeps every earlier commit of an aggregate the slice touches, so that it folds from its start", () => {
    // chain-c is t1's second event: its first, of another chain, comes along.
    expect(keys(selectSlice(history, { ...whole, correlationIds: ["chain-c"] }))).toEqual([
      "customer#1",
      "customer#3",
    ])
    expect(keys(selectSlice(history, { ...whole, aggregates: ["customer-ops/act-1"] }))).toEqual([
      "customer#2",
      "decisions#1",
      "actions#1",
    ])
  })

  it("selects by when events occurred", () => {
    const since = Date.parse("2026-12-01T11:00:00.000Z")
    expect(keys(selectSlice(history, { ...whole, sinceMs: since }))).toEqual(["customer#1", "customer#3"])
  })

  it("finds the decision content a commit keeps in the object store", () => {
    expect(storedContentHashes(history[3]!)).toEqual(["f".repeat(64)])
    expect(storedContentHashes(history[0]!)).toEqual([])
  })
})
