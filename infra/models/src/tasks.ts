import { Channel, EscalationReason, Money, NonEmpty, Sentiment, TicketIntent } from "@mesh/contracts"
import { Result, Schema } from "effect"

// The four model-backed tasks of the demo: what each takes and answers. Skills wrap them with prompts, and each
// skill declares its offline implementation, so either provider can serve the same skill.

const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** A ticket as triage sees it; the optional fields feed the escalation rules. */
export const TriageInput = Schema.Struct({
  subject: Schema.String,
  body: Schema.String,
  channel: Schema.optionalKey(Channel),
  customerTier: Schema.optionalKey(Schema.Literals(["standard", "vip"])),
  previousContacts: Schema.optionalKey(Count),
  orderValue: Schema.optionalKey(Schema.NullOr(Money)),
})
/** A ticket as triage sees it. */
export type TriageInput = typeof TriageInput.Type

/** A ticket's priority. */
export const TicketPriority = Schema.Literals(["low", "normal", "high", "urgent"])
/** A ticket's priority. */
export type TicketPriority = typeof TicketPriority.Type

/** What triage decides about a ticket. */
export const TriageOutput = Schema.Struct({
  intent: TicketIntent,
  sentiment: Sentiment,
  priority: TicketPriority,
  escalate: Schema.Boolean,
  escalationReason: Schema.NullOr(NonEmpty),
  confidence: Probability,
  /** The policy's reasons, by code; models that only give the text above leave it out. */
  escalationReasons: Schema.optionalKey(Schema.Array(EscalationReason)),
  /**
   * Why the model declined to label the intent (null or absent: it did not). Nothing acts on an abstained
   * answer: the skill run goes to a human with this reason; its intent is only the model's best guess.
   */
  abstention: Schema.optionalKey(Schema.NullOr(NonEmpty)),
  /** What the caller should know about how the ticket was read, such as a long message cut short. */
  notes: Schema.optionalKey(Schema.Array(Schema.String)),
})
/** What triage decides about a ticket. */
export type TriageOutput = typeof TriageOutput.Type

/** A retrieved fact a reply may cite. */
export const ReplyFact = Schema.Struct({ id: NonEmpty, kind: Schema.String, text: NonEmpty })
/** A retrieved fact a reply may cite. */
export type ReplyFact = typeof ReplyFact.Type

/** The conversation before the message a reply answers: older turns summarised, the latest as written. */
export const ReplyThread = Schema.Struct({
  summary: Schema.String,
  recent: Schema.Array(Schema.Struct({ from: Schema.Literals(["customer", "shop"]), text: Schema.String })),
})
/** The conversation before the message a reply answers. */
export type ReplyThread = typeof ReplyThread.Type

/** A ticket with its intent and the facts retrieved for it. */
export const DraftReplyInput = Schema.Struct({
  customerName: Schema.optionalKey(Schema.String),
  subject: Schema.String,
  body: Schema.String,
  intent: TicketIntent,
  facts: Schema.Array(ReplyFact),
  /** The thread so far, within the prompt budget (absent: the message opens it). */
  thread: Schema.optionalKey(ReplyThread),
})
/** A ticket with its intent and the facts retrieved for it. */
export type DraftReplyInput = typeof DraftReplyInput.Type

/** An action a drafted reply may propose. */
export const ReplyAction = Schema.Literals(["send-reply", "request-refund", "escalate"])
/** An action a drafted reply may propose. */
export type ReplyAction = typeof ReplyAction.Type

/** A drafted reply, the facts it cites and the actions it proposes. */
export const DraftReplyOutput = Schema.Struct({
  body: NonEmpty,
  citedFactIds: Schema.Array(NonEmpty),
  proposedActions: Schema.Array(ReplyAction),
})
/** A drafted reply. */
export type DraftReplyOutput = typeof DraftReplyOutput.Type

/** A product's facts, from which a listing is drafted. */
export const DraftListingInput = Schema.Struct({
  sku: NonEmpty,
  productName: NonEmpty,
  brand: Schema.optionalKey(Schema.String),
  category: Schema.String,
  attributes: Schema.Array(Schema.Struct({ name: NonEmpty, value: NonEmpty })),
  highlights: Schema.Array(NonEmpty),
  price: Money,
})
/** A product's facts. */
export type DraftListingInput = typeof DraftListingInput.Type

/** The longest listing title the storefront shows in full. */
export const MAX_LISTING_TITLE = 80

/** A drafted listing. */
export const DraftListingOutput = Schema.Struct({
  title: NonEmpty.check(Schema.isMaxLength(MAX_LISTING_TITLE)),
  description: NonEmpty,
  bullets: Schema.Array(NonEmpty).check(Schema.isMinLength(1), Schema.isMaxLength(8)),
  tags: Schema.Array(NonEmpty),
})
/** A drafted listing. */
export type DraftListingOutput = typeof DraftListingOutput.Type

/** A supplier's offer for a SKU. */
export const SupplierOffer = Schema.Struct({
  id: NonEmpty,
  name: NonEmpty,
  unitCost: Money,
  leadTimeDays: Count,
  onTimeRate: Probability,
  minOrderQuantity: Count,
})
/** A supplier's offer for a SKU. */
export type SupplierOffer = typeof SupplierOffer.Type

/** A reorder and the offers to choose from. */
export const ChooseSupplierInput = Schema.Struct({
  sku: NonEmpty,
  quantity: Count.check(Schema.isGreaterThanOrEqualTo(1)),
  neededWithinDays: Count,
  suppliers: Schema.Array(SupplierOffer),
})
/** A reorder and the offers to choose from. */
export type ChooseSupplierInput = typeof ChooseSupplierInput.Type

/** The chosen supplier (null: none is eligible, a buyer decides) with the ranking behind it. */
export const ChooseSupplierOutput = Schema.Struct({
  supplierId: Schema.NullOr(NonEmpty),
  reason: NonEmpty,
  ranking: Schema.Array(
    Schema.Struct({ supplierId: NonEmpty, eligible: Schema.Boolean, score: Schema.Finite }),
  ),
})
/** The chosen supplier with the ranking behind it. */
export type ChooseSupplierOutput = typeof ChooseSupplierOutput.Type

/** The tasks a skill's prompt can name in its marker. */
export const OfflineTask = Schema.Literals([
  "triage_ticket",
  "draft_reply",
  "draft_listing",
  "choose_supplier",
])
/** The tasks a skill's prompt can name in its marker. */
export type OfflineTask = typeof OfflineTask.Type

// The prompt protocol: the system prompt opens with a task marker, and the user message carries the task's input
// as JSON between <input> tags. A real model reads the instructions around them; nothing in production parses them
// back (the offline model runs a skill's declared implementation on the input itself).

/** The line that opens a skill's system prompt and names its task (and task variant). */
export const taskMarker = (task: OfflineTask, variant: number): string => `mesh-task: ${task} v${variant}`

/**
 * Wraps a task's input for the user message. Angle brackets inside it are written as JSON escapes
 * (`\u003c`, `\u003e`): the same data to any JSON reader, but text a customer wrote can never close
 * the block (`</input>`) or open another one.
 */
export const inputBlock = (input: unknown): string =>
  `<input>\n${JSON.stringify(input, null, 2).replace(/</g, "\\u003c").replace(/>/g, "\\u003e")}\n</input>`

const JsonText = Schema.fromJsonString(Schema.Unknown)

/** Parses JSON text; undefined when it is not JSON. */
export const parseJson = (text: string): unknown => {
  const result = Schema.decodeUnknownResult(JsonText)(text)
  return Result.isSuccess(result) ? result.success : undefined
}
