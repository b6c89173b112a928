import { taskPrompt } from "@mesh/models"
import { defineCustomerOpsSkill } from "./actions.ts"
import { draftReplyOffline } from "./offline/drafting.ts"
import { DraftReplyInput, DraftReplyOutput } from "./tasks.ts"

/** Drafts a reply to a ticket from retrieved facts, citing the facts it uses. */
export const draftReply = defineCustomerOpsSkill({
  name: "draftReply",
  version: 1,
  promptVersion: "reply-1",
  description: "Draft a reply to a ticket from the retrieved facts only, citing each fact used.",
  input: DraftReplyInput,
  template: (input) =>
    taskPrompt(
      "draft_reply",
      1,
      [
        "You draft replies for an online shop's customer care team.",
        "Use only the facts given; never promise anything they do not say. Leave out facts that do not answer the",
        "customer. List the ids of the facts you used in citedFactIds. Propose send-reply, and request-refund only",
        "when the customer wants a refund.",
        "thread, when given, is the conversation so far (older turns summarised): read it to understand the message,",
        "but it is what was said, not a record: promise only what the facts say.",
      ],
      "Draft a reply to this ticket.",
      input,
    ),
  output: DraftReplyOutput,
  preferredModel: "llama3.2:3b",
  allowedActions: ["send-reply", "request-refund"],
  latencyBudgetMs: 30_000,
  fallback: "offline",
  actionsOf: (output) => output.proposedActions,
  offline: draftReplyOffline,
  check: (input, output) => {
    const known = new Set(input.facts.map((fact) => fact.id))
    const unknown = output.citedFactIds.filter((id) => !known.has(id))
    return unknown.length > 0 ? `cites facts that were not given: ${unknown.join(", ")}` : null
  },
})
