import { ActionGate } from "@mesh/actions"
import type { ReactorDefinition } from "@mesh/kernel"
import { Effect } from "effect"
import { TicketThreads } from "../ticketThreads.ts"
import { actionTarget, stepIds } from "./answerMessage.ts"
import type { CustomerOpsDefs } from "./catalog.ts"

/**
 * A refund the ticket recorded is asked of the action gate, where the policy makes it wait for the
 * person it names. It is asked only after the ticket holds it, so whatever the gate or a person
 * decides always finds the refund on its ticket.
 */
export const requestRefunds = (options: {
  readonly agent: string
}): ReactorDefinition<CustomerOpsDefs, unknown, TicketThreads | ActionGate> => ({
  name: "customer-ops-refunds",
  consumes: { domain: "customer" },
  eventTypes: ["RefundRequested"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "RefundRequested") return []
      const target = actionTarget(event.payload.actionId)
      if (target === null) return []
      const thread = yield* (yield* TicketThreads).load(target.ticketId)
      const { draftId } = stepIds(target.ticketId, target.contact)
      const drafted = thread.find((e) => e.type === "ReplyDrafted" && e.payload.draftId === draftId)
      const messageId = drafted?.type === "ReplyDrafted" ? drafted.payload.messageId : undefined
      const triaged = thread.find((e) => e.type === "TicketTriaged" && e.payload.messageId === messageId)
      const triage = triaged?.type === "TicketTriaged" ? triaged.payload : null
      yield* (yield* ActionGate).request({
        actionId: event.payload.actionId,
        agent: options.agent,
        skill: "draftReply",
        kind: "payment.refund",
        parameters: {
          orderId: event.payload.orderId,
          amountMinor: event.payload.amount.amountMinor,
          currency: event.payload.amount.currency,
          reason: `${event.payload.reason} (ticket ${target.ticketId})`,
        },
        cause: {
          decisionId: drafted?.type === "ReplyDrafted" ? drafted.payload.decisionId : null,
          eventId: event.eventId,
        },
        confidence: triage?.confidence ?? null,
        sentiment: triage?.sentiment ?? null,
        firstTimeSupplier: null,
        correlationId: event.correlationId,
        causationId: event.eventId,
      })
      return []
    }),
})
