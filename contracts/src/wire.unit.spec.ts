import { Result } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type CatalogIssue, describeIssue } from "./catalog.ts"
import type { RawEnvelope } from "./envelope.ts"
import { type MeshEvent, meshCatalog } from "./index.ts"
import { commitArbitrary, meshEventArbitrary } from "./testing/arbitraries.ts"
import { expectSameData } from "./testing/sameData.ts"
import { decodeCommit, encodeCommit } from "./wire.ts"

type DecodedCommit = Result.Result<ReadonlyArray<MeshEvent>, CatalogIssue>
type Json = Record<string, unknown>

const issueTags: ReadonlyArray<CatalogIssue["_tag"]> = [
  "MalformedCommit",
  "InvalidEnvelope",
  "UnknownEventType",
  "UnsupportedVersion",
  "UpcastFailed",
  "InvalidPayload",
]

// The wire's promise is "an issue, never a throw": a throw fails the property with a message saying so.
const withoutThrowing = <A>(what: string, run: () => A): A => {
  let outcome: { readonly value: A } | undefined
  try {
    outcome = { value: run() }
  } catch (cause) {
    expect.unreachable(`${what} threw instead of returning a CatalogIssue: ${String(cause)}`)
  }
  return outcome.value
}

const decodeBytes = (bytes: Uint8Array): DecodedCommit =>
  withoutThrowing("decodeCommit", () => decodeCommit(meshCatalog, bytes))

const jsonBytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** Asserts a failure carrying a well-formed issue and returns the issue. */
const expectIssue = (result: Result.Result<unknown, CatalogIssue>): CatalogIssue => {
  if (Result.isSuccess(result)) {
    return expect.unreachable(`expected a CatalogIssue but decoded ${JSON.stringify(result.success)}`)
  }
  expect(issueTags).toContain(result.failure._tag)
  expect(withoutThrowing("describeIssue", () => describeIssue(result.failure))).not.toBe("")
  return result.failure
}

const issueMessage = (issue: CatalogIssue): string => ("message" in issue ? issue.message : "")

/** Events as a producer writes them: payloads encoded by the catalogue. */
const toRaw = (events: ReadonlyArray<MeshEvent>): ReadonlyArray<RawEnvelope> =>
  events.map((event) => ({
    ...event,
    payload: Result.getOrThrow(meshCatalog.encodePayload(event.type, event.payload)),
  }))

/** A valid event as plain JSON, the form a foreign producer could corrupt. */
const asJson = (event: MeshEvent): Json => JSON.parse(JSON.stringify(event)) as Json

const without = (record: Json, key: string): Json =>
  Object.fromEntries(Object.entries(record).filter(([k]) => k !== key))

const payloadOf = (envelope: Json): Json => envelope.payload as Json

describe("encodeCommit then decodeCommit", () => {
  it("round-trips every valid commit of 1 to 5 envelopes to equal events", () => {
    fc.assert(
      fc.property(commitArbitrary({ minEvents: 1, maxEvents: 5 }), (events) => {
        const decoded = decodeBytes(encodeCommit(toRaw(events)))
        if (Result.isFailure(decoded)) expect.unreachable(describeIssue(decoded.failure))
        expectSameData(decoded.success, events)
      }),
    )
  })

  it("refuses an empty commit", () => {
    expect(expectIssue(decodeBytes(encodeCommit([])))._tag).toBe("MalformedCommit")
  })

  it("refuses a truncated commit as malformed", () => {
    fc.assert(
      fc.property(
        commitArbitrary(),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (events, at) => {
          const bytes = encodeCommit(toRaw(events))
          const issue = expectIssue(decodeBytes(bytes.subarray(0, Math.floor(at * bytes.length))))
          expect(issue._tag).toBe("MalformedCommit")
        },
      ),
    )
  })
})

describe("decodeCommit on garbage", () => {
  it("turns arbitrary bytes into an issue, never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        expectIssue(decodeBytes(bytes))
      }),
    )
  })

  it("turns arbitrary JSON values into an issue, never a throw", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expectIssue(decodeBytes(jsonBytes(value)))
        expectIssue(decodeBytes(jsonBytes([value])))
        expectIssue(withoutThrowing("catalog.decode", () => meshCatalog.decode(value)))
      }),
    )
  })

  it("never throws when any envelope or payload field holds an arbitrary JSON value", () => {
    fc.assert(
      fc.property(
        meshEventArbitrary,
        fc.nat(),
        fc.boolean(),
        fc.jsonValue(),
        (event, pick, inPayload, value) => {
          const envelope = asJson(event)
          const target = inPayload ? payloadOf(envelope) : envelope
          const keys = Object.keys(target)
          const key = keys[pick % keys.length] ?? "payload"
          target[key] = value
          // The value may happen to be valid; either way the answer is a Result.
          const result = decodeBytes(jsonBytes([envelope]))
          if (Result.isFailure(result)) expectIssue(result)
        },
      ),
    )
  })
})

/** A corruption of a valid envelope and what the catalogue must say about it. */
interface Mutation {
  readonly name: string
  readonly apply: (envelope: Json) => Json
  readonly tag: CatalogIssue["_tag"]
  /** The field the issue's message must name, as the schema path `["field"]`. */
  readonly field?: string
  readonly check?: (issue: CatalogIssue) => void
}

const requiredEnvelopeFields = [
  "eventId",
  "type",
  "schemaVersion",
  "aggregateType",
  "aggregateId",
  "aggregateVersion",
  "occurredAt",
  "correlationId",
  "causationId",
  "actor",
  "payload",
] as const

const wrongTypedValues: Readonly<Record<string, ReadonlyArray<unknown>>> = {
  eventId: [42, true, null, {}, []],
  type: [42, true, null, {}, []],
  schemaVersion: ["2", true, null, {}, []],
  aggregateType: [42, true, null, {}, []],
  aggregateId: [42, true, null, {}, []],
  aggregateVersion: ["1", true, null, {}, []],
  occurredAt: [1_700_000_000_000, true, null, {}, []],
  correlationId: [42, true, null, {}, []],
  causationId: [42, true, {}, []],
  actor: ["agent", 42, true, null, []],
  trace: ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", 42, null, []],
}

const dropEnvelopeField: fc.Arbitrary<Mutation> = fc.constantFrom(...requiredEnvelopeFields).map((field) => ({
  name: `drop ${field}`,
  apply: (envelope) => without(envelope, field),
  tag: "InvalidEnvelope",
  field,
}))

const retypeEnvelopeField: fc.Arbitrary<Mutation> = fc
  .constantFrom(...Object.entries(wrongTypedValues))
  .chain(([field, values]) => fc.constantFrom(...values).map((value) => [field, value] as const))
  .map(([field, value]) => ({
    name: `set ${field} to ${JSON.stringify(value)}`,
    apply: (envelope) => ({ ...envelope, [field]: value }),
    tag: "InvalidEnvelope",
    field,
  }))

const breakEventId: fc.Arbitrary<Mutation> = fc
  .constantFrom<[string, (id: string) => string]>(
    ["drop its last digit", (id) => id.slice(0, -1)],
    ["put a non-hex character in it", (id) => `g${id.slice(1)}`],
    ["set its version digit to 0", (id) => `${id.slice(0, 14)}0${id.slice(15)}`],
    ["set its variant to 0", (id) => `${id.slice(0, 19)}0${id.slice(20)}`],
    ["remove its dashes", (id) => id.replaceAll("-", "")],
    ["empty it", () => ""],
  )
  .map(([how, breakId]) => ({
    name: `eventId: ${how}`,
    apply: (envelope) => ({ ...envelope, eventId: breakId(String(envelope.eventId)) }),
    tag: "InvalidEnvelope",
    field: "eventId",
  }))

const badSchemaVersion: fc.Arbitrary<Mutation> = fc
  .constantFrom(0, -1, 0.5, 1.5, 2.5)
  .map((schemaVersion) => ({
    name: `schemaVersion ${schemaVersion}`,
    apply: (envelope) => ({ ...envelope, schemaVersion }),
    tag: "InvalidEnvelope",
    field: "schemaVersion",
  }))

const badToken: fc.Arbitrary<Mutation> = fc
  .tuple(
    fc.constantFrom("aggregateId", "aggregateType"),
    fc.constantFrom("T.42", "T*", ">", "T 42", "", "x".repeat(129)),
  )
  .map(([field, value]) => ({
    name: `${field} ${JSON.stringify(value)}`,
    apply: (envelope) => ({ ...envelope, [field]: value }),
    tag: "InvalidEnvelope",
    field,
  }))

const unknownType: fc.Arbitrary<Mutation> = fc
  .stringMatching(/^[A-Z][A-Za-z0-9]{1,30}$/)
  .filter((type) => meshCatalog.get(type) === undefined)
  .map((type) => ({
    name: `unknown type ${type}`,
    apply: (envelope) => ({ ...envelope, type }),
    tag: "UnknownEventType",
    check: (issue) => expect(issue).toStrictEqual({ _tag: "UnknownEventType", type }),
  }))

const newerVersion: fc.Arbitrary<Mutation> = fc.integer({ min: 1, max: 1000 }).map((ahead) => ({
  name: `schemaVersion ${ahead} ahead`,
  apply: (envelope) => ({ ...envelope, schemaVersion: Number(envelope.schemaVersion) + ahead }),
  tag: "UnsupportedVersion",
}))

const badPayload: fc.Arbitrary<Mutation> = fc
  .constantFrom<unknown>(null, "payload", 42, [])
  .map((payload) => ({
    name: `payload ${JSON.stringify(payload)}`,
    apply: (envelope) => ({ ...envelope, payload }),
    tag: "InvalidPayload",
  }))

/**
 * Mutations of a payload field the schema cannot do without: removing an optional field, or putting a
 * boolean where anything goes (a register's value), leaves a valid event, which is not a corruption.
 */
const payloadFieldMutation = (envelope: Json, pick: number, retype: boolean): Mutation => {
  const payload = payloadOf(envelope)
  const refused = (candidate: Json) =>
    Result.isFailure(decodeBytes(jsonBytes([{ ...envelope, payload: candidate }])))
  const keys = Object.keys(payload).filter((key) =>
    refused(retype ? { ...payload, [key]: true } : without(payload, key)),
  )
  const field = keys[pick % keys.length] ?? "missing"
  return {
    name: retype ? `payload.${field} set to true` : `payload.${field} removed`,
    apply: (e) => ({
      ...e,
      payload: retype ? { ...payloadOf(e), [field]: true } : without(payloadOf(e), field),
    }),
    tag: "InvalidPayload",
    field,
  }
}

const corruptedEvent: fc.Arbitrary<{ readonly envelope: Json; readonly mutation: Mutation }> = fc
  .tuple(
    meshEventArbitrary,
    fc.oneof(
      dropEnvelopeField,
      retypeEnvelopeField,
      breakEventId,
      badSchemaVersion,
      badToken,
      unknownType,
      newerVersion,
      badPayload,
      fc.tuple(fc.nat(), fc.boolean()).map(([pick, retype]) => ({ pick, retype })),
    ),
  )
  .map(([event, chosen]) => {
    const envelope = asJson(event)
    const mutation = "pick" in chosen ? payloadFieldMutation(envelope, chosen.pick, chosen.retype) : chosen
    return { envelope, mutation }
  })

const expectMutationIssue = (issue: CatalogIssue, mutation: Mutation): void => {
  expect(issue._tag, mutation.name).toBe(mutation.tag)
  if (mutation.field !== undefined) {
    expect(issueMessage(issue), mutation.name).toContain(`["${mutation.field}"]`)
    expect(describeIssue(issue), mutation.name).toContain(`["${mutation.field}"]`)
  }
  mutation.check?.(issue)
}

describe("decodeCommit on corrupted valid events", () => {
  it("names what is wrong in a CatalogIssue, never a throw", () => {
    fc.assert(
      fc.property(corruptedEvent, ({ envelope, mutation }) => {
        const issue = expectIssue(decodeBytes(jsonBytes([mutation.apply(envelope)])))
        expectMutationIssue(issue, mutation)
      }),
    )
  })

  it("refuses the whole commit when one of its envelopes is corrupted", () => {
    fc.assert(
      fc.property(commitArbitrary(), corruptedEvent, fc.nat(), (events, { envelope, mutation }, at) => {
        const raw: Array<unknown> = [...toRaw(events)]
        raw.splice(at % (raw.length + 1), 0, mutation.apply(envelope))
        expectMutationIssue(expectIssue(decodeBytes(jsonBytes(raw))), mutation)
      }),
    )
  })

  it("names customerId when a TicketOpened lacks it", () => {
    const envelope = {
      eventId: "0190b4a2-5c3e-7a10-8c4d-2f6b1e9a7d30",
      type: "TicketOpened",
      schemaVersion: 2,
      aggregateType: "ticket",
      aggregateId: "T-42",
      aggregateVersion: 1,
      occurredAt: "2026-11-25T10:00:00.000Z",
      correlationId: "c-1",
      causationId: null,
      actor: { kind: "system", id: "storefront" },
      payload: { tenantId: "acme", channel: "chat", subject: "Where is my order?", body: "", orderId: null },
    }
    const issue = expectIssue(decodeBytes(jsonBytes([envelope])))
    expect(issue).toStrictEqual({
      _tag: "InvalidPayload",
      type: "TicketOpened",
      version: 2,
      message: 'Missing key at ["customerId"]',
    })
    expect(describeIssue(issue)).toContain("customerId")
  })
})

describe("a commit on the wire", () => {
  const opened: RawEnvelope = {
    eventId: "0190b4a2-5c3e-7a10-8c4d-2f6b1e9a7d30",
    type: "TicketOpened",
    schemaVersion: 2,
    aggregateType: "ticket",
    aggregateId: "T-42",
    aggregateVersion: 1,
    occurredAt: "2026-11-25T10:00:00.000Z",
    correlationId: "0190b4a2-5c3e-7a10-8c4d-2f6b1e9a7d2f",
    causationId: null,
    actor: { kind: "system", id: "storefront" },
    payload: {
      tenantId: "acme",
      customerId: "C-7",
      channel: "email",
      subject: "Where is my order?",
      body: "",
      orderId: "O-1001",
    },
  }
  const triaged: RawEnvelope = {
    ...opened,
    eventId: "0190b4a2-5c3f-7a10-8c4d-2f6b1e9a7d31",
    type: "TicketTriaged",
    schemaVersion: 1,
    aggregateVersion: 2,
    actor: { kind: "agent", id: "customer-ops" },
    payload: {
      intent: "order_status",
      sentiment: "neutral",
      priority: "normal",
      confidence: 0.92,
      decisionId: "D-1",
    },
  }

  it("decodes and refuses as the README shows", () => {
    // #region readme:wire
    // `opened` and `triaged` are RawEnvelopes of ticket T-42 at aggregate versions 1 and 2.
    // One command's events travel as one JetStream message: a JSON array of envelopes.
    const bytes = encodeCommit([opened, triaged])
    const decoded = decodeCommit(meshCatalog, bytes)
    const types = Result.getOrThrow(decoded).map((event) => event.type)
    expect(types).toStrictEqual(["TicketOpened", "TicketTriaged"])

    // Anything else is a CatalogIssue naming what is wrong, never a throw; one bad envelope refuses the commit.
    const broken = decodeCommit(meshCatalog, encodeCommit([opened, { ...triaged, aggregateVersion: 0 }]))
    expect(Result.isFailure(broken) && describeIssue(broken.failure)).toBe(
      'invalid envelope: Expected a value greater than or equal to 1 at ["aggregateVersion"]',
    )
    // #endregion
  })
})
