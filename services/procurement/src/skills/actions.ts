import { defineSkill, type Skill, type SkillDefinition } from "@mesh/models"

/**
 * The actions the agent's skills may propose, each mapped to the one gated action kind the agent asks the gate
 * for when an answer proposes it: the one place the two are tied.
 */
export const procurementSkillActions = {
  "request-purchase-order": "supplier.place-order",
} as const

/** An action a procurement skill may propose. */
export type ProcurementSkillAction = keyof typeof procurementSkillActions

/** defineSkill for the agent's skills: a skill may allow only the actions of {@link procurementSkillActions}. */
export const defineProcurementSkill = <I, O>(
  definition: SkillDefinition<I, O, ProcurementSkillAction>,
): Skill<I, O, ProcurementSkillAction> => defineSkill(definition)
