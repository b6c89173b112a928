/**
 * The agent's model-backed skills, their schemas, their offline implementations and their evals: what the
 * command line (`mesh eval`) and the benchmarks use, without loading the agent itself.
 */
export { procurementBaselinesFile, procurementSkillEvals } from "../evals/evaluated.ts"
export { type ProcurementSkillAction, procurementSkillActions } from "./actions.ts"
export { chooseSupplier, chooseSupplierVersions } from "./chooseSupplier.ts"
export { ChooseSupplierInput, ChooseSupplierOutput, SupplierOffer } from "./tasks.ts"
