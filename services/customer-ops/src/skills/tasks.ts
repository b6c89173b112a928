import { Channel, EscalationReason, Money, NonEmpty, Sentiment, TicketIntent } from "@mesh/contracts"
import { Schema } from "effect"

// The agent's two model-backed tasks, triage and drafting a reply: what each takes and answers. Its skills wrap
// them with prompts, and each declares its offline implementation, so either provider can serve it.

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
