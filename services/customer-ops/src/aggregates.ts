import type { AggregateDefinition, DecidedEvent, Decider } from "@mesh/kernel"
import type { CustomerOpsDefs } from "./handlers/catalog.ts"
import { type KnowledgeCommand, type KnowledgeState, knowledgeDecider } from "./knowledge/knowledge.ts"
import { type OrderCommand, type OrderState, orderDecider } from "./order/order.ts"
import { type TicketCommand, type TicketState, ticketDecider } from "./ticket/ticket.ts"

// The customer-ops agent's aggregates: pure deciders, light to load, for the agent and for tools
// that fold its history (`mesh replay`).

export const ticketAggregate: AggregateDefinition<CustomerOpsDefs, TicketCommand, TicketState> = {
  domain: "customer",
  type: "ticket",
  decider: ticketDecider as unknown as Decider<TicketCommand, DecidedEvent<CustomerOpsDefs>, TicketState>,
  // A ticket opens with its first message; a later one mostly finds the ticket kept.
  opensWith: (command) => command._tag === "ReceiveMessage",
}

export const knowledgeAggregate: AggregateDefinition<CustomerOpsDefs, KnowledgeCommand, KnowledgeState> = {
  domain: "customer",
  type: "knowledge",
  decider: knowledgeDecider as unknown as Decider<
    KnowledgeCommand,
    DecidedEvent<CustomerOpsDefs>,
    KnowledgeState
  >,
  opensWith: (command) => command._tag === "DraftKnowledge",
}

export const orderAggregate: AggregateDefinition<CustomerOpsDefs, OrderCommand, OrderState> = {
  domain: "customer",
  type: "order",
  decider: orderDecider as unknown as Decider<OrderCommand, DecidedEvent<CustomerOpsDefs>, OrderState>,
  // The storefront's first event of an order opens it; later ones mostly find the order kept.
  opensWith: (command) => command._tag === "SyncStorefrontOrder",
}

/** Every aggregate the customer-ops agent decides, as the kernel and replay take them. */
export const customerOpsAggregates = [ticketAggregate, knowledgeAggregate, orderAggregate] as const
