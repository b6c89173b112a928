import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Money, NonEmpty, Score, TenantId } from "./common.ts"

const domain = "customer" as const
const aggregateType = "ticket"
const producer = "customer-ops"

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
 * Why a ticket needs a human, by the written escalation policy (infra/models/corpus/triage/POLICY.md):
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
    subject: Schema.String,
    body: Schema.String,
    orderId: Schema.NullOr(NonEmpty),
  }),
  upcasters: {
    1: (v1) => ({ ...(v1 as object), channel: "email" }),
  },
  summary: "A customer opened a support ticket.",
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
  payload: Schema.Struct({ reason: NonEmpty, queue: NonEmpty }),
  summary: "The ticket was handed to a human queue.",
  producer,
  consumers: ["customer-ops"],
})

/** A reply was drafted for a ticket. */
export const ReplyDrafted = defineEvent({
  type: "ReplyDrafted",
  domain,
  aggregateType,
  payload: Schema.Struct({ draftId: NonEmpty, body: NonEmpty, decisionId: NonEmpty }),
  summary: "A reply was drafted for the ticket.",
  producer,
  consumers: ["customer-ops"],
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
  payload: Schema.Struct({ orderId: NonEmpty, reason: NonEmpty }),
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

/** Every public event of the customer domain. */
export const customerEvents = [
  TicketOpened,
  TicketTriaged,
  TicketEscalated,
  ReplyDrafted,
  ReplySent,
  RefundRequested,
  RefundIssued,
  RefundRejected,
  TicketResolved,
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
