import { draftListingOffline } from "../offline/listing.ts"
import { DraftListingInput, DraftListingOutput, MAX_LISTING_TITLE } from "../tasks.ts"
import { taskPrompt } from "./prompt.ts"
import { defineSkill } from "./skill.ts"

// The skill no agent owns yet: drafting a listing. It stays here, with its dataset (evals/listings.json), until the
// content-ops agent takes it into its own package, as the customer-ops and procurement agents hold theirs. An
// agent's skills are its own; this package keeps the machinery (defineSkill, runSkill, taskPrompt, the providers).

/** Drafts a product listing from the product's facts. */
export const draftListing = defineSkill({
  name: "draftListing",
  version: 1,
  promptVersion: "listing-1",
  description:
    "Draft a storefront listing (title, description, bullets, tags) from the product's facts only.",
  input: DraftListingInput,
  template: (input) =>
    taskPrompt(
      "draft_listing",
      1,
      [
        "You write product listings for an online shop.",
        `The title names the brand and product and is at most ${MAX_LISTING_TITLE} characters.`,
        "Describe only what the facts say; no superlatives and no claims the facts do not support.",
      ],
      "Draft a listing for this product.",
      input,
    ),
  output: DraftListingOutput,
  preferredModel: "llama3.2:3b",
  allowedActions: [],
  latencyBudgetMs: 30_000,
  fallback: "offline",
  offline: draftListingOffline,
})

/** Every version of every skill kept here, by name, oldest first. */
export const skillVersions = {
  draftListing: [draftListing],
} as const
