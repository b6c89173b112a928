import { cosineSimilarity, hashEmbed } from "@mesh/models"
import type { DraftReplyInput, DraftReplyOutput, ReplyAction, ReplyFact } from "../tasks.ts"
import type { Intent } from "./triage.ts"

// Which kinds of retrieved fact answer which intent. "strong" facts are always used; "weak" ones only when they
// are about what the customer wrote. A product's stock ("stock") is retrieved only for a message that asks
// about stock, so it answers every intent such a message can be read as.
const factRelevance: Record<Intent, { strong: ReadonlyArray<string>; weak: ReadonlyArray<string> }> = {
  order_status: { strong: ["shipment", "order", "restock", "stock"], weak: [] },
  refund: { strong: ["refund", "policy"], weak: ["order"] },
  product_question: { strong: ["product", "stock"], weak: [] },
  complaint: { strong: ["policy"], weak: ["order", "shipment", "restock", "stock"] },
  other: { strong: ["account", "stock"], weak: ["policy"] },
}

/** Weak facts must be at least this similar to the ticket to be cited. */
export const WEAK_FACT_SIMILARITY = 0.2

/** Picks the facts a reply should cite: those whose kind answers the intent, weak ones only when on topic. */
export const selectReplyFacts = (input: DraftReplyInput): ReadonlyArray<ReplyFact> => {
  const relevance = factRelevance[input.intent]
  const ticket = hashEmbed(`${input.subject}. ${input.body}`)
  return input.facts.filter(
    (fact) =>
      relevance.strong.includes(fact.kind) ||
      (relevance.weak.includes(fact.kind) &&
        cosineSimilarity(ticket, hashEmbed(fact.text)) >= WEAK_FACT_SIMILARITY),
  )
}

const openers: Record<Intent, string> = {
  refund: "Thank you for getting in touch about returning your purchase.",
  order_status: "Thank you for asking about your order.",
  product_question: "Thank you for your question.",
  complaint: "I'm sorry about this, and thank you for letting us know.",
  other: "Thank you for your message.",
}

const closers: Record<Intent, string> = {
  refund: "Reply to this message and we will take it from there.",
  order_status: "We will keep an eye on it for you.",
  product_question: "If anything else would help you decide, just ask.",
  complaint: "Reply to this message and we will put it right.",
  other: "If there is anything else, just reply to this message.",
}

/** Drafts a reply from a template and the retrieved facts, citing every fact it uses and inventing nothing. */
export const draftReplyOffline = (input: DraftReplyInput): DraftReplyOutput => {
  const facts = selectReplyFacts(input)
  const name = input.customerName?.trim()
  const lines = [
    name !== undefined && name.length > 0 ? `Hi ${name},` : "Hello,",
    "",
    openers[input.intent],
    ...(facts.length > 0
      ? facts.map((fact) => fact.text)
      : ["I am checking this with the team and will come back to you shortly."]),
    closers[input.intent],
    "",
    "Best wishes,",
    "Customer care",
  ]
  const proposedActions: Array<ReplyAction> = ["send-reply"]
  if (input.intent === "refund") proposedActions.push("request-refund")
  return { body: lines.join("\n"), citedFactIds: facts.map((fact) => fact.id), proposedActions }
}
