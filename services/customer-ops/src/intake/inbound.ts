import { createHash } from "node:crypto"
import { Channel, NonEmpty, TenantId } from "@mesh/contracts"
import { Schema } from "effect"
import type { IncomingMessage } from "../ticket/ticket.ts"

/** The largest request body intake reads; a larger one is refused with 413 before it is parsed. */
export const MAX_INBOUND_BYTES = 64 * 1024
/** The longest message body kept: a pasted email thread fits, a flood does not. */
export const MAX_MESSAGE_CHARS = 20_000

const Bounded = (max: number) => NonEmpty.check(Schema.isMaxLength(max))

/**
 * A customer's message as the email and chat webhooks deliver it, decoded at the edge. The message
 * id is the channel's (an email's Message-ID, a chat message's id): a redelivery carries the same one.
 * The thread is the channel's conversation id; without one, the subject stripped of "Re:" and
 * "Fwd:" stands for it, as mail clients thread.
 */
export const InboundMessage = Schema.Struct({
  messageId: Bounded(256),
  tenantId: Schema.optionalKey(TenantId),
  customerId: Bounded(128),
  customerName: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  /** Where replies go: the sender's email address (a chat gateway's address for chat). */
  replyTo: Schema.optionalKey(
    Bounded(254).check(Schema.isPattern(/^[^\s@<>]+@[^\s@<>]+$/, { message: "must be an email address" })),
  ),
  threadId: Schema.optionalKey(Bounded(256)),
  channel: Channel,
  subject: Schema.String.check(Schema.isMaxLength(500)),
  body: Bounded(MAX_MESSAGE_CHARS),
  orderId: Schema.optionalKey(Schema.NullOr(Bounded(64))),
})
/** A customer's message as a webhook delivers it. */
export type InboundMessage = typeof InboundMessage.Type

const digest = (...parts: ReadonlyArray<string>): string =>
  createHash("sha256").update(parts.join("\u0000"), "utf8").digest("hex")

/** The subject as mail clients thread it: without reply and forward prefixes, case and spacing. */
export const threadOfSubject = (subject: string): string =>
  subject
    .replace(/^(\s*(re|fwd?|aw|wg|tr|sv|rv|r)\s*(\[\d+\])?\s*:\s*)+/i, "")
    .trim()
    .replace(/\s+/g, " ")
    .toLowerCase()

/** The ticket of a customer's thread: the same tenant, customer and thread always make the same ticket. */
export const ticketIdOf = (tenantId: string, customerId: string, threadId: string): string =>
  `tk-${digest(tenantId, customerId, threadId).slice(0, 24)}`

/** The request id of a delivered message: a redelivery of the same message is the same request. */
export const requestIdOf = (tenantId: string, channel: string, messageId: string): string =>
  `msg-${digest(tenantId, channel, messageId).slice(0, 32)}`

/** A decoded webhook message as the ticket takes it. */
export const incomingOf = (inbound: InboundMessage, defaultTenant: string): IncomingMessage => {
  const tenantId = inbound.tenantId ?? defaultTenant
  return {
    tenantId,
    customerId: inbound.customerId,
    customerName: inbound.customerName ?? null,
    replyTo: inbound.replyTo ?? null,
    threadId: inbound.threadId ?? `subject:${threadOfSubject(inbound.subject)}`,
    messageId: inbound.messageId,
    channel: inbound.channel,
    subject: inbound.subject,
    body: inbound.body,
    orderId: inbound.orderId ?? null,
  }
}
