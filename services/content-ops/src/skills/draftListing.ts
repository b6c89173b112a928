import { batchTaskPrompt, defineBatchSkill, taskPrompt } from "@mesh/models"
import { defineContentOpsSkill } from "./actions.ts"
import { draftListingOffline } from "./offline/listing.ts"
import { DraftListingInput, DraftListingOutput, MAX_LISTING_TITLE } from "./tasks.ts"

const instructions = [
  "You write product listings for an online shop.",
  `The title names the brand and product and is at most ${MAX_LISTING_TITLE} characters.`,
  "Describe only what the facts say; no superlatives and no claims the facts do not support.",
]

/** Drafts a product listing from the product's facts. */
export const draftListing = defineContentOpsSkill({
  name: "draftListing",
  version: 1,
  promptVersion: "listing-1",
  description:
    "Draft a storefront listing (title, description, bullets, tags) from the product's facts only.",
  input: DraftListingInput,
  template: (input) =>
    taskPrompt("draft_listing", 1, instructions, "Draft a listing for this product.", input),
  output: DraftListingOutput,
  preferredModel: "llama3.2:3b",
  // Background work: nobody waits on it, so the operator may give it a cheaper, slower model.
  workload: "background",
  allowedActions: [],
  latencyBudgetMs: 30_000,
  fallback: "offline",
  offline: draftListingOffline,
})

/** The most listings one call drafts: a longer answer is slower and likelier to be cut short. */
export const MAX_LISTINGS_PER_CALL = 8

/**
 * Drafts several products' listings in one model call (a catalogue import, a backlog): the
 * instructions and the call are paid once. Each listing still gets its own `draftListing` decision.
 */
export const draftListingBatch = defineBatchSkill(draftListing, {
  promptVersion: "listing-batch-1",
  template: batchTaskPrompt("draft_listing", 1, instructions, "Draft a listing for each of these products."),
  maxItems: MAX_LISTINGS_PER_CALL,
})

/** Every version of draftListing, oldest first. */
export const draftListingVersions = [draftListing] as const
