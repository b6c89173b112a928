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
