import { offlineAnswer } from "@mesh/models"
import type { TaskAnswers } from "@mesh/models/testing"
import { draftListing } from "../draftListing.ts"

/**
 * What a fake Ollama (`startFakeOllama({ answers })`) answers to the agent's prompts, by the task their marker
 * names: the offline answer of the skill that wrote the prompt, as a well-behaved model would.
 */
export const contentOpsTaskAnswers: TaskAnswers = {
  draft_listing: (input) => offlineAnswer(draftListing, input),
}
