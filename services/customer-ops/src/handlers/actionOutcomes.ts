import { ActionGate } from "@mesh/actions"
import type { ReactorDefinition } from "@mesh/kernel"
import { Effect } from "effect"
import { CustomerOpsSettings } from "../config.ts"
import { cleanUntrusted } from "../guardrails/index.ts"
import { type KnowledgeCommand, publishTarget } from "../knowledge/knowledge.ts"
import { refundFact } from "../memory/facts.ts"
import type { TicketCommand } from "../ticket/ticket.ts"
import { type TicketRecord, TicketThreads } from "../ticketThreads.ts"
import { actionTarget, stepIds } from "./answerMessage.ts"
import type { CustomerOpsDefs } from "./catalog.ts"

const toTicket = (ticketId: string, commands: ReadonlyArray<TicketCommand>) =>
  commands.map((command) => ({ aggregateType: "ticket", aggregateId: ticketId, command }))

const messageIdOf = (thread: ReadonlyArray<TicketRecord>, contact: number): string | undefined => {
  for (const e of thread) {
    if (e.type === "TicketOpened" && contact === 1) return e.payload.messageId ?? "first"
    if (e.type === "TicketMessageReceived" && e.payload.contact === contact) return e.payload.messageId
  }
  return undefined
}

/**
 * What happened to the agent's actions, back on their tickets: a reply sent, a refund paid, or a
 * refund a person refused (or let lapse), which hands the ticket to a person.
 */
export const recordActionOutcomes = (options: {
  readonly agent: string
}): ReactorDefinition<CustomerOpsDefs, unknown, TicketThreads | CustomerOpsSettings> => ({
  name: "customer-ops-outcomes",
  // Its own agent's actions only: the actions stream holds every agent's, and the others' were
  // delivered here only to be skipped.
  consumes: { domain: "actions", aggregateTypes: [options.agent] },
  eventTypes: ["ActionSucceeded", "ActionRejected", "ActionExpired", "ActionDenied"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.aggregateType !== options.agent) return []
      const reason =
        event.type === "ActionRejected"
          ? `refused by ${event.payload.rejectedBy}: ${event.payload.reason}`
          : event.type === "ActionExpired"
            ? "nobody decided on it before its approval lapsed"
            : event.type === "ActionDenied"
              ? `denied by policy: ${event.payload.reason}`
              : "refused"
      const published = publishTarget(event.aggregateId)
      if (published !== null) {
        const command: KnowledgeCommand =
          event.type === "ActionSucceeded"
            ? { _tag: "ApproveKnowledge", version: published.version }
            : { _tag: "RefuseKnowledge", version: published.version, reason, findings: ["not-approved"] }
        return [{ aggregateType: "knowledge", aggregateId: published.articleId, command }]
      }
      const target = actionTarget(event.aggregateId)
      if (target === null) return []
      const { ticketId, contact } = target
      if (event.type === "ActionSucceeded") {
        return toTicket(ticketId, [
          target.step === "refund"
            ? {
                _tag: "RecordRefundIssued",
                actionId: event.aggregateId,
                externalRef: event.payload.externalRef,
              }
            : {
                _tag: "RecordReplySent",
                // A person's reply is its own draft; the agent's is the message's draft.
                draftId: target.step === "answer" ? event.aggregateId : stepIds(ticketId, contact).draftId,
                actionId: event.aggregateId,
                externalRef: event.payload.externalRef,
              },
        ])
      }
      if (target.step !== "refund") {
        // A reply that will not go out (a person rejected it, its approval lapsed, the policy denied
        // it) leaves the customer unanswered: the ticket goes to a person with the reason.
        const thread = yield* (yield* TicketThreads).load(ticketId)
        return toTicket(ticketId, [
          {
            _tag: "EscalateTicket",
            messageId: messageIdOf(thread, contact) ?? `m${contact}`,
            reasons: [
              {
                code: "reply-not-sent",
                detail: `the reply was not sent (${reason}); a person answers the customer`,
              },
            ],
            queue: (yield* CustomerOpsSettings).replyPolicy.queues.escalations,
          },
        ])
      }
      const thread = yield* (yield* TicketThreads).load(ticketId)
      const messageId = messageIdOf(thread, contact) ?? `m${contact}`
      return toTicket(ticketId, [
        { _tag: "RecordRefundRefused", actionId: event.aggregateId, reason },
        {
          _tag: "EscalateTicket",
          messageId,
          reasons: [
            {
              code: "refund-refused",
              detail: `the refund was not paid (${reason}); a person answers the customer`,
            },
          ],
          queue: (yield* CustomerOpsSettings).replyPolicy.queues.escalations,
        },
      ])
    }),
})

/**
 * Once a refund is paid, the reply held for it goes out, with the refund's confirmation added from
 * the payment's record: the person who approved the refund approved what the reply now says.
 */
export const replyAfterRefund = (options: {
  readonly agent: string
}): ReactorDefinition<CustomerOpsDefs, unknown, TicketThreads | ActionGate> => ({
  name: "customer-ops-refund-replies",
  consumes: { domain: "customer" },
  eventTypes: ["RefundIssued"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "RefundIssued") return []
      const target = actionTarget(event.payload.actionId)
      if (target === null) return []
      const { draftId, replyActionId } = stepIds(target.ticketId, target.contact)
      const thread = yield* (yield* TicketThreads).load(target.ticketId)
      const opening = thread.find((e) => e.type === "TicketOpened")
      const drafted = thread.find((e) => e.type === "ReplyDrafted" && e.payload.draftId === draftId)
      const message = thread.find(
        (e) =>
          (e.type === "TicketOpened" && target.contact === 1) ||
          (e.type === "TicketMessageReceived" && e.payload.contact === target.contact),
      )
      if (opening?.type !== "TicketOpened" || drafted?.type !== "ReplyDrafted") return []
      const subject =
        message?.type === "TicketOpened" || message?.type === "TicketMessageReceived"
          ? message.payload.subject
          : ""
      const messageId = messageIdOf(thread, target.contact)
      const triaged = thread.find((e) => e.type === "TicketTriaged" && e.payload.messageId === messageId)
      const triage = triaged?.type === "TicketTriaged" ? triaged.payload : null
      // The reply goes out as its first routing allows: a draft that was held (a promise no record
      // holds, hidden content) or escalated still waits for a person; the refund's approval covered
      // the refund, not the reply's words.
      const routed = thread.find((e) => e.type === "ReplyRouted" && e.payload.draftId === draftId)
      const raising =
        routed?.type === "ReplyRouted"
          ? routed.payload.reasons.filter((r) => !r.code.startsWith("intent:") && r.code !== "refund-pending")
          : []
      const floor =
        raising.length === 0
          ? null
          : {
              mode: "require-approval" as const,
              rule: raising[0]?.code ?? "reply-policy",
              reason: raising.map((r) => r.detail).join("; "),
            }
      const confirmation = refundFact(event.payload.orderId, event.payload.amount, event.payload.externalRef)
      const gate = yield* ActionGate
      yield* gate.request({
        actionId: replyActionId,
        agent: options.agent,
        skill: "draftReply",
        kind: "mailbox.send-message",
        parameters: {
          to: opening.payload.replyTo ?? opening.payload.customerId,
          subject: subject.trim().length > 0 ? `Re: ${subject.trim()}` : "Re: your message",
          body: `${cleanUntrusted(drafted.payload.body).text}\n\n${confirmation.text}`,
          inReplyTo: messageId ?? draftId,
        },
        cause: { decisionId: drafted.payload.decisionId, eventId: event.eventId },
        confidence: triage?.confidence ?? null,
        sentiment: triage?.sentiment ?? null,
        firstTimeSupplier: null,
        floor,
        correlationId: event.correlationId,
        causationId: event.eventId,
      })
      return []
    }),
})
