import { offlineAnswer } from "@mesh/models"
import type { TaskAnswers } from "@mesh/models/testing"
import { draftArticle } from "../draftArticle.ts"
import { draftListing, draftListingBatch } from "../draftListing.ts"

/**
 * What a fake Ollama (`startFakeOllama({ answers })`) answers to the agent's prompts, by the task their marker
 * names: the offline answer of the skill that wrote the prompt, as a well-behaved model would.
 */
export const contentOpsTaskAnswers: TaskAnswers = {
  draft_listing: (input) => offlineAnswer(draftListing, input),
  draft_listing_batch: (input) => offlineAnswer(draftListingBatch, input),
  draft_article: (input) => offlineAnswer(draftArticle, input),
}
