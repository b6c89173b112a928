import { DeciderSpecification } from "@mesh/kernel/testing"
import { describe, it } from "vitest"
import { type PurchaseOrderDraft, purchaseOrderDecider } from "./purchaseOrder.ts"

const purchaseOrder = DeciderSpecification.for(purchaseOrderDecider)
const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })

const draft: PurchaseOrderDraft = {
  tenantId: "shop",
  sku: "LAMP-1",
  supplierId: "acme",
  quantity: 10,
  unitCost: eur(800),
  total: eur(8000),
  leadTimeDays: 3,
  decisionId: "chooseSupplier-1",
  reason: "cheapest eligible",
  firstTimeSupplier: false,
}
const drafted = { type: "PurchaseOrderDrafted" as const, payload: draft }
const requested = {
  type: "PurchaseOrderRequested" as const,
  payload: {
    tenantId: "shop",
    sku: "LAMP-1",
    supplierId: "acme",
    quantity: 10,
    unitCost: eur(800),
    total: eur(8000),
    actionId: "po-1",
  },
}
const placed = {
  type: "PurchaseOrderPlaced" as const,
  payload: {
    supplierId: "acme",
    actionId: "po-1",
    externalRef: "po_1",
    expectedBy: "2026-12-04T10:00:00.000Z",
  },
}

describe("a purchase order", () => {
  it("is due its supplier's lead time after it is placed", () => {
    purchaseOrder
      .given([drafted, requested])
      .when({
        _tag: "RecordPurchaseOrderPlaced",
        actionId: "po-1",
        externalRef: "po_1",
        placedAt: "2026-12-01T10:00:00.000Z",
      })
      .thenEmits([placed])
  })

  it("receives a partial delivery, then the rest, late or on time", () => {
    purchaseOrder
      .given([drafted, requested, placed])
      .when({ _tag: "ReceiveGoods", quantity: 4, receivedAt: "2026-12-03T09:00:00.000Z" })
      .thenEmits([
        {
          type: "PurchaseOrderReceived",
          payload: {
            sku: "LAMP-1",
            quantity: 4,
            outstanding: 6,
            onTime: true,
            receivedAt: "2026-12-03T09:00:00.000Z",
          },
        },
      ])
    purchaseOrder
      .given([
        drafted,
        requested,
        placed,
        {
          type: "PurchaseOrderReceived",
          payload: { sku: "LAMP-1", quantity: 4, outstanding: 6, onTime: true },
        },
      ])
      .when({ _tag: "ReceiveGoods", quantity: 6, receivedAt: "2026-12-05T09:00:00.000Z" })
      .thenEmits([
        {
          type: "PurchaseOrderReceived",
          payload: {
            sku: "LAMP-1",
            quantity: 6,
            outstanding: 0,
            onTime: false,
            receivedAt: "2026-12-05T09:00:00.000Z",
          },
        },
      ])
  })

  it("is late once, and only while goods are outstanding after the promised date", () => {
    purchaseOrder
      .given([drafted, requested, placed])
      .when({ _tag: "CheckDelivery", now: "2026-12-04T09:00:00.000Z" })
      .thenNothingHappens()
    const late = {
      type: "PurchaseOrderLate" as const,
      payload: {
        tenantId: "shop",
        sku: "LAMP-1",
        supplierId: "acme",
        expectedBy: "2026-12-04T10:00:00.000Z",
        outstanding: 10,
      },
    }
    purchaseOrder
      .given([drafted, requested, placed])
      .when({ _tag: "CheckDelivery", now: "2026-12-05T00:00:00.000Z" })
      .thenEmits([late])
    purchaseOrder
      .given([drafted, requested, placed, late])
      .when({ _tag: "CheckDelivery", now: "2026-12-06T00:00:00.000Z" })
      .thenNothingHappens()
  })

  it("refuses goods for an order not placed, and asks nothing of the gate for one no supplier was chosen for", () => {
    purchaseOrder
      .given([drafted])
      .when({ _tag: "ReceiveGoods", quantity: 1, receivedAt: "2026-12-03T09:00:00.000Z" })
      .thenThrows()
    purchaseOrder
      .given([])
      .when({ _tag: "ReceiveGoods", quantity: 1, receivedAt: "2026-12-03T09:00:00.000Z" })
      .thenThrows()
    purchaseOrder
      .given([
        {
          type: "PurchaseOrderDrafted",
          payload: { ...draft, supplierId: null, unitCost: null, total: null, leadTimeDays: null },
        },
      ])
      .when({ _tag: "RecordPurchaseOrderRequest", actionId: "po-1" })
      .thenNothingHappens()
  })

  it("is cancelled once, and a received order is not", () => {
    purchaseOrder
      .given([drafted, requested, placed])
      .when({ _tag: "CancelPurchaseOrder", reason: "compensated" })
      .thenEmits([{ type: "PurchaseOrderCancelled", payload: { reason: "compensated" } }])
    purchaseOrder
      .given([
        drafted,
        requested,
        placed,
        { type: "PurchaseOrderReceived", payload: { sku: "LAMP-1", quantity: 10, outstanding: 0 } },
      ])
      .when({ _tag: "CancelPurchaseOrder", reason: "late" })
      .thenNothingHappens()
  })
})
