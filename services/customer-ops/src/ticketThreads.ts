import { type EventOf, makeCatalog } from "@mesh/contracts"
import {
  type EventLogError,
  historyForReaction,
  MeshNamespace,
  makeEventLog,
  NatsClient,
} from "@mesh/eventlog"
import { Context, Effect, Layer } from "effect"
import { ticketEvents } from "./ticket/catalog.ts"

/** A ticket's event, as the log holds it. */
export type TicketRecord = EventOf<(typeof ticketEvents)[number]>

/** What TicketThreads offers. */
export interface TicketThreadsShape {
  /**
   * A ticket's history, oldest first: its messages, decisions, replies and refunds (in a replayed
   * reaction, as its cause found it: `historyForReaction`).
   */
  readonly load: (ticketId: string) => Effect.Effect<ReadonlyArray<TicketRecord>, EventLogError>
}

/**
 * A ticket's history read from the log itself, not a read model: a reaction to a ticket's message
 * sees every message before it, however far the projections lag.
 */
export class TicketThreads extends Context.Service<TicketThreads, TicketThreadsShape>()(
  "customer-ops/TicketThreads",
) {
  /** On the process's NATS connection and namespace. */
  static readonly layer = Layer.effect(
    TicketThreads,
    Effect.gen(function* () {
      const nats = yield* NatsClient
      const namespace = yield* MeshNamespace
      const log = makeEventLog({ nats, catalog: makeCatalog(ticketEvents), namespace: namespace.name })
      return {
        load: (ticketId: string) =>
          Effect.flatMap(log.load({ domain: "customer", type: "ticket", id: ticketId }), (loaded) =>
            historyForReaction(loaded.events),
          ),
      }
    }),
  )
}
