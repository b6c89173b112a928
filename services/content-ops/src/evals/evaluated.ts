import { alwaysDataset, type EvaluatedSkill, evaluatedSkill } from "@mesh/models"
import { draftListingVersions } from "../skills/draftListing.ts"
import { contentOpsEvalsDirectory, loadListingsDataset } from "./datasets.ts"

/** Where the accepted scores of the agent's skills live (services/content-ops/evals/baselines.json). */
export const contentOpsBaselinesFile = `${contentOpsEvalsDirectory}baselines.json`

/** The agent's skills as `mesh eval` scores them: drafting listings for the products a merchandiser labelled. */
export const contentOpsSkillEvals: ReadonlyArray<EvaluatedSkill> = [
  evaluatedSkill({
    versions: draftListingVersions,
    datasets: [alwaysDataset("listings", loadListingsDataset())],
    baselines: contentOpsBaselinesFile,
  }),
]
