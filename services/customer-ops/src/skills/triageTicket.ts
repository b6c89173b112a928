import { taskPrompt } from "@mesh/models"
import { defineCustomerOpsSkill } from "./actions.ts"
import { MAX_CLASSIFIED_CHARS } from "./offline/learned/triageModel.ts"
import { triageWithCommittedModel } from "./offline/learnedTriage.ts"
import { triageTicketOffline } from "./offline/triage.ts"
import { TriageInput, TriageOutput } from "./tasks.ts"

// Triage, in three versions: the keyword scorers (v1, v2) are kept to compare, the learned model (v3) is the one
// the agent runs. Each declares its offline implementation; the prompts are what a real model reads.

const ESCALATION_POLICY = [
  "Escalate to a human (escalate: true, with the reason) when: legal action or a regulator is mentioned;",
  "a payment dispute or chargeback is threatened; a safety or health incident happened; fraud or an account",
  "compromise is reported; personal data is at stake; the press or a public campaign is involved; the customer is",
  "unhappy after 3 or more earlier contacts; a refund is asked for an order worth 500.00 or more; a VIP customer",
  "is unhappy. Otherwise escalate: false and escalationReason: null.",
].join(" ")

const triageInstructions = [
  "You triage customer support tickets for an online shop.",
  "intent: refund (wants money back), order_status (where or when is an order), product_question (asks about a",
  "product), complaint (unhappy, wants it put right but not money back), other (anything else).",
  "sentiment: how the customer feels (negative, neutral or positive); polite thanks alone is neutral.",
  "priority: urgent for safety, legal, fraud or privacy; high when escalated or negative; low for positive or other.",
  ESCALATION_POLICY,
  "confidence: your confidence in the intent, from 0 to 1.",
]

const triageRequest = "Triage this ticket."

const triageCheck = (_input: TriageInput, output: TriageOutput): string | null =>
  output.escalate && output.escalationReason === null ? "escalates without a reason" : null

/** Triage v1: intent and sentiment from keywords only (the offline model ignores negation). Kept to compare. */
export const triageTicketV1 = defineCustomerOpsSkill({
  name: "triageTicket",
  version: 1,
  promptVersion: "triage-1",
  description: "Classify a ticket's intent, sentiment and priority and decide whether a human must take it.",
  input: TriageInput,
  template: (input) => taskPrompt("triage_ticket", 1, triageInstructions, triageRequest, input),
  output: TriageOutput,
  preferredModel: "llama3.2:3b",
  // A ticket's priority and escalation are in the answer itself: triage proposes no action.
  allowedActions: [],
  latencyBudgetMs: 15_000,
  fallback: "offline",
  check: triageCheck,
  offline: (input) => triageTicketOffline(input, 1),
})

/** Triage v2: the keyword scorer with negation, clauses and question forms. Kept to compare. */
export const triageTicketV2 = defineCustomerOpsSkill({
  ...triageTicketV1,
  version: 2,
  promptVersion: "triage-2",
  template: (input) =>
    taskPrompt(
      "triage_ticket",
      2,
      [
        ...triageInstructions,
        "Mind negation: 'not damaged, just want the status' is order_status, not a complaint.",
      ],
      triageRequest,
      input,
    ),
  offline: (input) => triageTicketOffline(input, 2),
})

// The subject and body as far as a classifier reads them; the marker keeps a cut visible.
const capForPrompt = (input: TriageInput): TriageInput => {
  const cut = (text: string) =>
    text.length > MAX_CLASSIFIED_CHARS ? `${text.slice(0, MAX_CLASSIFIED_CHARS)} [cut]` : text
  return input.subject.length > MAX_CLASSIFIED_CHARS || input.body.length > MAX_CLASSIFIED_CHARS
    ? { ...input, subject: cut(input.subject), body: cut(input.body) }
    : input
}

/**
 * Triage v3: the learned offline model (trained from corpus/triage), recall-first escalation with reason codes,
 * and abstention: below its confidence floor the model says so instead of guessing, and the run goes to a human
 * with the reason (a configured real model has answered first, where there is one).
 */
export const triageTicket = defineCustomerOpsSkill({
  ...triageTicketV2,
  version: 3,
  promptVersion: "triage-3",
  // The prompt carries at most the part of the body a classifier reads, so a megabyte of pasted text costs no
  // more than the cap; the marker keeps the cut visible to the model, which notes it in its answer.
  template: (input) =>
    taskPrompt(
      "triage_ticket",
      3,
      [
        ...triageInstructions,
        "Mind negation: 'not damaged, just want the status' is order_status, not a complaint.",
        "escalationReasons: the policy's reason codes that apply (safety, legal, fraud, account_change, vulnerable,",
        "press_business, repeat_contact, high_value). Judge by meaning, in any language: a swollen face after a",
        "cream is a safety incident even if no listed word appears; 'a killer price' is not.",
        "abstention: null when you are confident of the intent; otherwise one sentence saying why you are not.",
      ],
      triageRequest,
      capForPrompt(input),
    ),
  abstention: (output) => output.abstention ?? null,
  // The learned model reads the same text the capped prompt carries: it cuts at MAX_CLASSIFIED_CHARS itself.
  offline: triageWithCommittedModel,
})

/** Every version of triage, oldest first. */
export const triageTicketVersions = [triageTicketV1, triageTicketV2, triageTicket] as const
