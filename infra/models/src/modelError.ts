import { Schema } from "effect"

/** Which provider served (or failed) a model call. */
export const ProviderName = Schema.Literals(["ollama", "offline"])
/** Which provider served (or failed) a model call. */
export type ProviderName = typeof ProviderName.Type

/** What went wrong with a model call, so callers can decide between retrying, falling back and giving up. */
export const ModelErrorReason = Schema.Literals([
  // The call took longer than its timeout.
  "Timeout",
  // The server could not be reached.
  "Unavailable",
  // The server is busy (429/503): worth trying again later.
  "Overloaded",
  // The server does not have the requested model.
  "ModelNotFound",
  // The server rejected the request as malformed (4xx).
  "InvalidRequest",
  // The server failed (5xx).
  "ServerError",
  // The server answered, but not with what its API promises.
  "BadResponse",
  // The provider cannot do this kind of task at all.
  "Unsupported",
])
/** What went wrong with a model call. */
export type ModelErrorReason = typeof ModelErrorReason.Type

/** A model call failed; `reason` names what went wrong. */
export class ModelError extends Schema.TaggedError<ModelError>()("ModelError", {
  reason: ModelErrorReason,
  provider: ProviderName,
  model: Schema.String,
  message: Schema.String,
  status: Schema.optionalKey(Schema.Int),
  /** What failed underneath, when something did (a file that cannot be read, a library's error). */
  cause: Schema.optionalKey(Schema.Defect()),
}) {}
