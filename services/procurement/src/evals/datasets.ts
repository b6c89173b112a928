import { fileURLToPath } from "node:url"
import { type EvalRow, loadEvalDataset, ratio } from "@mesh/models"
import { Schema } from "effect"
import {
  type ChooseSupplierInput,
  ChooseSupplierInput as ChooseSupplierInputSchema,
  type ChooseSupplierOutput,
} from "../skills/tasks.ts"

// The labelled dataset of the agent's skill: reorders with the supplier a buyer chose. The machinery that runs and
// scores it (evaluateSkill, the baselines) is @mesh/models'.

/** The folder of the agent's labelled datasets and their baselines (services/procurement/evals). */
export const procurementEvalsDirectory = fileURLToPath(new URL("../../evals/", import.meta.url))

/** The supplier a buyer chose (null: nobody is eligible). */
export const SupplierExpectation = Schema.Struct({
  supplierId: Schema.NullOr(Schema.String),
  why: Schema.optionalKey(Schema.String),
})
/** The supplier a buyer chose. */
export type SupplierExpectation = typeof SupplierExpectation.Type

/** Scores supplier choices: exact agreement with the buyer, and handing over to a human exactly when nobody fits. */
export const scoreSupplierChoices = (
  rows: ReadonlyArray<EvalRow<SupplierExpectation, ChooseSupplierOutput>>,
) => {
  const chosen = (r: EvalRow<SupplierExpectation, ChooseSupplierOutput>) => r.output?.supplierId ?? null
  const handOvers = rows.filter((r) => r.expected.supplierId === null)
  return {
    accuracy: ratio(
      rows.filter((r) => r.output !== null && chosen(r) === r.expected.supplierId).length,
      rows.length,
    ),
    handOverRecall: ratio(handOvers.filter((r) => chosen(r) === null).length, handOvers.length),
  }
}

/** Loads the supplier choices dataset. */
export const loadSuppliersDataset = (file = "suppliers.json") =>
  loadEvalDataset<ChooseSupplierInput, ChooseSupplierOutput, SupplierExpectation>(
    `${procurementEvalsDirectory}${file}`,
    "chooseSupplier",
    ChooseSupplierInputSchema,
    SupplierExpectation,
    scoreSupplierChoices,
  )
