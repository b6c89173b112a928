import { Schema } from "effect"
import { SubjectToken } from "./subjects.ts"

/** A UUID (the mesh mints UUIDv7 so that ids sort by creation time). */
export const Uuid = Schema.String.check(Schema.isUUID())

/** An ISO-8601 UTC instant with milliseconds, as `Date.prototype.toISOString` writes it. */
export const Instant = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/, {
    message: "must be an ISO-8601 UTC timestamp such as 2026-11-25T10:00:00.000Z",
  }),
)

/** Who caused an event: an agent, a human (an approver, an operator) or the system itself. */
export const Actor = Schema.Struct({
  kind: Schema.Literals(["agent", "human", "system"]),
  id: Schema.String.check(Schema.isMinLength(1)),
})
/** Who caused an event. */
export type Actor = typeof Actor.Type

/** W3C trace context carried with every event so that a trace spans agents. */
export const TraceContext = Schema.Struct({
  traceparent: Schema.String.check(Schema.isPattern(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)),
  tracestate: Schema.optionalKey(Schema.String),
})
/** W3C trace context. */
export type TraceContext = typeof TraceContext.Type

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/**
 * The envelope of every event in the log, with its payload still undecoded. The event
 * catalogue turns it into a typed event after upcasting the payload to the current version.
 */
export const RawEnvelope = Schema.Struct({
  eventId: Uuid,
  type: Schema.String.check(Schema.isPattern(/^[A-Z][A-Za-z0-9]{1,127}$/)),
  schemaVersion: PositiveInt,
  aggregateType: SubjectToken,
  aggregateId: SubjectToken,
  aggregateVersion: PositiveInt,
  occurredAt: Instant,
  correlationId: Schema.String.check(Schema.isMinLength(1)),
  causationId: Schema.NullOr(Schema.String.check(Schema.isMinLength(1))),
  commandId: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  actor: Actor,
  trace: Schema.optionalKey(TraceContext),
  payload: Schema.Unknown,
})
/** An envelope whose payload has not been decoded yet. */
export type RawEnvelope = typeof RawEnvelope.Type

// The checks of RawEnvelope, written out. Each accepts no more than the schema's (the UUID check
// leaves the nil and max UUIDs to the schema); the unit spec holds them to that on generated input.
const plainUuid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/
const plainType = /^[A-Z][A-Za-z0-9]{1,127}$/
const plainToken = /^[A-Za-z0-9_-]{1,128}$/
const plainInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/
const plainTraceparent = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
const isText = (value: unknown): value is string => typeof value === "string" && value.length > 0
const isMatch = (value: unknown, pattern: RegExp): value is string =>
  typeof value === "string" && pattern.test(value)
const isPositiveInt = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1

/**
 * A raw envelope as decoding it with {@link RawEnvelope} gives it, when it plainly is one: every
 * field checked as the schema checks it, the result built with the schema's fields in its order
 * (unknown keys left out, as the schema leaves them). Undefined when anything is off, and then the
 * caller decodes with the schema, which names the fault. A replay decodes every envelope of a
 * stream: the schema's interpreter spends about a microsecond on one, these checks a tenth of it.
 */
export const plainEnvelope = (raw: unknown): RawEnvelope | undefined => {
  if (!isRecord(raw) || !("payload" in raw)) return undefined
  const { actor, trace, commandId, causationId } = raw
  if (
    !isMatch(raw.eventId, plainUuid) ||
    !isMatch(raw.type, plainType) ||
    !isPositiveInt(raw.schemaVersion) ||
    !isMatch(raw.aggregateType, plainToken) ||
    !isMatch(raw.aggregateId, plainToken) ||
    !isPositiveInt(raw.aggregateVersion) ||
    !isMatch(raw.occurredAt, plainInstant) ||
    !isText(raw.correlationId) ||
    !(causationId === null || isText(causationId)) ||
    ("commandId" in raw && !isText(commandId)) ||
    !isRecord(actor) ||
    !(actor.kind === "agent" || actor.kind === "human" || actor.kind === "system") ||
    !isText(actor.id)
  )
    return undefined
  let plainTrace: TraceContext | undefined
  if ("trace" in raw) {
    if (!isRecord(trace) || !isMatch(trace.traceparent, plainTraceparent)) return undefined
    if ("tracestate" in trace && typeof trace.tracestate !== "string") return undefined
    plainTrace =
      "tracestate" in trace
        ? { traceparent: trace.traceparent, tracestate: trace.tracestate as string }
        : { traceparent: trace.traceparent }
  }
  return {
    eventId: raw.eventId,
    type: raw.type,
    schemaVersion: raw.schemaVersion,
    aggregateType: raw.aggregateType,
    aggregateId: raw.aggregateId,
    aggregateVersion: raw.aggregateVersion,
    occurredAt: raw.occurredAt,
    correlationId: raw.correlationId,
    causationId: causationId as string | null,
    ...("commandId" in raw ? { commandId: commandId as string } : {}),
    actor: { kind: actor.kind, id: actor.id },
    ...(plainTrace === undefined ? {} : { trace: plainTrace }),
    payload: raw.payload,
  }
}

/** Metadata a caller supplies with a commit; the log adds ids, versions and timestamps. */
export interface CommitMetadata {
  readonly correlationId: string
  /** The event that caused this commit (through a reaction), or null for an outside request. */
  readonly causationId: string | null
  /** The command that produced the commit; a handler that sees it in history does not decide again. */
  readonly commandId?: string
  readonly actor: Actor
  /** The trace the commit joins; when absent the log writes the current span's, if there is one. */
  readonly trace?: TraceContext
}

/** A decoded event of a given type and payload, with its envelope. */
export interface EventEnvelope<Type extends string = string, Payload = unknown> {
  readonly eventId: string
  readonly type: Type
  readonly schemaVersion: number
  readonly aggregateType: string
  readonly aggregateId: string
  readonly aggregateVersion: number
  readonly occurredAt: string
  readonly correlationId: string
  readonly causationId: string | null
  readonly commandId?: string
  readonly actor: Actor
  readonly trace?: TraceContext
  readonly payload: Payload
}
