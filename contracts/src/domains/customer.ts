import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Instant } from "../envelope.ts"
import { personal } from "../personal.ts"
import { Money, NonEmpty, Quantity, Score, TenantId, TenantOwnId } from "./common.ts"

const domain = "customer" as const
const aggregateType = "ticket"
const orderType = "order"
const knowledgeType = "knowledge"
const producer = "customer-ops"

/** What a customer wrote, or who they are and where they are reached: redacted from exported history. */
const personalText = personal("text")

/** What a customer wants, as triage classifies it. */
export const TicketIntent = Schema.Literals([
  "refund",
  "order_status",
  "product_question",
  "complaint",
  "other",
])
/** Customer sentiment as triage reads it. */
export const Sentiment = Schema.Literals(["negative", "neutral", "positive"])
/** Where a ticket came in. */
export const Channel = Schema.Literals(["email", "chat", "web"])
/**
 * Why a ticket needs a human, by the written escalation policy (services/customer-ops/corpus/triage/POLICY.md):
 * risk to health or safety, legal matters and personal data, fraud and chargebacks, account or payment-detail
 * changes, vulnerable customers, press and business enquiries, unhappy repeat contacts, and high-value orders.
 */
export const EscalationReason = Schema.Literals([
  "safety",
  "legal",
  "fraud",
  "account_change",
  "vulnerable",
  "press_business",
  "repeat_contact",
  "high_value",
])
/** Why a ticket needs a human. */
export type EscalationReason = typeof EscalationReason.Type

/** A customer opened a support ticket. v2 added `channel` (v1 tickets all came by email). */
export const TicketOpened = defineEvent({
  type: "TicketOpened",
  domain,
  aggregateType,
  version: 2,
  payload: Schema.Struct({
    tenantId: TenantId,
    customerId: NonEmpty,
    channel: Channel,
    subject: personalText(Schema.String),
    body: personalText(Schema.String),
    orderId: Schema.NullOr(NonEmpty),
    /** The conversation the message belongs to (absent in tickets opened before threads). */
    threadId: Schema.optionalKey(NonEmpty),
    /** The channel's id of the opening message, which makes a redelivered message a duplicate. */
    messageId: Schema.optionalKey(NonEmpty),
    /** How the customer signs, for the reply's greeting. */
    customerName: Schema.optionalKey(personalText(Schema.String)),
    /** Where replies go (the sender's address); later messages never change it. */
    replyTo: Schema.optionalKey(personalText(NonEmpty)),
  }),
  upcasters: {
    1: (v1) => ({ ...(v1 as object), channel: "email" }),
  },
  summary: "A customer opened a support ticket.",
  producer,
  consumers: ["customer-ops"],
})

/** A later message of the same customer and thread joined an open (or reopened) ticket. */
export const TicketMessageReceived = defineEvent({
  type: "TicketMessageReceived",
  domain,
  aggregateType,
  payload: Schema.Struct({
    messageId: NonEmpty,
    channel: Channel,
    subject: personalText(Schema.String),
    body: personalText(Schema.String),
    orderId: Schema.NullOr(NonEmpty),
    /** The customer's contacts on this ticket so far, this one included (the opening message is 1). */
    contact: Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)),
    /** The ticket had been resolved; this message reopened it. */
    reopened: Schema.Boolean,
  }),
  summary: "A later message of the same customer and thread joined the ticket.",
  producer,
  consumers: ["customer-ops"],
})

/** Triage classified a ticket's intent, sentiment and priority. */
export const TicketTriaged = defineEvent({
  type: "TicketTriaged",
  domain,
  aggregateType,
  payload: Schema.Struct({
    intent: TicketIntent,
    sentiment: Sentiment,
    priority: Schema.Literals(["low", "normal", "high", "urgent"]),
    confidence: Score,
    decisionId: NonEmpty,
    /** The message triaged (absent before threads: the opening one). */
    messageId: Schema.optionalKey(NonEmpty),
    /** The escalation policy's reasons triage found. */
    escalationReasons: Schema.optionalKey(Schema.Array(EscalationReason)),
    /** Why triage declined to label the intent (null: it did not). */
    abstention: Schema.optionalKey(Schema.NullOr(NonEmpty)),
  }),
  summary: "Triage classified the ticket's intent, sentiment and priority.",
  producer,
  consumers: ["customer-ops"],
})

/** A ticket was handed to a human queue. */
export const TicketEscalated = defineEvent({
  type: "TicketEscalated",
  domain,
  aggregateType,
  payload: Schema.Struct({
    reason: NonEmpty,
    queue: NonEmpty,
    /** The reasons by code (absent in early records: see `reason`). */
    reasons: Schema.optionalKey(Schema.Array(NonEmpty)),
    /** The message that led to it. */
    messageId: Schema.optionalKey(NonEmpty),
  }),
  summary: "The ticket was handed to a human queue.",
  producer,
  consumers: ["customer-ops"],
})

/** A reply was drafted for a ticket. */
export const ReplyDrafted = defineEvent({
  type: "ReplyDrafted",
  domain,
  aggregateType,
  payload: Schema.Struct({
    draftId: NonEmpty,
    body: personalText(NonEmpty),
    decisionId: NonEmpty,
    /** The message it answers. */
    messageId: Schema.optionalKey(NonEmpty),
    /** The facts (records and approved knowledge) the reply cites. */
    citedFactIds: Schema.optionalKey(Schema.Array(NonEmpty)),
  }),
  summary: "A reply was drafted for the ticket.",
  producer,
  consumers: ["customer-ops"],
})

/** How the reply policy lets a drafted reply out, from least to most human involvement. */
export const ReplyDisposition = Schema.Literals([
  "auto-send",
  "send-and-notify",
  "await-approval",
  "escalate",
])
/** How the reply policy lets a drafted reply out. */
export type ReplyDisposition = typeof ReplyDisposition.Type

/** One reason behind a reply's disposition, by code, with what was seen. */
export const DispositionReason = Schema.Struct({ code: NonEmpty, detail: NonEmpty })
/** One reason behind a reply's disposition. */
export type DispositionReason = typeof DispositionReason.Type

/** The reply policy decided how a drafted reply goes out, with every reason it weighed. */
export const ReplyRouted = defineEvent({
  type: "ReplyRouted",
  domain,
  aggregateType,
  payload: Schema.Struct({
    draftId: NonEmpty,
    disposition: ReplyDisposition,
    reasons: Schema.Array(DispositionReason),
    /** The policy file and version that decided. */
    policy: NonEmpty,
    /** The send action asked of the gate (null: nothing is sent, a human takes the ticket). */
    actionId: Schema.NullOr(NonEmpty),
  }),
  summary: "The reply policy decided how a drafted reply goes out, with its reasons.",
  producer,
  consumers: ["customer-ops"],
})

/** What a guardrail guards. */
export const GuardrailName = Schema.Literals([
  "untrusted-input",
  "detail-change",
  "grounding",
  "prompt-leak",
  "policy-ceiling",
])
/** What a guardrail guards. */
export type GuardrailName = typeof GuardrailName.Type

/** A guardrail stopped or held something: a message steering the agent, an ungrounded promise, a detail change. */
export const GuardrailTripped = defineEvent({
  type: "GuardrailTripped",
  domain,
  aggregateType,
  payload: Schema.Struct({
    guardrail: GuardrailName,
    /** What it acted on: a message, a draft or a knowledge article, by id. */
    target: Schema.Struct({ kind: Schema.Literals(["message", "draft", "article"]), id: NonEmpty }),
    /** What it found, by code (e.g. instruction-override, ungrounded-refund). */
    findings: Schema.Array(NonEmpty).check(Schema.isMinLength(1)),
    /** Why, in words a support lead reads. */
    reason: NonEmpty,
    /** What it did: stripped hidden content, held for a human, or refused. */
    action: Schema.Literals(["cleaned", "held-for-human", "refused"]),
  }),
  summary: "A guardrail stopped or held something, with its reason.",
  producer,
  consumers: [],
})

/** A drafted reply was sent to the customer. */
export const ReplySent = defineEvent({
  type: "ReplySent",
  domain,
  aggregateType,
  payload: Schema.Struct({ draftId: NonEmpty, actionId: NonEmpty, externalRef: NonEmpty }),
  summary: "A drafted reply was sent to the customer.",
  producer,
  consumers: [],
})

/** A refund was requested for an order of the ticket. */
export const RefundRequested = defineEvent({
  type: "RefundRequested",
  domain,
  aggregateType,
  payload: Schema.Struct({ orderId: NonEmpty, amount: Money, reason: NonEmpty, actionId: NonEmpty }),
  summary: "A refund was requested for an order.",
  producer,
  consumers: ["customer-ops", "procurement"],
})

/** The payment provider confirmed a refund. */
export const RefundIssued = defineEvent({
  type: "RefundIssued",
  domain,
  aggregateType,
  payload: Schema.Struct({ orderId: NonEmpty, amount: Money, actionId: NonEmpty, externalRef: NonEmpty }),
  summary: "The payment provider confirmed the refund.",
  producer,
  consumers: ["procurement", "content-ops"],
})

/** A refund was refused by policy or by a human. */
export const RefundRejected = defineEvent({
  type: "RefundRejected",
  domain,
  aggregateType,
  payload: Schema.Struct({
    orderId: NonEmpty,
    reason: NonEmpty,
    /** The refund action refused; records written before it was named leave it out. */
    actionId: Schema.optionalKey(NonEmpty),
  }),
  summary: "The refund was refused by policy or by a human.",
  producer,
  consumers: [],
})

/** A ticket was resolved. */
export const TicketResolved = defineEvent({
  type: "TicketResolved",
  domain,
  aggregateType,
  payload: Schema.Struct({ resolution: NonEmpty }),
  summary: "The ticket was resolved.",
  producer,
  consumers: ["customer-ops"],
})

/** A reply a person wrote to a ticket (an escalated one, usually), which the agent sends for them. */
export const ReplyWrittenByPerson = defineEvent({
  type: "ReplyWrittenByPerson",
  domain,
  aggregateType,
  payload: Schema.Struct({
    draftId: NonEmpty,
    /** The customer's message it answers. */
    messageId: NonEmpty,
    body: personalText(NonEmpty),
    author: NonEmpty,
  }),
  summary: "A person wrote the reply to a ticket, and the agent sends it for them.",
  producer,
  consumers: ["customer-ops"],
})

/** Where a knowledge article came from: a ticket a person answered, or a person who wrote or imported it. */
export const KnowledgeSource = Schema.Union([
  Schema.TaggedStruct("Ticket", { ticketId: NonEmpty, author: NonEmpty }),
  Schema.TaggedStruct("Import", { author: NonEmpty }),
  /** Proposed by an agent (content ops) from a question resolved tickets asked again and again. */
  Schema.TaggedStruct("Proposal", {
    proposedBy: NonEmpty,
    proposalId: NonEmpty,
    ticketIds: Schema.Array(NonEmpty),
    decisionId: NonEmpty,
  }),
])

/** A draft of a knowledge-base article (a new article, or a new version of one); not used in replies sent without a person until approved. */
export const KnowledgeDrafted = defineEvent({
  type: "KnowledgeDrafted",
  domain,
  aggregateType: knowledgeType,
  payload: Schema.Struct({
    tenantId: TenantId,
    version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    title: NonEmpty,
    body: NonEmpty,
    /** What the article answers: the intent of the tickets it helps with. */
    intent: TicketIntent,
    source: KnowledgeSource,
    /** The publish action a person approves (the approvals API), by id. */
    actionId: NonEmpty,
  }),
  summary:
    "A knowledge-base article was drafted; a person approves it before replies sent on their own may use it.",
  producer,
  consumers: ["customer-ops", "content-ops"],
})

/** A person approved a version of a knowledge-base article: replies may now cite it. */
export const KnowledgeApproved = defineEvent({
  type: "KnowledgeApproved",
  domain,
  aggregateType: knowledgeType,
  payload: Schema.Struct({
    tenantId: TenantId,
    version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    title: NonEmpty,
    body: NonEmpty,
    intent: TicketIntent,
    /** The approved publish action; its approval names the person. */
    actionId: NonEmpty,
  }),
  summary: "A version of a knowledge-base article was approved; replies may cite it.",
  producer,
  consumers: ["customer-ops", "content-ops"],
})

/** A knowledge draft was refused: by a guardrail (it tries to steer the agent) or by a person. */
export const KnowledgeRefused = defineEvent({
  type: "KnowledgeRefused",
  domain,
  aggregateType: knowledgeType,
  payload: Schema.Struct({
    version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    reason: NonEmpty,
    findings: Schema.Array(NonEmpty),
  }),
  summary: "A knowledge draft was refused by a guardrail or a person, with the reason.",
  producer,
  consumers: ["customer-ops"],
})

/** A knowledge-base article was withdrawn: replies no longer cite it. */
export const KnowledgeRetired = defineEvent({
  type: "KnowledgeRetired",
  domain,
  aggregateType: knowledgeType,
  payload: Schema.Struct({ reason: NonEmpty }),
  summary: "A knowledge-base article was withdrawn; replies no longer cite it.",
  producer,
  consumers: ["customer-ops", "content-ops"],
})

/** A line of a customer order. */
export const OrderLine = Schema.Struct({
  /** The shop's own SKU: with the tenant it names the stock the line takes (`tenantScopedId`). */
  sku: TenantOwnId,
  name: NonEmpty,
  quantity: Quantity.check(Schema.isGreaterThanOrEqualTo(1)),
  unitPrice: Money,
})
/** A line of a customer order. */
export type OrderLine = typeof OrderLine.Type

/**
 * A customer placed an order in the storefront (ingested into the log). The aggregate id is the
 * order's in its tenant (`tenantScopedId(tenantId, orderId)`): two shops may both have order 1001.
 */
export const OrderPlaced = defineEvent({
  type: "OrderPlaced",
  domain,
  aggregateType: orderType,
  payload: Schema.Struct({
    tenantId: TenantId,
    /** The storefront's own id of the order, as the shop and its customer know it. */
    orderId: TenantOwnId,
    /**
     * Where the storefront reaches the customer about the order (null: it gave none), for the
     * messages the shop sends unasked, such as a delay. Absent in events recorded before it was kept.
     */
    email: Schema.optionalKey(Schema.NullOr(personalText(NonEmpty.check(Schema.isMaxLength(254))))),
    customerId: NonEmpty,
    lines: Schema.Array(OrderLine).check(Schema.isMinLength(1)),
    total: Money,
    placedAt: Instant,
  }),
  summary: "A customer placed an order in the storefront.",
  producer,
  consumers: ["customer-ops", "procurement"],
})

/** Where a customer order stands. */
export const OrderStatus = Schema.Literals([
  "placed",
  "paid",
  "shipped",
  "delivered",
  "cancelled",
  "returned",
])
/** Where a customer order stands. */
export type OrderStatus = typeof OrderStatus.Type

/** A customer order moved on: paid, shipped (with its carrier and tracking), delivered, cancelled or returned. */
export const OrderStatusChanged = defineEvent({
  type: "OrderStatusChanged",
  domain,
  aggregateType: orderType,
  payload: Schema.Struct({
    status: OrderStatus,
    carrier: Schema.NullOr(NonEmpty),
    trackingNumber: Schema.NullOr(NonEmpty),
    /** The delivery date the carrier gives (YYYY-MM-DD), when it gives one. */
    expectedDelivery: Schema.NullOr(Schema.String.check(Schema.isPattern(/^\d{4}-\d{2}-\d{2}$/))),
    changedAt: Instant,
    /** The units that came back, on a return (every line when the storefront names none). */
    returnedLines: Schema.optionalKey(
      Schema.Array(
        Schema.Struct({ sku: TenantOwnId, quantity: Quantity.check(Schema.isGreaterThanOrEqualTo(1)) }),
      ),
    ),
    /** Why, on a cancellation, when the storefront says. */
    reason: Schema.optionalKey(NonEmpty),
  }),
  summary: "A customer order was paid, shipped, delivered, cancelled or returned.",
  producer,
  consumers: ["customer-ops", "procurement"],
})

/** Every public event of the customer domain. */
export const customerEvents = [
  TicketOpened,
  TicketMessageReceived,
  TicketTriaged,
  TicketEscalated,
  ReplyDrafted,
  ReplyRouted,
  GuardrailTripped,
  ReplySent,
  RefundRequested,
  RefundIssued,
  RefundRejected,
  TicketResolved,
  OrderPlaced,
  OrderStatusChanged,
  ReplyWrittenByPerson,
  KnowledgeDrafted,
  KnowledgeApproved,
  KnowledgeRefused,
  KnowledgeRetired,
] as const

/** Commands the customer-ops agent accepts. */
export const CustomerCommand = Schema.Union([
  Schema.TaggedStruct("OpenTicket", {
    ticketId: NonEmpty,
    tenantId: TenantId,
    customerId: NonEmpty,
    channel: Channel,
    subject: Schema.String,
    body: Schema.String,
    orderId: Schema.NullOr(NonEmpty),
  }),
  Schema.TaggedStruct("TriageTicket", {
    ticketId: NonEmpty,
    intent: TicketIntent,
    sentiment: Sentiment,
    priority: Schema.Literals(["low", "normal", "high", "urgent"]),
    confidence: Score,
    decisionId: NonEmpty,
  }),
  Schema.TaggedStruct("EscalateTicket", { ticketId: NonEmpty, reason: NonEmpty, queue: NonEmpty }),
  Schema.TaggedStruct("RequestRefund", {
    ticketId: NonEmpty,
    orderId: NonEmpty,
    amount: Money,
    reason: NonEmpty,
  }),
  Schema.TaggedStruct("ResolveTicket", { ticketId: NonEmpty, resolution: NonEmpty }),
])
/** A command for the customer-ops agent. */
export type CustomerCommand = typeof CustomerCommand.Type
