import { draftListingOffline } from "../offline/listing.ts"
import { chooseSupplierOffline, isEligible } from "../offline/supplier.ts"
import {
  ChooseSupplierInput,
  ChooseSupplierOutput,
  DraftListingInput,
  DraftListingOutput,
  MAX_LISTING_TITLE,
} from "../tasks.ts"
import { taskPrompt } from "./prompt.ts"
import { defineSkill } from "./skill.ts"

// The skills no agent owns yet: drafting a listing and choosing a supplier. They stay here, with their datasets
// (evals/listings.json, evals/suppliers.json), until the content-ops and procurement agents exist and take theirs
// into their own packages, as the customer-ops agent holds its triage and reply skills. An agent's skills are its
// own; this package keeps the machinery (defineSkill, runSkill, taskPrompt, the providers).

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

/** Chooses a supplier for a reorder under the buying policy; a human decides when no answer holds. */
export const chooseSupplier = defineSkill({
  name: "chooseSupplier",
  version: 1,
  promptVersion: "supplier-1",
  description: "Choose the supplier for a reorder under the buying policy, or nobody when none is eligible.",
  input: ChooseSupplierInput,
  template: (input) =>
    taskPrompt(
      "choose_supplier",
      1,
      [
        "You choose suppliers for reorders.",
        "Eligible: delivers within neededWithinDays and minOrderQuantity <= quantity. None eligible: supplierId null.",
        "Among eligible suppliers the cheapest unit cost wins, unless it is on time less than 90% of the time and a",
        "supplier on time at least 90% costs at most 10% more, which then wins. Rank every supplier with a score.",
      ],
      "Choose the supplier for this reorder.",
      input,
    ),
  output: ChooseSupplierOutput,
  preferredModel: "qwen2.5:7b",
  allowedActions: ["request-purchase-order"],
  latencyBudgetMs: 20_000,
  fallback: "human",
  actionsOf: (output) => (output.supplierId === null ? [] : ["request-purchase-order"]),
  offline: chooseSupplierOffline,
  check: (input, output) => {
    if (output.supplierId === null) return null
    const offer = input.suppliers.find((s) => s.id === output.supplierId)
    if (offer === undefined) return `chose an unknown supplier ${output.supplierId}`
    return isEligible(offer, input) ? null : `chose ${offer.id}, which cannot deliver this reorder`
  },
})

/** Every version of every skill kept here, by name, oldest first. */
export const skillVersions = {
  draftListing: [draftListing],
  chooseSupplier: [chooseSupplier],
} as const
