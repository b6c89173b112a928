import { decodeCommit, defineEvent, encodeCommit, makeCatalog, type RawEnvelope } from "@mesh/contracts"
import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { commitMayHold, decodeStoredCommit, SkippedEvents } from "./storedCommit.ts"

const NoteAdded = defineEvent({
  type: "NoteAdded",
  domain: "customer",
  aggregateType: "ticket",
  payload: Schema.Struct({ text: Schema.String }),
  summary: "A note was added.",
  producer: "eventlog-tests",
})
const TagAdded = defineEvent({
  type: "TagAdded",
  domain: "customer",
  aggregateType: "ticket",
  payload: Schema.Struct({ tag: Schema.String }),
  summary: "A tag was added.",
  producer: "eventlog-tests",
})
/** An older build's catalogue: it has never heard of TagAdded. */
const older = makeCatalog([NoteAdded])

const envelope = (aggregateVersion: number, type: string, payload: unknown): RawEnvelope => ({
  eventId: `01936b2e-0000-7000-8000-${String(aggregateVersion).padStart(12, "0")}`,
  type,
  schemaVersion: 1,
  aggregateType: "ticket",
  aggregateId: "t1",
  aggregateVersion,
  occurredAt: "2026-01-01T00:00:00.000Z",
  correlationId: "c",
  causationId: null,
  actor: { kind: "system", id: "test" },
  payload,
})
const note = (v: number) => envelope(v, "NoteAdded", { text: `n${v}` })
const tag = (v: number) => envelope(v, "TagAdded", { tag: `t${v}` })

const decoded = (envelopes: ReadonlyArray<RawEnvelope>) =>
  Result.getOrThrow(decodeStoredCommit(older, encodeCommit(envelopes)))

describe("decodeStoredCommit", () => {
  it("decodes a commit of known types as decodeCommit does", () => {
    const bytes = encodeCommit([note(1), note(2)])
    expect(decodeStoredCommit(older, bytes)).toEqual(
      Result.succeed({ events: Result.getOrThrow(decodeCommit(older, bytes)), unknownTypes: [], version: 2 }),
    )
  })

  it("sets aside the events of unknown types, by type, and keeps the others in order", () => {
    const commit = decoded([note(3), tag(4), note(5), tag(6)])
    expect(commit.events.map((e) => e.aggregateVersion)).toEqual([3, 5])
    expect(commit.unknownTypes).toEqual(["TagAdded", "TagAdded"])
    // Where the aggregate stands after the commit, though its last event is unknown.
    expect(commit.version).toBe(6)
    expect(decoded([tag(1)])).toEqual({ events: [], unknownTypes: ["TagAdded"], version: 1 })
  })

  it("still fails on what no build can read: a malformed commit, a known type's bad payload, a newer schema version", () => {
    const issueOf = (bytes: Uint8Array) => {
      const result = decodeStoredCommit(older, bytes)
      if (Result.isSuccess(result)) throw new Error("expected an issue")
      return result.failure._tag
    }
    expect(issueOf(new TextEncoder().encode("[]"))).toBe("MalformedCommit")
    expect(issueOf(encodeCommit([tag(1), envelope(2, "NoteAdded", { text: 42 })]))).toBe("InvalidPayload")
    expect(issueOf(encodeCommit([tag(1), { ...note(2), schemaVersion: 2 }]))).toBe("UnsupportedVersion")
    expect(issueOf(encodeCommit([tag(1), { ...note(2), aggregateVersion: 0 }]))).toBe("InvalidEnvelope")
  })

  it("reads with a catalogue that has the type what an older one skipped", () => {
    const newer = makeCatalog([NoteAdded, TagAdded])
    const commit = Result.getOrThrow(decodeStoredCommit(newer, encodeCommit([note(1), tag(2)])))
    expect(commit.events.map((e) => e.type)).toEqual(["NoteAdded", "TagAdded"])
    expect(commit.unknownTypes).toEqual([])
  })
})

describe("SkippedEvents", () => {
  it("counts by type and says when a type is seen the first time", () => {
    const skipped = new SkippedEvents()
    expect(skipped.counts()).toEqual({})
    expect(skipped.record(["TagAdded", "TagAdded"])).toBe(true)
    expect(skipped.record(["TagAdded"])).toBe(false)
    expect(skipped.record(["TagAdded", "NoteRemoved"])).toBe(true)
    expect(skipped.counts()).toEqual({ TagAdded: 4, NoteRemoved: 1 })
  })
})

describe("telling whether a commit may hold an event of some types, undecoded", () => {
  const both = makeCatalog([NoteAdded, TagAdded])
  const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
  const notes = new Set(["NoteAdded"])

  it("is false only for known types, none of them asked for", () => {
    expect(commitMayHold(both, bytesOf([envelope(1, "TagAdded", { tag: "a" })]), notes)).toBe(false)
    expect(
      commitMayHold(
        both,
        bytesOf([envelope(1, "TagAdded", { tag: "a" }), envelope(2, "NoteAdded", { text: "x" })]),
        notes,
      ),
    ).toBe(true)
    // A payload's own `type` field is not the event's type.
    expect(
      commitMayHold(both, bytesOf([envelope(1, "TagAdded", { tag: "a", type: "NoteAdded" })]), notes),
    ).toBe(false)
  })

  it("is true for what must be decoded to be judged: an unknown type, malformed bytes, no envelopes", () => {
    // The older reader counts a type it lacks as skipped: that takes a decode.
    expect(commitMayHold(older, bytesOf([envelope(1, "TagAdded", { tag: "a" })]), notes)).toBe(true)
    expect(commitMayHold(both, new TextEncoder().encode("[{not json"), notes)).toBe(true)
    expect(commitMayHold(both, bytesOf([]), notes)).toBe(true)
    expect(commitMayHold(both, bytesOf({ type: "TagAdded" }), notes)).toBe(true)
    expect(commitMayHold(both, bytesOf([{ type: 7 }]), notes)).toBe(true)
  })
})
