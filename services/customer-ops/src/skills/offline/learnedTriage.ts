import { messageOf } from "@mesh/eventlog"
import { ModelError, OFFLINE_CHAT_MODEL } from "@mesh/models"
import type { TriageInput, TriageOutput } from "../tasks.ts"
import { committedTriageModel } from "./learned/triageArtefact.ts"
import { type TriageModel, triageWithModel } from "./learned/triageModel.ts"

// The committed model is loaded on first use, not on import: a broken checkout fails the triage calls that need
// the model, as a ModelError the skill run records, and never the process.
const committedModelOrThrow = (): TriageModel => {
  try {
    return committedTriageModel()
  } catch (cause) {
    throw new ModelError({
      reason: "Unavailable",
      provider: "offline",
      model: OFFLINE_CHAT_MODEL,
      message: messageOf(cause),
      cause,
    })
  }
}

/** Triage by the committed learned model; throws a ModelError when the model cannot be loaded. */
export const triageWithCommittedModel = (input: TriageInput): TriageOutput =>
  triageWithModel(committedModelOrThrow(), input)
