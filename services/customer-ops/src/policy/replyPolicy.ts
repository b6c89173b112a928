import { readFileSync } from "node:fs"
import {
  type DispositionReason,
  EscalationReason,
  formatMoney,
  Money,
  NonEmpty,
  ReplyDisposition,
  Score,
  Sentiment,
  TicketIntent,
} from "@mesh/contracts"
import { Result, Schema } from "effect"

/**
 * How this shop lets replies out: a disposition per intent, and the signals that hand a ticket to a
 * person whatever the intent. It is data (`policy/replies.json`), decoded once at start-up; every
 * routing records its name and version.
 */
export const ReplyPolicy = Schema.Struct({
  name: NonEmpty,
  version: NonEmpty,
  /** The disposition of a clean reply, by the ticket's intent. */
  intents: Schema.Struct({
    refund: ReplyDisposition,
    order_status: ReplyDisposition,
    product_question: ReplyDisposition,
    complaint: ReplyDisposition,
    other: ReplyDisposition,
  }),
  /** What hands a ticket to a person. */
  escalateWhen: Schema.Struct({
    confidenceBelow: Score,
    sentimentIn: Schema.Array(Sentiment),
    /** Contacts of the customer (this thread's messages and their earlier tickets) from which it is a repeat. */
    contactsAtLeast: Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)),
    orderValueAtLeast: Money,
    /** Triage's risk reasons that escalate. */
    triageReasons: Schema.Array(EscalationReason),
    /** Intents a reply cannot answer without a record or an approved article: with none, a person answers. */
    noFactsFor: Schema.Array(TicketIntent),
  }),
  /** Where escalations and approvals wait. */
  queues: Schema.Struct({ escalations: NonEmpty, approvals: NonEmpty }),
})
/** How this shop lets replies out. */
export type ReplyPolicy = typeof ReplyPolicy.Type

/** A reply policy document that does not decode, with the path and message of what is wrong. */
export class ReplyPolicyError extends Schema.TaggedError<ReplyPolicyError>()("ReplyPolicyError", {
  source: Schema.String,
  message: Schema.String,
}) {}

/** Decodes a reply policy from JSON text; `source` names the file in the error. */
export const decodeReplyPolicyJson = (
  text: string,
  source: string,
): Result.Result<ReplyPolicy, ReplyPolicyError> =>
  Result.mapError(
    Schema.decodeUnknownResult(Schema.fromJsonString(ReplyPolicy))(text),
    (issue) => new ReplyPolicyError({ source, message: `${source}: ${issue.message}` }),
  )

/** The policy files of this agent, beside its code. */
export const policyFiles = {
  replies: new URL("../../policy/replies.json", import.meta.url),
  actions: new URL("../../policy/actions.json", import.meta.url),
} as const

/** The shop's reply policy as shipped (`policy/replies.json`). */
export const shippedReplyPolicy = (): ReplyPolicy =>
  Result.getOrThrow(decodeReplyPolicyJson(readFileSync(policyFiles.replies, "utf8"), "policy/replies.json"))

/** Everything the reply policy weighs about one drafted reply. */
export interface RoutingInput {
  readonly intent: typeof TicketIntent.Type
  readonly sentiment: typeof Sentiment.Type
  readonly confidence: number
  /** Why triage declined to decide (an abstention or a failed model), or null. */
  readonly triageDeclined: string | null
  readonly triageReasons: ReadonlyArray<EscalationReason>
  /** This message's contact on its ticket (the opening message is 1). */
  readonly contact: number
  /** The customer's earlier tickets. */
  readonly earlierTickets: number
  /** The value of the order the ticket is about, when known. */
  readonly orderValue: Money | null
  /** What the untrusted-input guard found that steers the agent (instruction overrides, fake notices, …). */
  readonly manipulation: ReadonlyArray<string>
  /** Account, payment or delivery details the customer asks to change. */
  readonly detailChanges: ReadonlyArray<string>
  /** Promises of the draft that no record or approved knowledge supports, in words. */
  readonly ungroundedPromises: ReadonlyArray<string>
  /** The draft repeats the agent's instructions. */
  readonly leaksPrompt: boolean
  /** The drafting model itself proposed a person (or could not draft). */
  readonly drafterEscalated: string | null
  /** How many records or approved articles the draft cites. */
  readonly citedFacts: number
}

/** How a reply goes out, and why. */
export interface Routing {
  readonly disposition: ReplyDisposition
  readonly reasons: ReadonlyArray<DispositionReason>
}

const riskText: Readonly<Record<EscalationReason, string>> = {
  safety: "a risk to health or safety",
  legal: "a legal matter or personal data at stake",
  fraud: "fraud, a compromised account or a chargeback",
  account_change: "a change to account or payment details",
  vulnerable: "a customer who may be vulnerable",
  press_business: "the press or a business enquiry",
  repeat_contact: "an unhappy repeat contact",
  high_value: "a high-value order",
}

const rank: Readonly<Record<ReplyDisposition, number>> = {
  "auto-send": 0,
  "send-and-notify": 1,
  "await-approval": 2,
  escalate: 3,
}

const ordinal = (n: number): string => {
  if (n % 100 >= 11 && n % 100 <= 13) return `${n}th`
  const suffix = ["th", "st", "nd", "rd"][n % 10] ?? "th"
  return `${n}${suffix}`
}

/**
 * Routes a drafted reply: the intent's disposition, raised by every signal that applies, never
 * lowered. Each signal that raised it is a reason with its code and what was seen, so a person
 * reading the queue knows why the ticket is there. Pure: the same input gives the same routing.
 */
export const routeReply = (policy: ReplyPolicy, input: RoutingInput): Routing => {
  const raised: Array<{ readonly disposition: ReplyDisposition; readonly reason: DispositionReason }> = []
  const add = (disposition: ReplyDisposition, code: string, detail: string) =>
    raised.push({ disposition, reason: { code, detail } })
  const when = policy.escalateWhen

  add(
    policy.intents[input.intent],
    `intent:${input.intent}`,
    `${input.intent} replies are ${policy.intents[input.intent]} by policy ${policy.name} v${policy.version}`,
  )
  if (input.triageDeclined !== null) add("escalate", "triage-declined", input.triageDeclined)
  else if (input.confidence < when.confidenceBelow)
    add(
      "escalate",
      "low-confidence",
      `triage is ${input.confidence.toFixed(2)} sure, below ${when.confidenceBelow}`,
    )
  if (when.sentimentIn.includes(input.sentiment))
    add("escalate", "sentiment", `the customer's sentiment is ${input.sentiment}`)
  const contacts = input.contact + input.earlierTickets
  if (contacts >= when.contactsAtLeast)
    add(
      "escalate",
      "repeat-contact",
      `the customer's ${ordinal(contacts)} contact (${input.contact} on this ticket, ${input.earlierTickets} earlier tickets)`,
    )
  if (
    input.orderValue !== null &&
    input.orderValue.currency === when.orderValueAtLeast.currency &&
    input.orderValue.amountMinor >= when.orderValueAtLeast.amountMinor
  )
    add(
      "escalate",
      "high-value",
      `the order is worth ${formatMoney(input.orderValue)}, at least ${formatMoney(when.orderValueAtLeast)}`,
    )
  for (const reason of input.triageReasons)
    if (when.triageReasons.includes(reason))
      add("escalate", `risk:${reason}`, `triage reads ${riskText[reason]}`)
  if (input.manipulation.length > 0)
    add("escalate", "manipulation", `the message tries to steer the agent (${input.manipulation.join(", ")})`)
  for (const detail of input.detailChanges)
    add(
      "escalate",
      "detail-change",
      `the customer asks to change their ${detail}; a person checks and makes the change`,
    )
  if (input.leaksPrompt)
    add("escalate", "prompt-leak", "the draft repeats the agent's instructions; it is never sent")
  if (input.drafterEscalated !== null) add("escalate", "drafter-escalated", input.drafterEscalated)
  if (input.citedFacts === 0 && when.noFactsFor.includes(input.intent))
    add(
      "escalate",
      "no-facts",
      `no record or approved article answers this ${input.intent.replace("_", " ")}`,
    )
  for (const promise of input.ungroundedPromises) add("await-approval", "ungrounded-promise", promise)

  const disposition = raised.reduce<ReplyDisposition>(
    (strictest, r) => (rank[r.disposition] > rank[strictest] ? r.disposition : strictest),
    "auto-send",
  )
  // The intent's own reason leads; every signal that applies follows, even one that only matches the
  // intent's disposition (an ungrounded promise in a refund's reply), so a person sees all of them.
  const reasons = raised.map((r) => r.reason)
  return { disposition, reasons }
}

/** The action gate's mode for a disposition: the floor the agent asks the gate for. */
export const gateModeOf = (disposition: ReplyDisposition): "auto" | "notify" | "require-approval" => {
  switch (disposition) {
    case "auto-send":
      return "auto"
    case "send-and-notify":
      return "notify"
    case "await-approval":
    case "escalate":
      return "require-approval"
  }
}
