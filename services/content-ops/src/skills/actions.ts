import { defineSkill, type Skill, type SkillDefinition } from "@mesh/models"

/**
 * The actions the agent's skills may propose, each mapped to the one gated action kind the agent asks the gate
 * for when an answer proposes it: the one place the two are tied. draftListing proposes none yet: it drafts.
 */
export const contentOpsSkillActions = {
  "publish-listing": "storefront.publish-listing",
} as const

/** An action a content-ops skill may propose. */
export type ContentOpsSkillAction = keyof typeof contentOpsSkillActions

/** defineSkill for the agent's skills: a skill may allow only the actions of {@link contentOpsSkillActions}. */
export const defineContentOpsSkill = <I, O>(
  definition: SkillDefinition<I, O, ContentOpsSkillAction>,
): Skill<I, O, ContentOpsSkillAction> => defineSkill(definition)
