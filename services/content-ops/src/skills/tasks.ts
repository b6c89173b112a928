import { Money, NonEmpty } from "@mesh/contracts"
import { Schema } from "effect"

// The agent's model-backed task, drafting a product listing: what it takes and answers. Its skill wraps it with a
// prompt and declares its offline implementation, so either provider can serve it.

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
