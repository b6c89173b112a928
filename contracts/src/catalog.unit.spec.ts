import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { type CatalogIssue, defineEvent, describeIssue, makeCatalog } from "./catalog.ts"
import { meshCatalog, TicketOpened } from "./index.ts"

/** A valid envelope around a payload; tests override the parts they are about. */
const envelope = (overrides: Record<string, unknown>) => ({
  eventId: "0190b4a2-5c3e-7a10-8c4d-2f6b1e9a7d30",
  type: "TicketOpened",
  schemaVersion: 2,
  aggregateType: "ticket",
  aggregateId: "T-42",
  aggregateVersion: 1,
  occurredAt: "2026-11-25T10:00:00.000Z",
  correlationId: "0190b4a2-5c3e-7a10-8c4d-2f6b1e9a7d31",
  causationId: null,
  actor: { kind: "system", id: "storefront" },
  payload: {},
  ...overrides,
})

const v1TicketOpened = {
  tenantId: "acme",
  customerId: "C-7",
  subject: "Where is my order?",
  body: "It has been two weeks.",
  orderId: "O-1001",
}

const failureOf = <A>(result: Result.Result<A, CatalogIssue>): CatalogIssue => {
  if (Result.isSuccess(result))
    return expect.unreachable(`expected an issue, got ${JSON.stringify(result.success)}`)
  return result.failure
}

const successOf = <A>(result: Result.Result<A, CatalogIssue>): A => {
  if (Result.isFailure(result)) return expect.unreachable(describeIssue(result.failure))
  return result.success
}

const noteEvent = (upcasters: Record<number, (payload: unknown) => unknown>, version = 2) =>
  defineEvent({
    type: "NoteAdded",
    domain: "customer",
    aggregateType: "ticket",
    version,
    payload: Schema.Struct({ text: Schema.String, visibility: Schema.Literals(["internal", "public"]) }),
    upcasters,
    summary: "A note was added to the ticket.",
    producer: "customer-ops",
  })

describe("upcasting", () => {
  it("decodes a v1 TicketOpened (no channel) as v2 with channel email", () => {
    const event = successOf(meshCatalog.decode(envelope({ schemaVersion: 1, payload: v1TicketOpened })))
    expect(event.schemaVersion).toBe(2)
    expect(event.payload).toStrictEqual({ ...v1TicketOpened, channel: "email" })
    expect(event).toStrictEqual(envelope({ payload: { ...v1TicketOpened, channel: "email" } }))
  })

  it("decodes a current TicketOpened without upcasting it", () => {
    const payload = { ...v1TicketOpened, channel: "chat" }
    expect(successOf(meshCatalog.decode(envelope({ payload })))).toStrictEqual(envelope({ payload }))
  })

  it("refuses a version newer than the catalogue knows", () => {
    const issue = failureOf(meshCatalog.decode(envelope({ schemaVersion: 3 })))
    expect(issue).toStrictEqual({ _tag: "UnsupportedVersion", type: "TicketOpened", version: 3, current: 2 })
    expect(describeIssue(issue)).toBe("TicketOpened schema version 3 is newer than this build knows (2)")
  })

  it("reports an upcaster that throws as UpcastFailed", () => {
    const catalog = makeCatalog([
      noteEvent({
        1: () => {
          throw new Error("v1 notes had no text")
        },
      }),
    ])
    const issue = failureOf(catalog.decode(envelope({ type: "NoteAdded", schemaVersion: 1, payload: {} })))
    expect(issue).toStrictEqual({
      _tag: "UpcastFailed",
      type: "NoteAdded",
      fromVersion: 1,
      message: "Error: v1 notes had no text",
    })
  })

  it("reports an upcaster that throws an unprintable value as UpcastFailed too", () => {
    const catalog = makeCatalog([
      noteEvent({
        1: () => {
          throw Object.create(null)
        },
      }),
    ])
    const issue = failureOf(catalog.decode(envelope({ type: "NoteAdded", schemaVersion: 1, payload: {} })))
    expect(issue).toMatchObject({ _tag: "UpcastFailed", type: "NoteAdded", fromVersion: 1 })
  })

  it("applies every upcaster in order, from the written version to the current one", () => {
    const TagSet = defineEvent({
      type: "TagSet",
      domain: "content",
      aggregateType: "listing",
      version: 3,
      payload: Schema.Struct({ tags: Schema.Array(Schema.String) }),
      upcasters: {
        1: (v1) => ({ tag: (v1 as { label: string }).label }),
        2: (v2) => ({ tags: [(v2 as { tag: string }).tag] }),
      },
      summary: "The listing's tags were set.",
      producer: "content-ops",
    })
    const catalog = makeCatalog([TagSet])
    const base = { type: "TagSet", aggregateType: "listing" }
    expect(
      successOf(catalog.decode(envelope({ ...base, schemaVersion: 1, payload: { label: "sale" } }))).payload,
    ).toStrictEqual({ tags: ["sale"] })
    expect(
      successOf(catalog.decode(envelope({ ...base, schemaVersion: 2, payload: { tag: "new" } }))).payload,
    ).toStrictEqual({ tags: ["new"] })
  })

  it("validates the upcasted payload against the current schema", () => {
    const catalog = makeCatalog([noteEvent({ 1: (v1) => ({ ...(v1 as object), visibility: "everyone" }) })])
    const issue = failureOf(
      catalog.decode(envelope({ type: "NoteAdded", schemaVersion: 1, payload: { text: "call back" } })),
    )
    expect(issue).toMatchObject({ _tag: "InvalidPayload", type: "NoteAdded", version: 2 })
    expect(describeIssue(issue)).toContain('["visibility"]')
  })

  it("upcasts an old event as the README shows", () => {
    // #region readme:upcasting
    const NoteAdded = defineEvent({
      type: "NoteAdded",
      domain: "customer",
      aggregateType: "ticket",
      // v2 added `visibility`; every v1 note was internal.
      version: 2,
      payload: Schema.Struct({ text: Schema.String, visibility: Schema.Literals(["internal", "public"]) }),
      upcasters: { 1: (v1) => ({ ...(v1 as object), visibility: "internal" }) },
      summary: "A note was added to the ticket.",
      producer: "customer-ops",
      consumers: ["customer-ops"],
    })
    const catalog = makeCatalog([NoteAdded])

    // An envelope written before v2 existed, as it sits in the log.
    const decoded = catalog.decode({
      eventId: "0190b4a2-5c3e-7a10-8c4d-2f6b1e9a7d30",
      type: "NoteAdded",
      schemaVersion: 1,
      aggregateType: "ticket",
      aggregateId: "T-42",
      aggregateVersion: 3,
      occurredAt: "2026-11-25T10:00:00.000Z",
      correlationId: "0190b4a2-5c3e-7a10-8c4d-2f6b1e9a7d31",
      causationId: null,
      actor: { kind: "human", id: "support-lead" },
      payload: { text: "Customer prefers phone calls." },
    })

    expect(Result.getOrThrow(decoded)).toMatchObject({
      type: "NoteAdded",
      schemaVersion: 2,
      payload: { text: "Customer prefers phone calls.", visibility: "internal" },
    })
    // #endregion
  })
})

describe("decode", () => {
  it("refuses an unknown event type by name", () => {
    expect(failureOf(meshCatalog.decode(envelope({ type: "TicketReopened" })))).toStrictEqual({
      _tag: "UnknownEventType",
      type: "TicketReopened",
    })
  })

  it("refuses an invalid envelope naming the field", () => {
    const issue = failureOf(meshCatalog.decode(envelope({ aggregateId: "T.42" })))
    expect(issue._tag).toBe("InvalidEnvelope")
    expect(describeIssue(issue)).toContain('["aggregateId"]')
  })

  it("keeps a message on one line", () => {
    const issue = failureOf(meshCatalog.decode(envelope({ payload: { ...v1TicketOpened, channel: "fax" } })))
    expect(describeIssue(issue)).not.toContain("\n")
    expect(describeIssue(issue)).toContain('["channel"]')
  })
})

describe("encodePayload", () => {
  it("returns the JSON form of a valid payload", () => {
    const payload = { ...v1TicketOpened, channel: "web" }
    expect(successOf(meshCatalog.encodePayload("TicketOpened", payload))).toStrictEqual(payload)
  })

  it("names the invalid field of a payload", () => {
    const issue = failureOf(
      meshCatalog.encodePayload("TicketOpened", { ...v1TicketOpened, channel: "email", customerId: "" }),
    )
    expect(issue).toMatchObject({ _tag: "InvalidPayload", type: "TicketOpened", version: 2 })
    expect(describeIssue(issue)).toContain('["customerId"]')
  })

  it("names a missing field of a payload", () => {
    const issue = failureOf(meshCatalog.encodePayload("TicketOpened", v1TicketOpened))
    expect(describeIssue(issue)).toContain('["channel"]')
  })

  it("refuses an unknown event type", () => {
    expect(failureOf(meshCatalog.encodePayload("TicketReopened", {}))).toStrictEqual({
      _tag: "UnknownEventType",
      type: "TicketReopened",
    })
  })
})

describe("defineEvent", () => {
  it("defaults to version 1 with no upcasters and no consumers", () => {
    const event = defineEvent({
      type: "NotePinned",
      domain: "customer",
      aggregateType: "ticket",
      payload: Schema.Struct({ noteId: Schema.String }),
      summary: "A note was pinned.",
      producer: "customer-ops",
    })
    expect(event).toMatchObject({ version: 1, upcasters: {}, consumers: [] })
  })

  it("refuses a version without an upcaster from every older version", () => {
    expect(() => noteEvent({})).toThrow("event NoteAdded is at version 2 but has no upcaster from version 1")
    expect(() => noteEvent({ 1: (p) => p }, 3)).toThrow("has no upcaster from version 2")
  })

  it("refuses a version that envelopes cannot carry", () => {
    for (const version of [0, -1, 1.5]) {
      expect(() => noteEvent({ 1: (p) => p }, version)).toThrow("versions are integers from 1")
    }
  })

  it("describes the mesh's TicketOpened at version 2", () => {
    expect(TicketOpened).toMatchObject({ type: "TicketOpened", domain: "customer", version: 2 })
    expect(Object.keys(TicketOpened.upcasters)).toStrictEqual(["1"])
  })
})

describe("makeCatalog", () => {
  it("refuses duplicate event types", () => {
    expect(() => makeCatalog([noteEvent({ 1: (p) => p }), noteEvent({ 1: (p) => p })])).toThrow(
      "event type NoteAdded is defined twice",
    )
  })

  it("finds a definition by type", () => {
    expect(meshCatalog.get("TicketOpened")).toBe(TicketOpened)
    expect(meshCatalog.get("TicketReopened")).toBeUndefined()
  })

  it("holds every mesh event type exactly once", () => {
    const types = meshCatalog.definitions.map((definition) => definition.type)
    expect(new Set(types).size).toBe(types.length)
  })
})

describe("describeIssue", () => {
  it("renders every issue as one sentence naming what is wrong", () => {
    const cases: ReadonlyArray<[CatalogIssue, string]> = [
      [{ _tag: "MalformedCommit", message: "not JSON" }, "malformed commit: not JSON"],
      [
        { _tag: "InvalidEnvelope", message: 'Missing key at ["eventId"]' },
        'invalid envelope: Missing key at ["eventId"]',
      ],
      [{ _tag: "UnknownEventType", type: "Nope" }, 'unknown event type "Nope"'],
      [
        { _tag: "UnsupportedVersion", type: "TicketOpened", version: 9, current: 2 },
        "TicketOpened schema version 9 is newer than this build knows (2)",
      ],
      [
        { _tag: "UpcastFailed", type: "TicketOpened", fromVersion: 1, message: "boom" },
        "TicketOpened upcast from version 1 failed: boom",
      ],
      [
        { _tag: "InvalidPayload", type: "TicketOpened", version: 2, message: "bad" },
        "TicketOpened v2 payload is invalid: bad",
      ],
    ]
    for (const [issue, sentence] of cases) expect(describeIssue(issue)).toBe(sentence)
  })
})
