import { defineSkill, type Skill, type SkillDefinition } from "@mesh/models"

/**
 * The actions the agent's skills may propose, each mapped to the one gated action kind the agent asks the gate
 * for when an answer proposes it: the one place the two are tied. Triage proposes none: a ticket's priority and
 * its escalation are the ticket's own state, not actions on another system.
 */
export const customerOpsSkillActions = {
  "send-reply": "mailbox.send-message",
  "request-refund": "payment.refund",
} as const

/** An action a customer-ops skill may propose. */
export type CustomerOpsSkillAction = keyof typeof customerOpsSkillActions

/** defineSkill for the agent's skills: a skill may allow only the actions of {@link customerOpsSkillActions}. */
export const defineCustomerOpsSkill = <I, O>(
  definition: SkillDefinition<I, O, CustomerOpsSkillAction>,
): Skill<I, O, CustomerOpsSkillAction> => defineSkill(definition)
