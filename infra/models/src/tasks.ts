import { Money, NonEmpty } from "@mesh/contracts"
import { Result, Schema } from "effect"

// The model-backed task of the skill catalogue that no agent owns yet (drafting a listing): what it takes and
// answers. Its skill wraps it with a prompt and declares its offline implementation, so either provider can serve
// it. An agent's own tasks live in its package (services/<agent>/src/skills); the prompt protocol below is every
// skill's.

/** A product's facts, from which a listing is drafted. */
export const DraftListingInput = Schema.Struct({
  sku: NonEmpty,
  productName: NonEmpty,
  brand: Schema.optionalKey(Schema.String),
  category: Schema.String,
  attributes: Schema.Array(Schema.Struct({ name: NonEmpty, value: NonEmpty })),
  highlights: Schema.Array(NonEmpty),
  price: Money,
})
/** A product's facts. */
export type DraftListingInput = typeof DraftListingInput.Type

/** The longest listing title the storefront shows in full. */
export const MAX_LISTING_TITLE = 80

/** A drafted listing. */
export const DraftListingOutput = Schema.Struct({
  title: NonEmpty.check(Schema.isMaxLength(MAX_LISTING_TITLE)),
  description: NonEmpty,
  bullets: Schema.Array(NonEmpty).check(Schema.isMinLength(1), Schema.isMaxLength(8)),
  tags: Schema.Array(NonEmpty),
})
/** A drafted listing. */
export type DraftListingOutput = typeof DraftListingOutput.Type

// The prompt protocol: the system prompt opens with a task marker, and the user message carries the task's input
// as JSON between <input> tags. A real model reads the instructions around them; nothing in production parses them
// back (the offline model runs a skill's declared implementation on the input itself).

/**
 * The line that opens a skill's system prompt and names its task (lowercase words joined by `_`, such as
 * `draft_listing`) and task variant.
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
