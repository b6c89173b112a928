import { inventoryOnHand, parseTenantScopedId, stockReservations } from "@mesh/contracts"
import type { CausePosition, Reaction, ReactorDefinition } from "@mesh/kernel"
import { Registers, type WriteOptions } from "@mesh/registers"
import { Effect } from "effect"
import type { AllocationCommand, ReservationResult } from "../allocation/allocation.ts"
import type { ProcurementDefs } from "../catalog.ts"
import { ProcurementLedger } from "../procurementLedger.ts"
import { ProcurementRecords } from "../procurementRecords.ts"
import { type StockItemCommand, stockIdOf } from "../stockItem/stockItem.ts"

/**
 * The stock a line of an order's allocation draws on: its SKU in the order's tenant. Customer ops
 * names an order by its tenant (`tenantScopedId`), and the allocation takes the order's id, so the
 * id tells the tenant without a read; an id naming none (an order recorded before orders were named
 * so) is looked up in the allocation, whose tenant the order's placement gave.
 */
const stockOfOrderLine = (orderId: string, sku: string) =>
  Effect.gen(function* () {
    const named = parseTenantScopedId(orderId)
    if (named !== undefined) return stockIdOf(named.tenantId, sku)
    const allocation = yield* (yield* ProcurementLedger).allocation(orderId)
    if (allocation.status !== "open")
      return yield* Effect.fail(new Error(`order ${orderId} has no lines noted yet`))
    return stockIdOf(allocation.tenantId, sku)
  })

const toAllocation = (orderId: string, command: AllocationCommand): Reaction => ({
  aggregateType: "allocation",
  aggregateId: orderId,
  command,
})

/** Takes a reservation for a line: reserved, or back-ordered with the units that were free when the bound refused it. */
const takeReservation = (
  registers: Registers["Service"],
  tenantId: string,
  line: { readonly sku: string; readonly quantity: number; readonly reservation: string },
  write: WriteOptions,
) =>
  registers
    .write(
      stockReservations,
      stockIdOf(tenantId, line.sku),
      { _tag: "Take", reservation: line.reservation, quantity: line.quantity },
      write,
    )
    .pipe(
      Effect.map(
        (): ReservationResult => ({ sku: line.sku, outcome: "reserved", reservation: line.reservation }),
      ),
      Effect.catchIf(
        (e) => e.reason._tag === "Rejected" && e.reason.rejection._tag === "BoundExceeded",
        (e) =>
          Effect.succeed<ReservationResult>({
            sku: line.sku,
            outcome: "backordered",
            available:
              e.reason._tag === "Rejected" && e.reason.rejection._tag === "BoundExceeded"
                ? Math.max(0, e.reason.rejection.available)
                : 0,
          }),
      ),
    )

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
  // A reaction mostly waits on NATS (the allocation's load and append, a register write per line),
  // so one at a time queued a storefront's burst of payments: on the full day an order's change
  // reached procurement p50 35-130 ms, p99 about 0.9 s after customer ops recorded it, with
  // procurement's process half idle. Eight orders at once, each order's changes in order (its
  // subject); two orders taking one SKU's last unit meet in the register's bound, as replicas do.
  concurrency: 8,
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
      const { tenantId } = allocation
      const write = {
        correlationId: event.correlationId,
        causationId: event.eventId,
        actor: { kind: "agent" as const, id: options.agent },
      }
      switch (event.payload.status) {
        case "paid": {
          const results: Array<ReservationResult> = []
          for (const line of allocation.lines) {
            if (line.status === "waiting")
              results.push(yield* takeReservation(registers, tenantId, line, write))
          }
          return results.length === 0 ? [] : [toAllocation(orderId, { _tag: "RecordReservations", results })]
        }
        // A storefront without shipping (a pickup, a digital good) goes from paid to delivered.
        case "shipped":
        case "delivered": {
          // Handled out of order (its payment's reaction retried meanwhile): wait for the payment.
          if (allocation.lines.some((l) => l.status === "waiting"))
            return yield* Effect.fail(new Error(`order ${orderId} shipped before its payment was handled`))
          // A back-ordered line the storefront ships anyway takes a unit now if one is free; if none is,
          // the units left the shelf all the same and are counted as shipped without a reservation.
          const late: Array<ReservationResult> = []
          const unreserved: Array<(typeof allocation.lines)[number]> = []
          for (const line of allocation.lines.filter((l) => l.status === "backordered")) {
            const taken = yield* takeReservation(registers, tenantId, line, write)
            if (taken.outcome === "reserved") late.push(taken)
            else unreserved.push(line)
          }
          const lateSkus = new Set(late.map((r) => r.sku))
          const reserved = allocation.lines.filter(
            (l) => l.status === "reserved" || (l.status === "backordered" && lateSkus.has(l.sku)),
          )
          for (const line of reserved) {
            yield* registers.write(
              stockReservations,
              stockIdOf(tenantId, line.sku),
              { _tag: "Confirm", reservation: line.reservation },
              write,
            )
          }
          for (const line of [...reserved, ...unreserved]) {
            yield* registers.write(
              inventoryOnHand,
              stockIdOf(tenantId, line.sku),
              { _tag: "Add", amount: -line.quantity },
              { ...write, idempotencyKey: `ship-${line.reservation}` },
            )
          }
          if (reserved.length === 0 && unreserved.length === 0) return []
          return [
            ...(late.length === 0
              ? []
              : [toAllocation(orderId, { _tag: "RecordReservations", results: late })]),
            toAllocation(orderId, { _tag: "RecordShipment", unreserved: unreserved.map((l) => l.sku) }),
          ]
        }
        case "cancelled": {
          for (const line of allocation.lines) {
            if (line.status !== "reserved") continue
            yield* registers.write(
              stockReservations,
              stockIdOf(tenantId, line.sku),
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
            const key = `return-${orderId}-${index}-${line.sku}`
            yield* registers.write(
              inventoryOnHand,
              stockIdOf(tenantId, line.sku),
              { _tag: "Add", amount: line.quantity },
              { ...write, idempotencyKey: key },
            )
            yield* registers.write(
              stockReservations,
              stockIdOf(tenantId, line.sku),
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
          return []
      }
    }),
})

/**
 * Keeps every SKU above its reorder point: after each reservation, back-order, shipment, restock,
 * closed or resumed reorder, the units free to promise are read from the reservations register, the
 * units on order from the read model as they stood at the event, and the SKU's stock item decides whether a reorder opens (one
 * at a time). A SKU's first set-up puts its opening stock on the shelf, once, and records it.
 */
export const checkReorderPoints = (options: {
  readonly agent: string
}): ReactorDefinition<ProcurementDefs, unknown, Registers | ProcurementRecords | ProcurementLedger> => ({
  name: "procurement-reorder-points",
  consumes: { domain: "procurement" },
  eventTypes: [
    "OrderStockReserved",
    "OrderStockBackordered",
    "OrderStockShipped",
    "StockItemConfigured",
    "StockRestocked",
    "ReorderClosed",
    "ReordersResumed",
  ],
  react: (event, cause) =>
    Effect.gen(function* () {
      const registers = yield* Registers
      const write = {
        correlationId: event.correlationId,
        causationId: event.eventId,
        actor: { kind: "agent" as const, id: options.agent },
      }
      // The stock id (its tenant's SKU): the stock item's aggregate id and its registers' id.
      let stockId: string
      switch (event.type) {
        case "StockItemConfigured": {
          stockId = event.aggregateId
          const amount = event.payload.openingStock
          if (event.aggregateVersion === 1 && amount > 0) {
            yield* registers.write(
              inventoryOnHand,
              stockId,
              { _tag: "Add", amount },
              { ...write, idempotencyKey: `opening-${stockId}` },
            )
            yield* registers.write(
              stockReservations,
              stockId,
              { _tag: "Restock", quantity: amount },
              {
                ...write,
                idempotencyKey: `opening-${stockId}-free`,
              },
            )
            // Recorded once the units are there; the check follows the restock's event.
            return [
              {
                aggregateType: "stockItem",
                aggregateId: stockId,
                command: { _tag: "RecordRestock", quantity: amount, reason: "opening-stock" },
              },
            ]
          }
          break
        }
        // Recorded on the stock item, whose id is the stock's.
        case "ReorderClosed":
        case "ReordersResumed":
        case "StockRestocked":
          stockId = event.aggregateId
          break
        // Recorded on an order's allocation: the line's SKU in the order's tenant.
        case "OrderStockReserved":
        case "OrderStockBackordered":
        case "OrderStockShipped":
          stockId = yield* stockOfOrderLine(event.aggregateId, event.payload.sku)
          break
        default:
          return []
      }
      const reading = yield* registers.read(stockReservations, stockId)
      const onOrder = yield* (yield* ProcurementRecords).onOrder(stockId, cause)
      const command: StockItemCommand = {
        _tag: "CheckReorderPoint",
        available: Math.max(0, reading.value.available),
        onOrder,
        purchaseOrderId: purchaseOrderIdOf(event.eventId),
      }
      return [{ aggregateType: "stockItem", aggregateId: stockId, command }]
    }),
})

// The SKU's back-ordered lines, oldest first, each take a reservation until the bound refuses one.
// They are read once the read model holds the causing event, so a back-order recorded before the
// units came free is never missed for the read model's lag.
const fillBackordersOf = (stockId: string, write: WriteOptions, cause: CausePosition) =>
  Effect.gen(function* () {
    const registers = yield* Registers
    const ledger = yield* ProcurementLedger
    const waiting = yield* (yield* ProcurementRecords).backorders(stockId, cause)
    const reactions: Array<Reaction> = []
    for (const line of waiting) {
      const allocation = yield* ledger.allocation(line.orderId)
      if (allocation.status !== "open") continue
      const backordered = allocation.lines.find(
        (l) => stockIdOf(allocation.tenantId, l.sku) === stockId && l.status === "backordered",
      )
      if (backordered === undefined) continue
      const taken = yield* takeReservation(registers, allocation.tenantId, backordered, write)
      if (taken.outcome !== "reserved") break
      reactions.push(toAllocation(line.orderId, { _tag: "RecordReservations", results: [taken] }))
    }
    return reactions
  })

const writeOf = (
  event: { readonly correlationId: string; readonly eventId: string },
  agent: string,
): WriteOptions => ({
  correlationId: event.correlationId,
  causationId: event.eventId,
  actor: { kind: "agent", id: agent },
})

/**
 * Fills back-orders when units come free on the shelf (goods received, the opening stock, a return):
 * both events are recorded after their units are in the register. A back-order itself looks once
 * more: orders are reserved side by side, and units another order released between this one's
 * refusal and its back-order's record would otherwise wait for the next restock, since the release
 * found no back-order to give them to.
 */
export const fillBackorders = (options: {
  readonly agent: string
}): ReactorDefinition<ProcurementDefs, unknown, Registers | ProcurementRecords | ProcurementLedger> => ({
  name: "procurement-backorders",
  consumes: { domain: "procurement" },
  eventTypes: ["StockRestocked", "OrderStockReturned", "OrderStockBackordered"],
  react: (event, cause) =>
    event.type === "StockRestocked"
      ? fillBackordersOf(event.aggregateId, writeOf(event, options.agent), cause)
      : event.type === "OrderStockReturned" || event.type === "OrderStockBackordered"
        ? Effect.flatMap(stockOfOrderLine(event.aggregateId, event.payload.sku), (stockId) =>
            fillBackordersOf(stockId, writeOf(event, options.agent), cause),
          )
        : Effect.succeed([]),
})

/**
 * A released reservation is given back in the register (again, harmlessly, for a cancellation that
 * released it before its event; for the first time for a back-order filled while its order was being
 * cancelled), then the units go to the next back-orders.
 */
export const releaseReservations = (options: {
  readonly agent: string
}): ReactorDefinition<ProcurementDefs, unknown, Registers | ProcurementRecords | ProcurementLedger> => ({
  name: "procurement-releases",
  consumes: { domain: "procurement" },
  eventTypes: ["OrderStockReleased"],
  react: (event, cause) =>
    Effect.gen(function* () {
      if (event.type !== "OrderStockReleased" || event.payload.wasBackordered) return []
      const { reservation } = event.payload
      const stockId = yield* stockOfOrderLine(event.aggregateId, event.payload.sku)
      const write = writeOf(event, options.agent)
      if (reservation !== undefined) {
        yield* (yield* Registers)
          .write(stockReservations, stockId, { _tag: "Release", reservation }, write)
          .pipe(
            // Never taken here, or settled already: nothing to give back.
            Effect.catchIf(
              (e) =>
                e.reason._tag === "Rejected" &&
                (e.reason.rejection._tag === "UnknownReservation" ||
                  e.reason.rejection._tag === "ReservationSettled"),
              () => Effect.void,
            ),
          )
      }
      return yield* fillBackordersOf(stockId, write, cause)
    }),
})
