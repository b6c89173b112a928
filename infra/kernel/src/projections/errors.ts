import { Schema } from "effect"

/** The projection's handler failed on an event; its batch was rolled back to just before that commit. */
export const HandlerFailed = Schema.TaggedStruct("HandlerFailed", {
  stream: Schema.String,
  sequence: Schema.Number,
  eventType: Schema.String,
  eventId: Schema.String,
  message: Schema.String,
})

/** Reading the event log failed (unreachable server, or a stored commit that cannot be decoded); `cause` is the log's error. */
export const LogFailed = Schema.TaggedStruct("LogFailed", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
})

/** The read-model database failed outside the handler (checkpoints, DDL, connection); `cause` is what it threw. */
export const StoreFailed = Schema.TaggedStruct("StoreFailed", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
})

/** An event could not be parked in the dead-letter stream, so the projector stopped instead of skipping it; `cause` is why. */
export const DeadLetterFailed = Schema.TaggedStruct("DeadLetterFailed", {
  stream: Schema.String,
  sequence: Schema.Number,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
})

/** The projector was set up in a way it cannot run (e.g. dead-letter without a NATS connection). */
export const Misconfigured = Schema.TaggedStruct("Misconfigured", {
  message: Schema.String,
})

/**
 * Another replica is rebuilding the projection (it holds the rebuild lease, renewed at
 * `renewedAt`); one rebuild at a time, so this one did not start.
 */
export const RebuildRunning = Schema.TaggedStruct("RebuildRunning", {
  holder: Schema.String,
  version: Schema.Number,
  startedAt: Schema.String,
  renewedAt: Schema.String,
})

/**
 * This rebuild stopped renewing its lease long enough for another replica to take the rebuild
 * over; it stopped without writing into the successor's shadow tables, and the live tables are untouched.
 */
export const RebuildSuperseded = Schema.TaggedStruct("RebuildSuperseded", {
  holder: Schema.String,
})

/**
 * The live tables were swapped to another version (`liveVersion`) by another build's rebuild
 * while this projector of `version` followed the log: it stopped before writing into them.
 */
export const VersionSuperseded = Schema.TaggedStruct("VersionSuperseded", {
  version: Schema.Number,
  liveVersion: Schema.optional(Schema.Number),
})

/**
 * A rebuild was asked of an instance of `version` while `liveVersion`, a newer one, is live: it
 * would have rolled the projection back, which only a rebuild asked as a rollback does.
 */
export const NewerVersionLive = Schema.TaggedStruct("NewerVersionLive", {
  version: Schema.Number,
  liveVersion: Schema.Number,
  instance: Schema.String,
})

/** Why a projector stopped. */
export const ProjectionErrorReason = Schema.Union([
  HandlerFailed,
  LogFailed,
  StoreFailed,
  DeadLetterFailed,
  Misconfigured,
  RebuildRunning,
  RebuildSuperseded,
  VersionSuperseded,
  NewerVersionLive,
])
/** Why a projector stopped. */
export type ProjectionErrorReason = typeof ProjectionErrorReason.Type

/** The one error of a projector; the message names the projection and, for an event, its stream, sequence and type. */
export class ProjectionError extends Schema.TaggedError<ProjectionError>()("ProjectionError", {
  projection: Schema.String,
  reason: ProjectionErrorReason,
}) {
  override get message(): string {
    return describeProjectionError(this.projection, this.reason)
  }
}

/** One sentence naming the projection and what went wrong. */
export const describeProjectionError = (projection: string, r: ProjectionErrorReason): string => {
  switch (r._tag) {
    case "HandlerFailed":
      return `projection ${projection} failed on ${r.eventType} (event ${r.eventId}) at ${r.stream}#${r.sequence}: ${r.message}`
    case "LogFailed":
      return `projection ${projection} could not read the event log: ${r.message}`
    case "StoreFailed":
      return `projection ${projection} could not ${r.operation}: ${r.message}`
    case "DeadLetterFailed":
      return `projection ${projection} could not dead-letter ${r.stream}#${r.sequence}: ${r.message}`
    case "Misconfigured":
      return `projection ${projection} is misconfigured: ${r.message}`
    case "RebuildRunning":
      return `projection ${projection} is already being rebuilt to version ${r.version} by ${r.holder} (since ${r.startedAt}, last renewed ${r.renewedAt}); one rebuild runs at a time`
    case "RebuildSuperseded":
      return `projection ${projection}'s rebuild by ${r.holder} lost its lease to another replica and stopped; the live tables are untouched`
    case "NewerVersionLive":
      return `projection ${projection}: v${r.liveVersion} is live, newer than v${r.version} of the instance that was asked (${r.instance}); a rebuild there would roll it back, so it was not started (ask for a rollback to mean it: mesh projections rebuild ${projection} --rollback)`
    case "VersionSuperseded":
      return `projection ${projection} v${r.version} stopped following the log: its live tables are now v${r.liveVersion ?? "?"}, swapped in by another build, and it writes into no other version's tables`
  }
}

/** A failure's message as one line, whatever was thrown (the event log's one helper). */
export { messageOf } from "@mesh/eventlog"
