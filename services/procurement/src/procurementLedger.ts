import { makeCatalog } from "@mesh/contracts"
import { type EventLogError, MeshNamespace, makeEventLog, NatsClient } from "@mesh/eventlog"
import { stateForReaction } from "@mesh/kernel"
import { Context, Effect, Layer } from "effect"
import { type AllocationState, allocationDecider } from "./allocation/allocation.ts"
import { allocationEvents, purchaseOrderEvents } from "./catalog.ts"
import { type PurchaseOrderState, purchaseOrderDecider } from "./purchaseOrder/purchaseOrder.ts"

/** What ProcurementLedger offers. */
export interface ProcurementLedgerShape {
  /**
   * A customer order's stock, line by line, as the log holds it (in a replayed reaction, as its
   * cause found it: `historyForReaction`).
   */
  readonly allocation: (orderId: string) => Effect.Effect<AllocationState, EventLogError>
  /** A purchase order, as the log holds it (in a replayed reaction, as its cause found it). */
  readonly purchaseOrder: (purchaseOrderId: string) => Effect.Effect<PurchaseOrderState, EventLogError>
}

/**
 * The agent's own aggregates read from the log itself, not the read model: a reaction to an order's
 * payment must see the lines noted a moment before, however far the projection lags.
 */
export class ProcurementLedger extends Context.Service<ProcurementLedger, ProcurementLedgerShape>()(
  "procurement/ProcurementLedger",
) {
  /** On the process's NATS connection and namespace. */
  static readonly layer = Layer.effect(
    ProcurementLedger,
    Effect.gen(function* () {
      const nats = yield* NatsClient
      const namespace = (yield* MeshNamespace).name
      const allocations = makeEventLog({ nats, catalog: makeCatalog(allocationEvents), namespace })
      const orders = makeEventLog({ nats, catalog: makeCatalog(purchaseOrderEvents), namespace })
      return {
        allocation: (orderId: string) =>
          stateForReaction(
            allocations,
            { domain: "procurement", type: "allocation", id: orderId },
            allocationDecider,
          ),
        purchaseOrder: (purchaseOrderId: string) =>
          stateForReaction(
            orders,
            { domain: "procurement", type: "purchaseOrder", id: purchaseOrderId },
            purchaseOrderDecider,
          ),
      }
    }),
  )
}
