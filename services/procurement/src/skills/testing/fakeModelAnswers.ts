import { offlineAnswer } from "@mesh/models"
import type { TaskAnswers } from "@mesh/models/testing"
import { chooseSupplier } from "../chooseSupplier.ts"

/**
 * What a fake Ollama (`startFakeOllama({ answers })`) answers to the agent's prompts, by the task their marker
 * names: the offline answer of the skill that wrote the prompt, as a well-behaved model would.
 */
export const procurementTaskAnswers: TaskAnswers = {
  choose_supplier: (input) => offlineAnswer(chooseSupplier, input),
}
