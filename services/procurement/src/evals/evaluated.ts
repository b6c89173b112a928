import { alwaysDataset, type EvaluatedSkill, evaluatedSkill } from "@mesh/models"
import { chooseSupplierVersions } from "../skills/chooseSupplier.ts"
import { loadSuppliersDataset, procurementEvalsDirectory } from "./datasets.ts"

/** Where the accepted scores of the agent's skills live (services/procurement/evals/baselines.json). */
export const procurementBaselinesFile = `${procurementEvalsDirectory}baselines.json`

/** The agent's skills as `mesh eval` scores them: choosing a supplier on the reorders a buyer labelled. */
export const procurementSkillEvals: ReadonlyArray<EvaluatedSkill> = [
  evaluatedSkill({
    versions: chooseSupplierVersions,
    datasets: [alwaysDataset("suppliers", loadSuppliersDataset())],
    baselines: procurementBaselinesFile,
  }),
]
