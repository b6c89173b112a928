import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Money, NonEmpty, Quantity, TenantId } from "./common.ts"

const domain = "procurement" as const
const producer = "procurement"

/** A stock count was recorded for a SKU. */
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
  payload: Schema.Struct({ supplierId: NonEmpty, actionId: NonEmpty, externalRef: NonEmpty }),
  summary: "The supplier accepted the purchase order.",
  producer,
  consumers: ["content-ops"],
})

/** Goods of a purchase order arrived. */
export const PurchaseOrderReceived = defineEvent({
  type: "PurchaseOrderReceived",
  domain,
  aggregateType: "purchaseOrder",
  payload: Schema.Struct({ sku: NonEmpty, quantity: Quantity }),
  summary: "The goods of the purchase order arrived.",
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

/** Every public event of the procurement domain. */
export const procurementEvents = [
  StockLevelRecorded,
  StockBelowReorderPoint,
  PurchaseOrderRequested,
  PurchaseOrderPlaced,
  PurchaseOrderReceived,
  PurchaseOrderCancelled,
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
