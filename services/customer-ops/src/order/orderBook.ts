import { makeCatalog } from "@mesh/contracts"
import { type EventLogError, MeshNamespace, makeEventLog, NatsClient } from "@mesh/eventlog"
import { stateForReaction } from "@mesh/kernel"
import { Context, Effect, Layer } from "effect"
import { orderEvents } from "./catalog.ts"
import { type OrderState, orderDecider } from "./order.ts"

/** What OrderBook offers. */
export interface OrderBookShape {
  /**
   * An order (its tenant-scoped id, `orderIdOf`) as the log holds it: its lines, customer and
   * status (in a replayed reaction, as its cause found it: `historyForReaction`).
   */
  readonly order: (orderId: string) => Effect.Effect<OrderState, EventLogError>
}

/**
 * The storefront's orders read from the log itself, not the read model: a reaction about an order
 * sees where it stands now, however far the projections lag.
 */
export class OrderBook extends Context.Service<OrderBook, OrderBookShape>()("customer-ops/OrderBook") {
  /** On the process's NATS connection and namespace. */
  static readonly layer = Layer.effect(
    OrderBook,
    Effect.gen(function* () {
      const nats = yield* NatsClient
      const namespace = yield* MeshNamespace
      const log = makeEventLog({ nats, catalog: makeCatalog(orderEvents), namespace: namespace.name })
      return {
        order: (orderId: string) =>
          stateForReaction(log, { domain: "customer", type: "order", id: orderId }, orderDecider),
      }
    }),
  )
}
