import { inventoryOnHand, stockReservations } from "@mesh/contracts"
import type { Reaction, ReactorDefinition } from "@mesh/kernel"
import { Registers } from "@mesh/registers"
import { Effect } from "effect"
import type { AllocationCommand, ReservationResult } from "../allocation/allocation.ts"
import type { ProcurementDefs } from "../catalog.ts"
import { ProcurementLedger } from "../procurementLedger.ts"
import type { StockItemCommand } from "../stockItem/stockItem.ts"

const toAllocation = (orderId: string, command: AllocationCommand): Reaction => ({
  aggregateType: "allocation",
  aggregateId: orderId,
  command,
})

/** The purchase order a reorder opened by this event would get: derived from the event, so a redelivery names the same one. */
export const purchaseOrderIdOf = (eventId: string): string => `po-${eventId}`

/**
 * The storefront's orders, as stock: an order's lines are noted when it is placed; once paid each
 * line is reserved in the stock-reservations register, or back-ordered when too few units are free
 * (the register's bound refuses the reservation, so no unit is promised twice, by any replica or
 * site); shipping confirms the reservation and takes the units off the shelf; a cancellation
 * releases it; a return puts the units back. Register writes come first and are idempotent (keyed by
 * the reservation or by the causing event), so a redelivery after a crash writes nothing twice; the
 * allocation then records what they came to, once.
 */
export const allocateOrders = (options: {
  readonly agent: string
}): ReactorDefinition<ProcurementDefs, unknown, ProcurementLedger | Registers> => ({
  name: "procurement-orders",
  consumes: { domain: "customer" },
  eventTypes: ["OrderPlaced", "OrderStatusChanged"],
  react: (event) =>
    Effect.gen(function* () {
      const orderId = event.aggregateId
      if (event.type === "OrderPlaced") {
        return [
          toAllocation(orderId, {
            _tag: "OpenAllocation",
            tenantId: event.payload.tenantId,
            orderId,
            lines: event.payload.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
          }),
        ]
      }
      if (event.type !== "OrderStatusChanged") return []
      const allocation = yield* (yield* ProcurementLedger).allocation(orderId)
      // The order's placement is noted by the reaction to it, which the same consumer ran first.
      if (allocation.status !== "open")
        return yield* Effect.fail(new Error(`order ${orderId} has no lines noted yet`))
      const registers = yield* Registers
      const write = {
        correlationId: event.correlationId,
        causationId: event.eventId,
        actor: { kind: "agent" as const, id: options.agent },
      }
      switch (event.payload.status) {
        case "paid": {
          const results: Array<ReservationResult> = []
          for (const line of allocation.lines) {
            if (line.status !== "waiting") continue
            const taken = yield* registers
              .write(
                stockReservations,
                line.sku,
                { _tag: "Take", reservation: line.reservation, quantity: line.quantity },
                write,
              )
              .pipe(
                Effect.map(
                  () => ({ sku: line.sku, outcome: "reserved", reservation: line.reservation }) as const,
                ),
                Effect.catchIf(
                  (e) => e.reason._tag === "Rejected" && e.reason.rejection._tag === "BoundExceeded",
                  (e) =>
                    Effect.succeed({
                      sku: line.sku,
                      outcome: "backordered",
                      available:
                        e.reason._tag === "Rejected" && e.reason.rejection._tag === "BoundExceeded"
                          ? Math.max(0, e.reason.rejection.available)
                          : 0,
                    } as const),
                ),
              )
            results.push(taken)
          }
          return results.length === 0 ? [] : [toAllocation(orderId, { _tag: "RecordReservations", results })]
        }
        case "shipped": {
          const reserved = allocation.lines.filter((l) => l.status === "reserved")
          for (const line of reserved) {
            yield* registers.write(
              stockReservations,
              line.sku,
              { _tag: "Confirm", reservation: line.reservation },
              write,
            )
            yield* registers.write(
              inventoryOnHand,
              line.sku,
              { _tag: "Add", amount: -line.quantity },
              {
                ...write,
                idempotencyKey: `ship-${line.reservation}`,
              },
            )
          }
          return reserved.length === 0 ? [] : [toAllocation(orderId, { _tag: "RecordShipment" })]
        }
        case "cancelled": {
          for (const line of allocation.lines) {
            if (line.status !== "reserved") continue
            yield* registers.write(
              stockReservations,
              line.sku,
              { _tag: "Release", reservation: line.reservation },
              write,
            )
          }
          return [toAllocation(orderId, { _tag: "RecordCancellation" })]
        }
        case "returned": {
          const returned =
            event.payload.returnedLines ??
            allocation.lines
              .filter((l) => l.status === "shipped")
              .map((l) => ({ sku: l.sku, quantity: l.quantity }))
          for (const [index, line] of returned.entries()) {
            const shipped = allocation.lines.some((l) => l.sku === line.sku && l.status === "shipped")
            if (!shipped) continue
            const key = `return-${orderId}-${index}-${line.sku}`.slice(0, 200)
            yield* registers.write(
              inventoryOnHand,
              line.sku,
              { _tag: "Add", amount: line.quantity },
              { ...write, idempotencyKey: key },
            )
            yield* registers.write(
              stockReservations,
              line.sku,
              { _tag: "Restock", quantity: line.quantity },
              {
                ...write,
                idempotencyKey: `${key}-free`,
              },
            )
          }
          return [toAllocation(orderId, { _tag: "RecordReturn", lines: returned })]
        }
        case "placed":
        case "delivered":
          return []
      }
    }),
})

/**
 * Keeps every SKU above its reorder point: after each reservation, back-order, set-up or closed
 * reorder, the units free to promise are read from the reservations register and the SKU's stock
 * item decides whether a reorder opens (it opens one at a time). A SKU's first set-up puts its
 * opening stock on the shelf, once.
 */
export const checkReorderPoints = (options: {
  readonly agent: string
}): ReactorDefinition<ProcurementDefs, unknown, Registers> => ({
  name: "procurement-reorder-points",
  consumes: { domain: "procurement" },
  eventTypes: [
    "OrderStockReserved",
    "OrderStockBackordered",
    "StockItemConfigured",
    "ReorderClosed",
    "OrderStockShipped",
  ],
  react: (event) =>
    Effect.gen(function* () {
      const registers = yield* Registers
      const write = {
        correlationId: event.correlationId,
        causationId: event.eventId,
        actor: { kind: "agent" as const, id: options.agent },
      }
      let sku: string
      switch (event.type) {
        case "StockItemConfigured": {
          sku = event.aggregateId
          if (event.aggregateVersion === 1 && event.payload.openingStock > 0) {
            const amount = event.payload.openingStock
            yield* registers.write(
              inventoryOnHand,
              sku,
              { _tag: "Add", amount },
              { ...write, idempotencyKey: `opening-${sku}` },
            )
            yield* registers.write(
              stockReservations,
              sku,
              { _tag: "Restock", quantity: amount },
              {
                ...write,
                idempotencyKey: `opening-${sku}-free`,
              },
            )
          }
          break
        }
        case "ReorderClosed":
          sku = event.aggregateId
          break
        case "OrderStockReserved":
        case "OrderStockBackordered":
        case "OrderStockShipped":
          sku = event.payload.sku
          break
        default:
          return []
      }
      const reading = yield* registers.read(stockReservations, sku)
      const command: StockItemCommand = {
        _tag: "CheckReorderPoint",
        available: Math.max(0, reading.value.available),
        purchaseOrderId: purchaseOrderIdOf(event.eventId),
      }
      return [{ aggregateType: "stockItem", aggregateId: sku, command }]
    }),
})
