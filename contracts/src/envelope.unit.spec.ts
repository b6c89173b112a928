import { Result, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { plainEnvelope, RawEnvelope } from "./envelope.ts"

// The plain checks stand in for the schema on the replay path: they must never accept what the
// schema refuses, and what they accept must come out exactly as the schema's decoding gives it.

const decode = Schema.decodeUnknownResult(RawEnvelope)

const valid = {
  eventId: "01a23eaa-71d2-797e-9dd7-4877f16dcf2e",
  type: "TicketOpened",
  schemaVersion: 1,
  aggregateType: "ticket",
  aggregateId: "tk-1",
  aggregateVersion: 3,
  occurredAt: "2026-12-04T01:28:07.391Z",
  correlationId: "chain",
  causationId: null,
  commandId: "cmd-1",
  actor: { kind: "agent", id: "customer-ops" },
  trace: { traceparent: "00-7874a0a23bb462e6fcf60b7e73ba6569-67cde3bca172f90c-01" },
  payload: { body: "hi" },
}

const absent = Symbol("absent")
// Values each field may take: the valid ones and the near misses the schema refuses.
const candidates: Record<string, ReadonlyArray<unknown>> = {
  eventId: [
    valid.eventId,
    valid.eventId.toUpperCase(),
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "01a23eaa-71d2-097e-9dd7-4877f16dcf2e",
    "01a23eaa-71d2-797e-cdd7-4877f16dcf2e",
    "01a23eaa71d2797e9dd74877f16dcf2e",
    "",
    42,
    absent,
  ],
  type: [
    "TicketOpened",
    "T",
    "ticketOpened",
    "Ticket_Opened",
    `A${"b".repeat(127)}`,
    `A${"b".repeat(128)}`,
    1,
    absent,
  ],
  schemaVersion: [1, 2, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "1", null, absent],
  aggregateType: ["ticket", "a.b", "", "x".repeat(128), "x".repeat(129), "tï", null, absent],
  aggregateId: ["tk-1", "tk 1", "*", "", 7, absent],
  aggregateVersion: [1, 99, 0, 1.25, "2", absent],
  occurredAt: [
    valid.occurredAt,
    "2026-12-04T01:28:07Z",
    "2026-12-04T01:28:07.123456789Z",
    "2026-12-04T01:28:07.1234567890Z",
    "2026-12-04 01:28:07.391Z",
    "2026-12-04T01:28:07.391+01:00",
    "",
    absent,
  ],
  correlationId: ["chain", "", " ", 3, null, absent],
  causationId: [null, "cause", "", 3, absent, undefined],
  commandId: ["cmd", "", null, undefined, 5, absent],
  actor: [
    { kind: "agent", id: "a" },
    { kind: "human", id: "anna" },
    { kind: "system", id: "s", extra: true },
    { kind: "robot", id: "r" },
    { kind: "agent", id: "" },
    { kind: "agent" },
    [],
    null,
    "agent",
    absent,
  ],
  trace: [
    valid.trace,
    { traceparent: valid.trace.traceparent, tracestate: "k=v" },
    { traceparent: valid.trace.traceparent, tracestate: 1 },
    { traceparent: valid.trace.traceparent, tracestate: undefined },
    { traceparent: "00-XYZ" },
    { traceparent: valid.trace.traceparent.toUpperCase() },
    {},
    null,
    undefined,
    absent,
  ],
  payload: [{ body: "hi" }, null, undefined, 3, [], absent],
  extra: [absent, "ignored", { nested: true }],
}

const envelopeOf = (choices: Record<string, unknown>) => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(choices)) if (value !== absent) out[key] = value
  return out
}

// Mostly the first (valid) value, so that many envelopes are off in one field or a few.
const arbitraryEnvelope = fc.record(
  Object.fromEntries(
    Object.entries(candidates).map(([k, values]) => [
      k,
      fc.oneof(
        { arbitrary: fc.constant(values[0]), weight: 5 },
        { arbitrary: fc.constantFrom(...values), weight: 2 },
      ),
    ]),
  ),
)

describe("plain envelope checks", () => {
  it("accept only what the schema accepts, and give what decoding it gives, key order included", () => {
    let accepted = 0
    fc.assert(
      fc.property(arbitraryEnvelope, (choices) => {
        const raw = envelopeOf(choices)
        const plain = plainEnvelope(raw)
        if (plain === undefined) return
        accepted += 1
        const decoded = decode(raw)
        expect(Result.isSuccess(decoded), JSON.stringify(raw)).toBe(true)
        expect(JSON.stringify(plain)).toBe(JSON.stringify(Result.getOrThrow(decoded)))
      }),
      { numRuns: 20_000, seed: 20261204 },
    )
    // The generator reaches the accepting side often enough for the comparison to mean something.
    expect(accepted).toBeGreaterThan(1_000)
  })

  it("take every envelope the log writes", () => {
    expect(plainEnvelope(valid)).toEqual(Result.getOrThrow(decode(valid)))
    const { commandId: _c, trace: _t, ...bare } = valid
    expect(plainEnvelope({ ...bare, causationId: "01a23eaa-71d2-797e-9dd7-4877f16dcf2e" })).toBeDefined()
  })
})
