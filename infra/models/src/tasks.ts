import { Result, Schema } from "effect"

// The prompt protocol: the system prompt opens with a task marker, and the user message carries the task's input
// as JSON between <input> tags. A real model reads the instructions around them; nothing in production parses them
// back (the offline model runs a skill's declared implementation on the input itself).

/**
 * The line that opens a skill's system prompt and names its task (lowercase words joined by `_`, such as
 * `sort_message`) and task variant.
 */
export const taskMarker = (task: string, variant: number): string => `mesh-task: ${task} v${variant}`

/**
 * Wraps a task's input for the user message. Angle brackets inside it are written as JSON escapes
 * (`\u003c`, `\u003e`): the same data to any JSON reader, but text a customer wrote can never close
 * the block (`</input>`) or open another one.
 */
export const inputBlock = (input: unknown): string =>
  `<input>\n${JSON.stringify(input, null, 2).replace(/</g, "\\u003c").replace(/>/g, "\\u003e")}\n</input>`

const JsonText = Schema.fromJsonString(Schema.Unknown)

/** Parses JSON text; undefined when it is not JSON. */
export const parseJson = (text: string): unknown => {
  const result = Schema.decodeUnknownResult(JsonText)(text)
  return Result.isSuccess(result) ? result.success : undefined
}
