import { Schema } from "effect"

/** Why a command could not be handled. Business rejections are events, so these are bad input or infrastructure. */
export const CommandErrorReason = Schema.Union([
  Schema.TaggedStruct("InvalidCommand", { message: Schema.String }),
  Schema.TaggedStruct("ConflictRetriesExhausted", { aggregate: Schema.String, attempts: Schema.Number }),
  Schema.TaggedStruct("NoHandler", { aggregateType: Schema.String }),
  // `cause` is the event log's error, so that a supervisor can tell an outage from bad input.
  Schema.TaggedStruct("EventLog", { message: Schema.String, cause: Schema.optional(Schema.Defect()) }),
])
/** Why a command could not be handled. */
export type CommandErrorReason = typeof CommandErrorReason.Type

/** The one error of command handling; `reason` says which failure it is. */
export class CommandError extends Schema.TaggedError<CommandError>()("CommandError", {
  commandId: Schema.String,
  reason: CommandErrorReason,
}) {
  override get message(): string {
    return describeCommandError(this.commandId, this.reason)
  }
}

const describeCommandError = (commandId: string, r: CommandErrorReason): string => {
  switch (r._tag) {
    case "InvalidCommand":
      return `command ${commandId} is invalid: ${r.message}`
    case "ConflictRetriesExhausted":
      return `command ${commandId} lost the race on ${r.aggregate} ${r.attempts} times; giving up`
    case "NoHandler":
      return `command ${commandId}: no aggregate of type ${r.aggregateType} in this agent`
    case "EventLog":
      return `command ${commandId}: ${r.message}`
  }
}
