import { Schema } from "effect"

/** A writer's expected aggregate version was stale: another writer appended first. */
export const ConcurrencyConflict = Schema.TaggedStruct("ConcurrencyConflict", {
  aggregateType: Schema.String,
  aggregateId: Schema.String,
  expectedVersion: Schema.Number,
  actualVersion: Schema.Number,
  expectedSequence: Schema.Number,
  actualSequence: Schema.Number,
})

/** An event failed its schema (or its aggregate did not match) and was not published. */
export const InvalidEvent = Schema.TaggedStruct("InvalidEvent", {
  type: Schema.String,
  message: Schema.String,
})

/** A stored message could not be decoded into a known event. */
export const UndecodableMessage = Schema.TaggedStruct("UndecodableMessage", {
  stream: Schema.String,
  sequence: Schema.Number,
  message: Schema.String,
})

/** The declared topology differs from what the server holds and was left untouched. */
export const TopologyDrift = Schema.TaggedStruct("TopologyDrift", {
  stream: Schema.String,
  fields: Schema.Array(Schema.String),
})

/** NATS or JetStream could not serve the request (connection, timeout, server error); `cause` is what was thrown. */
export const Unavailable = Schema.TaggedStruct("Unavailable", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
})

/** The NATS server cannot keep what the topology needs (`message` says what, and what to run instead). */
export const UnsupportedServer = Schema.TaggedStruct("UnsupportedServer", {
  version: Schema.String,
  message: Schema.String,
})

/** Why an event-log operation failed. */
export const EventLogErrorReason = Schema.Union([
  ConcurrencyConflict,
  InvalidEvent,
  UndecodableMessage,
  TopologyDrift,
  Unavailable,
  UnsupportedServer,
])
/** Why an event-log operation failed. */
export type EventLogErrorReason = typeof EventLogErrorReason.Type

/** The one error type of the event log; `reason` says which failure it is. */
export class EventLogError extends Schema.TaggedError<EventLogError>()("EventLogError", {
  reason: EventLogErrorReason,
}) {
  override get message(): string {
    return describeReason(this.reason)
  }
}

/** One sentence naming what went wrong. */
export const describeReason = (r: EventLogErrorReason): string => {
  switch (r._tag) {
    case "ConcurrencyConflict":
      return `concurrency conflict on ${r.aggregateType}/${r.aggregateId}: expected version ${r.expectedVersion} (sequence ${r.expectedSequence}) but it is at version ${r.actualVersion} (sequence ${r.actualSequence})`
    case "InvalidEvent":
      return `invalid ${r.type} event, not published: ${r.message}`
    case "UndecodableMessage":
      return `message ${r.stream}#${r.sequence} cannot be decoded: ${r.message}`
    case "TopologyDrift":
      return `stream ${r.stream} differs from its declaration in ${r.fields.join(", ")}; left unchanged`
    case "Unavailable":
      return `${r.operation} failed: ${r.message}`
    case "UnsupportedServer":
      return `nats-server ${r.version} is not supported: ${r.message}`
  }
}

/** Builds an `Unavailable` error from any infrastructure failure. */
export const unavailable = (operation: string, cause: unknown): EventLogError =>
  new EventLogError({
    reason: {
      _tag: "Unavailable",
      operation,
      message: cause instanceof Error ? cause.message : String(cause),
      cause,
    },
  })

/** What any failure says, in one line: an error's message, else the thrown value as text. */
export const messageOf = (cause: unknown): string => {
  let text: string
  try {
    text = cause instanceof Error ? cause.message || cause.name : String(cause)
  } catch {
    text = "an unprintable value was thrown"
  }
  return text.replace(/\s*\n\s*/g, " ")
}
