import { ActionGate } from "@mesh/actions"
import { inventoryOnHand, openPurchaseOrders, stockReservations, supplierExpectedDate } from "@mesh/contracts"
import type { Reaction, ReactorDefinition } from "@mesh/kernel"
import { type DecisionRecorder, decideOnce, type ModelProvider } from "@mesh/models"
import { Registers } from "@mesh/registers"
import { Effect } from "effect"
import type { ProcurementDefs } from "../catalog.ts"
import { ProcurementSettings } from "../config.ts"
import { ProcurementLedger } from "../procurementLedger.ts"
import { ProcurementRecords } from "../procurementRecords.ts"
import type { PurchaseOrderCommand } from "../purchaseOrder/purchaseOrder.ts"
import { procurementSkillActions } from "../skills/actions.ts"
import { chooseSupplier } from "../skills/chooseSupplier.ts"
import { type StockItemCommand, stockIdOf } from "../stockItem/stockItem.ts"

const toPurchaseOrder = (purchaseOrderId: string, command: PurchaseOrderCommand): Reaction => ({
  aggregateType: "purchaseOrder",
  aggregateId: purchaseOrderId,
  command,
})

const toStockItem = (stockId: string, command: StockItemCommand): Reaction => ({
  aggregateType: "stockItem",
  aggregateId: stockId,
  command,
})

/** The action kind a purchase order is placed through. */
export const placeOrderKind = procurementSkillActions["request-purchase-order"]

/** What the policy's allow-list calls a buyer's own order (no model chose it). */
export const buyersOrderSkill = "buyersOrder"

/**
 * A reorder becomes a purchase order: the `chooseSupplier` skill weighs each supplier's price, lead
 * time and delivery record (on time out of delivered, from the read model as of the reorder, with a
 * prior so that a new supplier is neither favoured nor shut out), decided once per reorder and recorded. The draft
 * then asks the action gate to place it, as the first-time supplier and its amount require: the
 * policy (`policy/actions.json`) holds large orders and a new supplier's first for a buyer.
 */
export const purchaseOnReorder = (options: {
  readonly agent: string
}): ReactorDefinition<
  ProcurementDefs,
  unknown,
  ProcurementRecords | ProcurementSettings | ModelProvider | DecisionRecorder | ActionGate
> => ({
  name: "procurement-purchasing",
  consumes: { domain: "procurement" },
  eventTypes: ["ReorderOpened", "PurchaseOrderDrafted"],
  react: (event, cause) =>
    Effect.gen(function* () {
      if (event.type === "ReorderOpened") {
        const reorder = event.payload
        // As they stood when the reorder opened: a delivery recorded since (or a whole day, when
        // the day is replayed) would make a first-time supplier a known one and change the policy.
        const records = yield* (yield* ProcurementRecords).suppliers(reorder.tenantId, cause)
        const { reliabilityPrior: prior } = yield* ProcurementSettings
        const suppliers = reorder.suppliers.map((s) => {
          const record = records.get(s.supplierId) ?? { delivered: 0, onTime: 0 }
          const onTimeRate =
            (record.onTime + prior.onTimeRate * prior.weight) / (record.delivered + prior.weight)
          return {
            id: s.supplierId,
            name: s.name,
            unitCost: s.unitCost,
            leadTimeDays: s.leadTimeDays,
            onTimeRate: Math.round(onTimeRate * 1000) / 1000,
            minOrderQuantity: s.minOrderQuantity,
          }
        })
        const decided = yield* decideOnce(
          chooseSupplier,
          {
            sku: reorder.sku,
            quantity: reorder.quantity,
            neededWithinDays: reorder.neededWithinDays,
            suppliers,
          },
          { cause: event, agent: options.agent, step: "chooseSupplier" },
        )
        const chosen = decided.output?.supplierId ?? null
        const terms = reorder.suppliers.find((s) => s.supplierId === chosen)
        const reason =
          decided.output?.reason ??
          decided.invocation.fallbackReason ??
          "no supplier was chosen; a buyer decides"
        return [
          toPurchaseOrder(reorder.purchaseOrderId, {
            _tag: "DraftPurchaseOrder",
            tenantId: reorder.tenantId,
            sku: reorder.sku,
            supplierId: terms === undefined ? null : terms.supplierId,
            quantity: reorder.quantity,
            unitCost: terms?.unitCost ?? null,
            total:
              terms === undefined
                ? null
                : {
                    amountMinor: terms.unitCost.amountMinor * reorder.quantity,
                    currency: terms.unitCost.currency,
                  },
            leadTimeDays: terms?.leadTimeDays ?? null,
            decisionId: decided.decisionId,
            reason,
            firstTimeSupplier:
              terms === undefined ? false : (records.get(terms.supplierId)?.delivered ?? 0) === 0,
          }),
        ]
      }
      if (event.type !== "PurchaseOrderDrafted") return []
      const draft = event.payload
      if (draft.supplierId === null || draft.unitCost === null) return []
      const purchaseOrderId = event.aggregateId
      // The purchase order's id is its action's: the idempotency key the supplier sees.
      yield* (yield* ActionGate).request({
        actionId: purchaseOrderId,
        agent: options.agent,
        // A buyer's own order passes the same policy as the agent's, under its own allow-list entry.
        skill: draft.orderedBy === undefined ? chooseSupplier.name : buyersOrderSkill,
        kind: placeOrderKind,
        parameters: {
          supplierId: draft.supplierId,
          sku: draft.sku,
          quantity: draft.quantity,
          unitCostMinor: draft.unitCost.amountMinor,
          currency: draft.unitCost.currency,
        },
        cause: {
          decisionId: draft.orderedBy === undefined ? draft.decisionId : null,
          eventId: event.eventId,
        },
        confidence: null,
        sentiment: null,
        firstTimeSupplier: draft.firstTimeSupplier,
        correlationId: event.correlationId,
        causationId: event.eventId,
      })
      return [
        toPurchaseOrder(purchaseOrderId, { _tag: "RecordPurchaseOrderRequest", actionId: purchaseOrderId }),
      ]
    }),
})

/**
 * A purchase order's life in the shared registers and on its stock item: placed, it is an open
 * order of its SKU (which the resolver checks: one per supplier) with its promised date; goods
 * received go on the shelf and become free to promise; received in full or cancelled, it closes the
 * SKU's reorder so the next one can open.
 */
export const trackPurchaseOrders = (options: {
  readonly agent: string
}): ReactorDefinition<ProcurementDefs, unknown, Registers | ProcurementLedger> => ({
  name: "procurement-purchase-orders",
  consumes: { domain: "procurement" },
  eventTypes: ["PurchaseOrderPlaced", "PurchaseOrderReceived", "PurchaseOrderCancelled"],
  react: (event) =>
    Effect.gen(function* () {
      const registers = yield* Registers
      const purchaseOrderId = event.aggregateId
      const write = {
        correlationId: event.correlationId,
        causationId: event.eventId,
        actor: { kind: "agent" as const, id: options.agent },
      }
      const order = yield* (yield* ProcurementLedger).purchaseOrder(purchaseOrderId)
      if (order.status === "absent") return []
      const { supplierId } = order.draft
      // Its SKU's stock, in its tenant: the stock item's and the registers' id.
      const stockId = stockIdOf(order.draft.tenantId, order.draft.sku)
      const openEntry =
        supplierId === null || order.actionId === null
          ? null
          : { purchaseOrderId, supplierId, actionId: order.actionId }
      switch (event.type) {
        case "PurchaseOrderPlaced":
          if (openEntry !== null)
            yield* registers.write(openPurchaseOrders, stockId, { _tag: "Add", element: openEntry }, write)
          if (event.payload.expectedBy !== undefined)
            yield* registers.write(
              supplierExpectedDate,
              stockId,
              { _tag: "Offer", value: event.payload.expectedBy },
              write,
            )
          return []
        case "PurchaseOrderReceived": {
          const quantity = event.payload.quantity
          if (quantity > 0) {
            yield* registers.write(inventoryOnHand, stockId, { _tag: "Add", amount: quantity }, write)
            yield* registers.write(stockReservations, stockId, { _tag: "Restock", quantity }, write)
          }
          // Recorded once the units are in the registers, so those who read on it find them there.
          const restocked: ReadonlyArray<Reaction> =
            quantity > 0
              ? [
                  toStockItem(stockId, {
                    _tag: "RecordRestock",
                    quantity,
                    reason: "received",
                    purchaseOrderId,
                  }),
                ]
              : []
          if (event.payload.outstanding !== 0) return restocked
          if (openEntry !== null)
            yield* registers.write(openPurchaseOrders, stockId, { _tag: "Remove", element: openEntry }, write)
          return [
            ...restocked,
            toStockItem(stockId, { _tag: "CloseReorder", purchaseOrderId, outcome: "received" }),
          ]
        }
        case "PurchaseOrderCancelled":
          if (openEntry !== null)
            yield* registers.write(openPurchaseOrders, stockId, { _tag: "Remove", element: openEntry }, write)
          return [toStockItem(stockId, { _tag: "CloseReorder", purchaseOrderId, outcome: "cancelled" })]
        default:
          return []
      }
    }),
})

/**
 * What became of the agent's purchase-order actions: placed at the supplier, or refused by a buyer,
 * lapsed, denied by policy, or undone (the resolver compensates the later of two open orders).
 */
export const recordPurchaseOutcomes = (options: {
  readonly agent: string
}): ReactorDefinition<ProcurementDefs, unknown, never> => ({
  name: "procurement-action-outcomes",
  // Its own agent's actions only: the actions stream holds every agent's, and the others' were
  // delivered here only to be skipped.
  consumes: { domain: "actions", aggregateTypes: [options.agent] },
  eventTypes: ["ActionSucceeded", "ActionRejected", "ActionExpired", "ActionDenied", "ActionCompensated"],
  react: (event) =>
    Effect.sync(() => {
      if (event.aggregateType !== options.agent || !event.aggregateId.startsWith("po-")) return []
      const id = event.aggregateId
      switch (event.type) {
        case "ActionSucceeded":
          return [
            toPurchaseOrder(id, {
              _tag: "RecordPurchaseOrderPlaced",
              actionId: id,
              externalRef: event.payload.externalRef,
              placedAt: event.payload.completedAt,
            }),
          ]
        case "ActionRejected":
          return [
            toPurchaseOrder(id, {
              _tag: "CancelPurchaseOrder",
              reason: `refused by ${event.payload.rejectedBy}: ${event.payload.reason}`,
            }),
          ]
        case "ActionExpired":
          return [
            toPurchaseOrder(id, {
              _tag: "CancelPurchaseOrder",
              reason: "nobody approved it before its approval lapsed",
            }),
          ]
        case "ActionDenied":
          return [
            toPurchaseOrder(id, {
              _tag: "CancelPurchaseOrder",
              reason: `denied by policy: ${event.payload.reason}`,
            }),
          ]
        case "ActionCompensated":
          return [
            toPurchaseOrder(id, {
              _tag: "CancelPurchaseOrder",
              reason: `cancelled at the supplier (${event.payload.externalRef})`,
            }),
          ]
        default:
          return []
      }
    }),
})
