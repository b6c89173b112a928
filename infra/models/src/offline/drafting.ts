import type {
  DraftListingInput,
  DraftListingOutput,
  DraftReplyInput,
  DraftReplyOutput,
  ReplyAction,
  ReplyFact,
} from "../tasks.ts"
import { MAX_LISTING_TITLE } from "../tasks.ts"
import { cosineSimilarity, hashEmbed } from "./embedder.ts"
import type { Intent } from "./triage.ts"

// Which kinds of retrieved fact answer which intent. "strong" facts are always used; "weak" ones only when they
// are about what the customer wrote.
const factRelevance: Record<Intent, { strong: ReadonlyArray<string>; weak: ReadonlyArray<string> }> = {
  order_status: { strong: ["shipment", "order"], weak: [] },
  refund: { strong: ["refund", "policy"], weak: ["order"] },
  product_question: { strong: ["product"], weak: [] },
  complaint: { strong: ["policy"], weak: ["order", "shipment"] },
  other: { strong: ["account"], weak: ["policy"] },
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

const TITLE_ATTRIBUTES = ["colour", "color", "size", "capacity", "dimensions"]

const fitsTitle = (title: string): boolean => title.length <= MAX_LISTING_TITLE

/** Drafts a listing from a product's facts: brand and name (plus a key attribute if it fits) and nothing invented. */
export const draftListingOffline = (input: DraftListingInput): DraftListingOutput => {
  const brand = input.brand?.trim() ?? ""
  const base =
    brand.length > 0 && !input.productName.includes(brand)
      ? `${brand} ${input.productName}`
      : input.productName
  // Up to two key attributes (in TITLE_ATTRIBUTES' order of preference) join the title while it stays short enough.
  let title = fitsTitle(base) ? base : base.slice(0, MAX_LISTING_TITLE).trimEnd()
  const keys = TITLE_ATTRIBUTES.flatMap((name) =>
    input.attributes.filter((a) => a.name.toLowerCase() === name),
  )
  for (const key of keys.slice(0, 2)) {
    const longer = `${title}, ${key.value}`
    if (!title.toLowerCase().includes(key.value.toLowerCase()) && fitsTitle(longer)) title = longer
  }
  const sentence = (text: string): string => {
    const trimmed = text.trim()
    const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1)
    return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`
  }
  const intro = brand.length > 0 ? `The ${input.productName} by ${brand}.` : `The ${input.productName}.`
  const description = [
    intro,
    ...input.attributes.map((a) => sentence(`${a.name}: ${a.value}`)),
    ...input.highlights.map(sentence),
  ].join(" ")
  const bullets = [
    ...input.highlights,
    ...input.attributes.map((a) => `${sentence(a.name).slice(0, -1)}: ${a.value}`),
  ]
    .slice(0, 8)
    .map((b) => b.trim())
    .filter((b) => b.length > 0)
  const tags = [
    ...new Set(
      [input.category, brand, ...input.productName.split(/[\s,]+/)]
        .map((t) => t.trim().toLowerCase())
        .filter((t) => t.length > 2),
    ),
  ]
  return { title, description, bullets: bullets.length > 0 ? bullets : [sentence(input.productName)], tags }
}
