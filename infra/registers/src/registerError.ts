import { RegisterRejection } from "@mesh/contracts"
import { messageOf } from "@mesh/eventlog"
import { Schema } from "effect"

/**
 * The register's kind refused the operation (a bound, a reservation settled or held elsewhere);
 * nothing was written. `rejection` says which rule, for a caller to branch on.
 */
export const Rejected = Schema.TaggedStruct("Rejected", {
  register: Schema.String,
  id: Schema.String,
  message: Schema.String,
  rejection: RegisterRejection,
})

/** The operation does not fit the register's operation schema; nothing was written. */
export const InvalidOperation = Schema.TaggedStruct("InvalidOperation", {
  register: Schema.String,
  id: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
})

/** A conflict's answer or record was refused (already resolved, values changed since, a bad event). */
export const Refused = Schema.TaggedStruct("Refused", {
  register: Schema.String,
  id: Schema.String,
  message: Schema.String,
})

/** The agent is not among the register's declared writers. */
export const NotAWriter = Schema.TaggedStruct("NotAWriter", {
  register: Schema.String,
  agent: Schema.String,
  writers: Schema.Array(Schema.String),
})

/** A stored value could not be decoded (a corrupt value, a kind that changed under it); it is left as it is. */
export const UndecodableValue = Schema.TaggedStruct("UndecodableValue", {
  key: Schema.String,
  revision: Schema.Number,
  message: Schema.String,
})

/** Compare-and-set kept losing: more concurrent writers than the retry budget covers. */
export const Contended = Schema.TaggedStruct("Contended", {
  key: Schema.String,
  attempts: Schema.Number,
})

/** NATS could not serve the request; `cause` is what was thrown. */
export const Unavailable = Schema.TaggedStruct("Unavailable", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
})

/** Why a register operation failed. */
export const RegisterErrorReason = Schema.Union([
  Rejected,
  InvalidOperation,
  Refused,
  NotAWriter,
  UndecodableValue,
  Contended,
  Unavailable,
])
/** Why a register operation failed. */
export type RegisterErrorReason = typeof RegisterErrorReason.Type

/** The one error of the registers service; `reason` says which failure it is. */
export class RegisterError extends Schema.TaggedError<RegisterError>()("RegisterError", {
  reason: RegisterErrorReason,
}) {
  override get message(): string {
    return describeRegisterError(this.reason)
  }
}

/** One sentence naming what went wrong. */
export const describeRegisterError = (r: RegisterErrorReason): string => {
  switch (r._tag) {
    case "Rejected":
    case "InvalidOperation":
    case "Refused":
      return `${r.register}/${r.id}: ${r.message}`
    case "NotAWriter":
      return `agent ${r.agent} may not write register ${r.register} (its writers: ${r.writers.join(", ")})`
    case "UndecodableValue":
      return `register value ${r.key} at revision ${r.revision} cannot be decoded: ${r.message}`
    case "Contended":
      return `register ${r.key} lost compare-and-set ${r.attempts} times in a row; gave up`
    case "Unavailable":
      return `${r.operation} failed: ${r.message}`
  }
}

/** Builds an `Unavailable` error from an infrastructure failure. */
export const registerUnavailable = (operation: string, cause: unknown): RegisterError =>
  new RegisterError({
    reason: {
      _tag: "Unavailable",
      operation,
      message: messageOf(cause),
      cause,
    },
  })
