import { alwaysDataset, datasetSource, type EvaluatedSkill, evaluatedSkill } from "@mesh/models"
import { draftReply } from "../skills/draftReply.ts"
import { triageTicketVersions } from "../skills/triageTicket.ts"
import {
  loadRepliesDataset,
  loadTicketsDataset,
  loadTriageHoldoutDataset,
  ticketEvalsDirectory,
} from "./datasets.ts"
import { evaluateTriageFile, formatTriageFileResult, readLabelledFile } from "./triageFile.ts"

/** Where the accepted scores of the agent's skills live (services/customer-ops/evals/baselines.json). */
export const ticketBaselinesFile = `${ticketEvalsDirectory}baselines.json`

/**
 * The agent's skills as `mesh eval` scores them: triage on its tickets, the tickets it was never tuned on and the
 * frozen holdout (scored once corpus/triage/holdout/holdout.jsonl exists), and on a labelled file of the user's
 * own with the full triage report; replies on theirs.
 */
export const customerOpsSkillEvals: ReadonlyArray<EvaluatedSkill> = [
  evaluatedSkill({
    versions: triageTicketVersions,
    datasets: [
      alwaysDataset("tickets", loadTicketsDataset()),
      alwaysDataset("tickets-holdout", loadTicketsDataset("tickets-holdout.json")),
      datasetSource("holdout", loadTriageHoldoutDataset),
    ],
    baselines: ticketBaselinesFile,
    file: { read: readLabelledFile, evaluate: evaluateTriageFile, format: formatTriageFileResult },
  }),
  evaluatedSkill({
    versions: [draftReply],
    datasets: [alwaysDataset("replies", loadRepliesDataset())],
    baselines: ticketBaselinesFile,
  }),
]
