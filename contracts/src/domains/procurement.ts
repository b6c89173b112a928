import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Instant } from "../envelope.ts"
import { Money, NonEmpty, Quantity, TenantId } from "./common.ts"

const domain = "procurement" as const
const producer = "procurement"

const PositiveQuantity = Quantity.check(Schema.isGreaterThanOrEqualTo(1))

/** A supplier's standing offer for a SKU, as the buyer set it up. */
export const SupplierTerms = Schema.Struct({
  supplierId: NonEmpty,
  name: NonEmpty,
  unitCost: Money,
  leadTimeDays: Quantity,
  minOrderQuantity: Quantity,
})
/** A supplier's standing offer for a SKU. */
export type SupplierTerms = typeof SupplierTerms.Type

/** A SKU's stock settings: its reorder point, how much to reorder, how soon, and from whom. */
export const StockItemConfigured = defineEvent({
  type: "StockItemConfigured",
  domain,
  aggregateType: "stockItem",
  payload: Schema.Struct({
    tenantId: TenantId,
    sku: NonEmpty,
    name: NonEmpty,
    reorderPoint: Quantity,
    reorderQuantity: PositiveQuantity,
    /** Goods must arrive within this many days of the reorder. */
    neededWithinDays: Quantity,
    suppliers: Schema.Array(SupplierTerms),
    /** Units already on the shelf when the SKU is first set up; counted once. */
    openingStock: Quantity,
  }),
  summary: "A SKU's reorder point, reorder quantity, lead time and suppliers were set.",
  producer,
  consumers: ["procurement"],
})

/** A reorder was opened for a SKU: the one purchase order it may have open at a time. */
export const ReorderOpened = defineEvent({
  type: "ReorderOpened",
  domain,
  aggregateType: "stockItem",
  payload: Schema.Struct({
    tenantId: TenantId,
    sku: NonEmpty,
    purchaseOrderId: NonEmpty,
    quantity: PositiveQuantity,
    neededWithinDays: Quantity,
    /** Units free to promise when the reorder was opened. */
    available: Quantity,
    suppliers: Schema.Array(SupplierTerms),
  }),
  summary: "A reorder was opened for a SKU below its reorder point.",
  producer,
  consumers: ["procurement"],
})

/**
 * Units came on the shelf and became free to promise: goods received, or a SKU's opening stock.
 * Recorded after the registers were written, so a reader of this event finds the units there.
 */
export const StockRestocked = defineEvent({
  type: "StockRestocked",
  domain,
  aggregateType: "stockItem",
  payload: Schema.Struct({
    sku: NonEmpty,
    quantity: PositiveQuantity,
    reason: Schema.Literals(["received", "opening-stock"]),
    /** The purchase order whose goods these are, for a receipt. */
    purchaseOrderId: Schema.optionalKey(NonEmpty),
  }),
  summary: "Units came on the shelf and are free to promise.",
  producer,
  consumers: ["procurement", "content-ops"],
})

/** A buyer let a SKU reorder on its own again after its last reorder was refused, denied or undone. */
export const ReordersResumed = defineEvent({
  type: "ReordersResumed",
  domain,
  aggregateType: "stockItem",
  payload: Schema.Struct({ by: NonEmpty }),
  summary: "A buyer resumed a SKU's automatic reorders.",
  producer,
  consumers: ["procurement"],
})

/** A SKU's reorder ended: its purchase order was received in full or cancelled. */
export const ReorderClosed = defineEvent({
  type: "ReorderClosed",
  domain,
  aggregateType: "stockItem",
  payload: Schema.Struct({
    purchaseOrderId: NonEmpty,
    outcome: Schema.Literals(["received", "cancelled"]),
  }),
  summary: "A SKU's reorder ended, received or cancelled.",
  producer,
  consumers: ["procurement"],
})

const OrderAllocationLine = Schema.Struct({ sku: NonEmpty, quantity: PositiveQuantity })

/** Procurement took note of a customer order's lines, to reserve their stock once it is paid. */
export const OrderAllocationOpened = defineEvent({
  type: "OrderAllocationOpened",
  domain,
  aggregateType: "allocation",
  payload: Schema.Struct({ tenantId: TenantId, orderId: NonEmpty, lines: Schema.Array(OrderAllocationLine) }),
  summary: "The stock a customer order will need was noted.",
  producer,
  consumers: ["procurement"],
})

/** Units of a paid order's line were reserved: they will not be promised to anyone else. */
export const OrderStockReserved = defineEvent({
  type: "OrderStockReserved",
  domain,
  aggregateType: "allocation",
  payload: Schema.Struct({ sku: NonEmpty, quantity: PositiveQuantity, reservation: NonEmpty }),
  summary: "Stock was reserved for a paid order's line.",
  producer,
  consumers: ["procurement", "customer-ops", "content-ops"],
})

/** A paid order's line found too few units free: it waits for stock (back-ordered), never oversold. */
export const OrderStockBackordered = defineEvent({
  type: "OrderStockBackordered",
  domain,
  aggregateType: "allocation",
  payload: Schema.Struct({ sku: NonEmpty, quantity: PositiveQuantity, available: Quantity }),
  summary: "A paid order's line could not be reserved and was back-ordered.",
  producer,
  consumers: ["procurement", "customer-ops"],
})

/** A line's reserved units left the warehouse with the shipment. */
export const OrderStockShipped = defineEvent({
  type: "OrderStockShipped",
  domain,
  aggregateType: "allocation",
  payload: Schema.Struct({
    sku: NonEmpty,
    quantity: PositiveQuantity,
    /** The storefront shipped a line nothing was reserved for (it was back-ordered): a count to check. */
    unreserved: Schema.optionalKey(Schema.Boolean),
  }),
  summary: "A line's reserved units were shipped and left the stock on hand.",
  producer,
  consumers: ["procurement", "customer-ops"],
})

/** A cancelled order's line gave its reservation (or its place in the back-order queue) back. */
export const OrderStockReleased = defineEvent({
  type: "OrderStockReleased",
  domain,
  aggregateType: "allocation",
  payload: Schema.Struct({
    sku: NonEmpty,
    quantity: PositiveQuantity,
    wasBackordered: Schema.Boolean,
    /** The reservation given back (none for a back-ordered line). */
    reservation: Schema.optionalKey(NonEmpty),
  }),
  summary: "A cancelled order's line released its stock.",
  producer,
  consumers: ["procurement", "customer-ops"],
})

/** Returned units came back on the shelf. */
export const OrderStockReturned = defineEvent({
  type: "OrderStockReturned",
  domain,
  aggregateType: "allocation",
  payload: Schema.Struct({ sku: NonEmpty, quantity: PositiveQuantity }),
  summary: "Returned units came back into stock.",
  producer,
  consumers: ["procurement", "customer-ops"],
})

/** A stock count was recorded for a SKU (superseded: on-hand units are the inventory register). */
export const StockLevelRecorded = defineEvent({
  type: "StockLevelRecorded",
  domain,
  aggregateType: "stockItem",
  payload: Schema.Struct({ tenantId: TenantId, sku: NonEmpty, onHand: Quantity, reorderPoint: Quantity }),
  summary: "A stock count was recorded for a SKU.",
  producer,
  consumers: ["procurement", "content-ops"],
})

/** A SKU fell to or below its reorder point. */
export const StockBelowReorderPoint = defineEvent({
  type: "StockBelowReorderPoint",
  domain,
  aggregateType: "stockItem",
  payload: Schema.Struct({ sku: NonEmpty, onHand: Quantity, reorderPoint: Quantity }),
  summary: "A SKU fell to or below its reorder point.",
  producer,
  consumers: ["procurement", "content-ops"],
})

/** A purchase order was drafted by the supplier choice (a recorded decision); no supplier means a buyer must choose. */
export const PurchaseOrderDrafted = defineEvent({
  type: "PurchaseOrderDrafted",
  domain,
  aggregateType: "purchaseOrder",
  payload: Schema.Struct({
    tenantId: TenantId,
    sku: NonEmpty,
    supplierId: Schema.NullOr(NonEmpty),
    quantity: PositiveQuantity,
    unitCost: Schema.NullOr(Money),
    total: Schema.NullOr(Money),
    leadTimeDays: Schema.NullOr(Quantity),
    /** The recorded decision that chose the supplier or, for a buyer's own order, the buyer's recorded request. */
    decisionId: NonEmpty,
    /** The buyer who placed the order by hand; absent when the agent's supplier choice drafted it. */
    orderedBy: Schema.optionalKey(NonEmpty),
    reason: NonEmpty,
    /** Whether the supplier had never delivered to the shop before (approval by policy). */
    firstTimeSupplier: Schema.Boolean,
  }),
  summary: "A purchase order was drafted, its supplier chosen by a recorded decision.",
  producer,
  consumers: ["procurement"],
})

/** A purchase order was requested from a supplier. */
export const PurchaseOrderRequested = defineEvent({
  type: "PurchaseOrderRequested",
  domain,
  aggregateType: "purchaseOrder",
  payload: Schema.Struct({
    tenantId: TenantId,
    sku: NonEmpty,
    supplierId: NonEmpty,
    quantity: Quantity.check(Schema.isGreaterThanOrEqualTo(1)),
    unitCost: Money,
    total: Money,
    actionId: NonEmpty,
  }),
  summary: "A purchase order was requested from a supplier.",
  producer,
  consumers: ["procurement"],
})

/** The supplier accepted a purchase order. */
export const PurchaseOrderPlaced = defineEvent({
  type: "PurchaseOrderPlaced",
  domain,
  aggregateType: "purchaseOrder",
  payload: Schema.Struct({
    supplierId: NonEmpty,
    actionId: NonEmpty,
    externalRef: NonEmpty,
    /** When the goods are due: the placement plus the supplier's lead time. */
    expectedBy: Schema.optionalKey(Instant),
  }),
  summary: "The supplier accepted the purchase order.",
  producer,
  consumers: ["content-ops"],
})

/** Goods of a purchase order arrived. */
export const PurchaseOrderReceived = defineEvent({
  type: "PurchaseOrderReceived",
  domain,
  aggregateType: "purchaseOrder",
  payload: Schema.Struct({
    sku: NonEmpty,
    quantity: Quantity,
    /** Units still to come after this delivery; 0 completes the order. */
    outstanding: Schema.optionalKey(Quantity),
    /** Whether this delivery came by the date the supplier promised. */
    onTime: Schema.optionalKey(Schema.Boolean),
    receivedAt: Schema.optionalKey(Instant),
  }),
  summary: "Goods of the purchase order arrived, in full or in part.",
  producer,
  consumers: ["procurement", "content-ops"],
})

/** A purchase order was cancelled. */
export const PurchaseOrderCancelled = defineEvent({
  type: "PurchaseOrderCancelled",
  domain,
  aggregateType: "purchaseOrder",
  payload: Schema.Struct({ reason: NonEmpty }),
  summary: "The purchase order was cancelled.",
  producer,
  consumers: [],
})

/** A purchase order's goods did not arrive by the date the supplier promised. */
export const PurchaseOrderLate = defineEvent({
  type: "PurchaseOrderLate",
  domain,
  aggregateType: "purchaseOrder",
  payload: Schema.Struct({
    tenantId: TenantId,
    sku: NonEmpty,
    supplierId: NonEmpty,
    expectedBy: Instant,
    outstanding: PositiveQuantity,
    /**
     * The customer orders back-ordered on the SKU when it was found late (their aggregate ids,
     * tenant-scoped), oldest first: the customers the other agents tell of the delay. Absent in
     * events recorded before it was carried.
     */
    waiting: Schema.optionalKey(
      Schema.Array(Schema.Struct({ orderId: NonEmpty, quantity: PositiveQuantity })).check(
        Schema.isMaxLength(500),
      ),
    ),
  }),
  summary: "A purchase order is overdue: its goods did not arrive by the promised date.",
  producer,
  consumers: ["procurement", "customer-ops", "content-ops"],
})

/** Every public event of the procurement domain. */
export const procurementEvents = [
  StockItemConfigured,
  ReorderOpened,
  ReorderClosed,
  StockRestocked,
  ReordersResumed,
  OrderAllocationOpened,
  OrderStockReserved,
  OrderStockBackordered,
  OrderStockShipped,
  OrderStockReleased,
  OrderStockReturned,
  StockLevelRecorded,
  StockBelowReorderPoint,
  PurchaseOrderDrafted,
  PurchaseOrderRequested,
  PurchaseOrderPlaced,
  PurchaseOrderReceived,
  PurchaseOrderCancelled,
  PurchaseOrderLate,
] as const

/** Commands the procurement agent accepts. */
export const ProcurementCommand = Schema.Union([
  Schema.TaggedStruct("RecordStockLevel", {
    tenantId: TenantId,
    sku: NonEmpty,
    onHand: Quantity,
    reorderPoint: Quantity,
  }),
  Schema.TaggedStruct("RequestPurchaseOrder", {
    purchaseOrderId: NonEmpty,
    tenantId: TenantId,
    sku: NonEmpty,
    supplierId: NonEmpty,
    quantity: Quantity,
    unitCost: Money,
  }),
  Schema.TaggedStruct("ReceivePurchaseOrder", { purchaseOrderId: NonEmpty, quantity: Quantity }),
  Schema.TaggedStruct("CancelPurchaseOrder", { purchaseOrderId: NonEmpty, reason: NonEmpty }),
])
/** A command for the procurement agent. */
export type ProcurementCommand = typeof ProcurementCommand.Type
