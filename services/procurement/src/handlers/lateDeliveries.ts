import { messageOf } from "@mesh/eventlog"
import type { AgentWorker } from "@mesh/kernel"
import { Clock, Duration, Effect } from "effect"
import type { ProcurementDefs } from "../catalog.ts"
import { ProcurementSettings } from "../config.ts"
import { ProcurementRecordsError } from "../procurementRecords.ts"
import { backorderedLines, procurementReadModel } from "../projections/procurementReadModel.ts"

/**
 * Watches placed purchase orders against the dates their suppliers promised: an order still short
 * of goods after its date is marked late, once (`PurchaseOrderLate`, with the customer orders
 * back-ordered on its SKU), for customer ops to tell those customers and to weigh the supplier's
 * record. Each check is a scheduled request in the log, so a
 * late mark traces to the check that found it.
 */
export const lateDeliveryWatch: AgentWorker<ProcurementDefs, ProcurementSettings> = {
  name: "late-delivery watch",
  run: (context, until) =>
    Effect.gen(function* () {
      const { lateDeliveryCheck } = yield* ProcurementSettings
      if (Duration.isZero(lateDeliveryCheck)) return yield* until
      const model = procurementReadModel(context.db, context.namespace, context.agent)
      const sweep = Effect.gen(function* () {
        const now = new Date(yield* Clock.currentTimeMillis).toISOString()
        const overdue = yield* Effect.tryPromise({
          try: () =>
            model
              .selectFrom("purchase_orders")
              .select(["purchase_order_id", "expected_by", "tenant_id", "sku"])
              .where("status", "=", "placed")
              .where("late", "=", false)
              .where("expected_by", "<", now)
              .limit(200)
              .execute(),
          catch: (cause) => new ProcurementRecordsError({ query: "overdue purchase orders", cause }),
        })
        for (const order of overdue) {
          // The customers waiting on its goods go with the late mark, for the agents that tell them.
          const waiting = yield* Effect.tryPromise({
            try: () => backorderedLines(model, order.tenant_id, order.sku, 500),
            catch: (cause) => new ProcurementRecordsError({ query: "back-ordered lines", cause }),
          })
          yield* context.receive(
            {
              requestId: `late-check-${order.purchase_order_id}`,
              name: "CheckDelivery",
              origin: "schedule",
              actor: { kind: "system", id: "late-delivery-watch" },
              body: { purchaseOrderId: order.purchase_order_id, expectedBy: order.expected_by, now, waiting },
            },
            [
              {
                aggregateType: "purchaseOrder",
                aggregateId: order.purchase_order_id,
                command: { _tag: "CheckDelivery", now, waiting },
              },
            ],
          )
        }
      })
      // A failed sweep (the read model not set up yet, the database away) is tried again at the next one.
      const sweepOrWarn = sweep.pipe(
        Effect.catch((error) =>
          Effect.logWarning(
            `late-delivery check failed; trying again: ${
              error instanceof ProcurementRecordsError
                ? `reading ${error.query}: ${messageOf(error.cause)}`
                : messageOf(error)
            }`,
          ),
        ),
      )
      yield* Effect.raceFirst(
        Effect.forever(Effect.andThen(sweepOrWarn, Effect.sleep(lateDeliveryCheck))),
        until,
      )
    }),
}
