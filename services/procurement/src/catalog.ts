import { actionCatalog } from "@mesh/actions"
import {
  customerEvents,
  makeCatalog,
  OrderAllocationOpened,
  OrderStockBackordered,
  OrderStockReleased,
  OrderStockReserved,
  OrderStockReturned,
  OrderStockShipped,
  PurchaseOrderCancelled,
  PurchaseOrderDrafted,
  PurchaseOrderLate,
  PurchaseOrderPlaced,
  PurchaseOrderReceived,
  PurchaseOrderRequested,
  procurementEvents,
  ReorderClosed,
  ReorderOpened,
  ReordersResumed,
  StockBelowReorderPoint,
  StockItemConfigured,
  StockRestocked,
} from "@mesh/contracts"

/** The events the procurement agent reads and writes: its own domain, the storefront's orders, and its actions. */
export const procurementCatalog = makeCatalog([
  ...procurementEvents,
  ...customerEvents,
  ...actionCatalog.definitions,
])
/** The event definitions of the procurement catalogue. */
export type ProcurementDefs = (typeof procurementCatalog.definitions)[number]

/** The events of a SKU's `stockItem` aggregate. */
export const stockItemEvents = [
  StockItemConfigured,
  StockBelowReorderPoint,
  ReorderOpened,
  ReorderClosed,
  StockRestocked,
  ReordersResumed,
] as const

/** The events of a customer order's `allocation` aggregate. */
export const allocationEvents = [
  OrderAllocationOpened,
  OrderStockReserved,
  OrderStockBackordered,
  OrderStockShipped,
  OrderStockReleased,
  OrderStockReturned,
] as const

/** The events of a `purchaseOrder` aggregate. */
export const purchaseOrderEvents = [
  PurchaseOrderDrafted,
  PurchaseOrderRequested,
  PurchaseOrderPlaced,
  PurchaseOrderReceived,
  PurchaseOrderCancelled,
  PurchaseOrderLate,
] as const
