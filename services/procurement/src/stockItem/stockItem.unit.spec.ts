import { DeciderSpecification } from "@mesh/kernel/testing"
import { describe, expect, it } from "vitest"
import { type StockItemSettings, stockIdOf, stockItemDecider } from "./stockItem.ts"

const stockItem = DeciderSpecification.for(stockItemDecider)

const settings: StockItemSettings = {
  tenantId: "shop",
  sku: "LAMP-1",
  name: "Desk lamp",
  reorderPoint: 3,
  reorderQuantity: 10,
  neededWithinDays: 7,
  suppliers: [
    {
      supplierId: "acme",
      name: "Acme",
      unitCost: { amountMinor: 800, currency: "EUR" },
      leadTimeDays: 3,
      minOrderQuantity: 1,
    },
  ],
  openingStock: 6,
}
const configured = { type: "StockItemConfigured" as const, payload: settings }
const opened = (purchaseOrderId: string, available: number) => ({
  type: "ReorderOpened" as const,
  payload: {
    tenantId: "shop",
    sku: "LAMP-1",
    purchaseOrderId,
    quantity: 3 - available + 10,
    neededWithinDays: 7,
    available,
    suppliers: settings.suppliers,
  },
})

describe("a SKU's stock item", () => {
  it("opens a reorder at its reorder point, enough to lift it above by the reorder quantity", () => {
    stockItem
      .given([configured])
      .when({ _tag: "CheckReorderPoint", onOrder: 0, available: 2, purchaseOrderId: "po-1" })
      .thenEmits([
        { type: "StockBelowReorderPoint", payload: { sku: "LAMP-1", onHand: 2, reorderPoint: 3 } },
        opened("po-1", 2),
      ])
  })

  it("orders nothing above its reorder point, for a SKU nobody set up, or while a reorder is open", () => {
    stockItem
      .given([configured])
      .when({ _tag: "CheckReorderPoint", onOrder: 0, available: 4, purchaseOrderId: "po-1" })
      .thenNothingHappens()
    stockItem
      .given([])
      .when({ _tag: "CheckReorderPoint", onOrder: 0, available: 0, purchaseOrderId: "po-1" })
      .thenNothingHappens()
    // The second of two sales seen at once (by two replicas) finds the first one's reorder open.
    stockItem
      .given([configured, opened("po-1", 2)])
      .when({ _tag: "CheckReorderPoint", onOrder: 0, available: 1, purchaseOrderId: "po-2" })
      .thenNothingHappens()
  })

  it("opens the next reorder once the open one is received, and closes only that one", () => {
    stockItem
      .given([configured, opened("po-1", 2)])
      .when({ _tag: "CloseReorder", purchaseOrderId: "po-other", outcome: "cancelled" })
      .thenNothingHappens()
    stockItem
      .given([
        configured,
        opened("po-1", 2),
        { type: "ReorderClosed", payload: { purchaseOrderId: "po-1", outcome: "received" } },
      ])
      .when({ _tag: "CheckReorderPoint", onOrder: 0, available: 2, purchaseOrderId: "po-2" })
      .thenEmits([
        { type: "StockBelowReorderPoint", payload: { sku: "LAMP-1", onHand: 2, reorderPoint: 3 } },
        opened("po-2", 2),
      ])
  })

  it("counts units on order, and holds reorders after a cancelled one until a buyer resumes them", () => {
    stockItem
      .given([configured])
      .when({ _tag: "CheckReorderPoint", onOrder: 5, available: 2, purchaseOrderId: "po-1" })
      .thenNothingHappens()
    const cancelled = {
      type: "ReorderClosed" as const,
      payload: { purchaseOrderId: "po-1", outcome: "cancelled" as const },
    }
    const held = [configured, opened("po-1", 2), cancelled]
    stockItem
      .given(held)
      .when({ _tag: "CheckReorderPoint", onOrder: 0, available: 1, purchaseOrderId: "po-2" })
      .thenNothingHappens()
    const resumed = { type: "ReordersResumed" as const, payload: { by: "ana" } }
    stockItem.given(held).when({ _tag: "ResumeReorders", by: "ana" }).thenEmits([resumed])
    stockItem
      .given([...held, resumed])
      .when({ _tag: "CheckReorderPoint", onOrder: 0, available: 2, purchaseOrderId: "po-2" })
      .thenEmits([
        { type: "StockBelowReorderPoint", payload: { sku: "LAMP-1", onHand: 2, reorderPoint: 3 } },
        opened("po-2", 2),
      ])
  })

  it("records settings once, and refuses settings without suppliers or from another tenant", () => {
    stockItem
      .given([])
      .when({ _tag: "ConfigureStockItem", ...settings })
      .thenEmits([configured])
    stockItem
      .given([configured])
      .when({ _tag: "ConfigureStockItem", ...settings })
      .thenNothingHappens()
    // The same settings in another key order (a form, another client) are the same settings.
    const { sku, ...rest } = settings
    stockItem
      .given([configured])
      .when({ _tag: "ConfigureStockItem", sku, ...rest })
      .thenNothingHappens()
    // The opening stock counts once: sent again with another number, nothing changes.
    stockItem
      .given([configured])
      .when({ _tag: "ConfigureStockItem", ...settings, openingStock: 50 })
      .thenNothingHappens()
    stockItem
      .given([])
      .when({ _tag: "ConfigureStockItem", ...settings, suppliers: [] })
      .thenThrows()
    stockItem
      .given([configured])
      .when({ _tag: "ConfigureStockItem", ...settings, tenantId: "other" })
      .thenThrows()
  })
})

describe("a stock item's id", () => {
  it("is the SKU in its tenant, so two shops selling the same SKU keep two stocks", () => {
    expect(stockIdOf("shop", "MUG-1")).toBe("shop_MUG-1")
    expect(stockIdOf("corner", "MUG-1")).toBe("corner_MUG-1")
    expect(stockIdOf("shop", "MUG-1")).not.toBe(stockIdOf("corner", "MUG-1"))
  })

  it("refuses, naming it, a SKU that could not name a stock in its tenant", () => {
    expect(() => stockIdOf("shop", "S".repeat(64))).toThrow(/"S{64}" must be 1-63 characters/)
    expect(() => stockIdOf("shop", "MUG 1")).toThrow(/"MUG 1"/)
    expect(() => stockIdOf("Shop", "MUG-1")).toThrow(/tenant "Shop"/)
  })

  it("is one tenant's: another tenant's settings for the same SKU never change it", () => {
    const corner = { ...settings, tenantId: "corner", name: "Corner lamp", openingStock: 0 }
    // Each tenant's SKU is its own aggregate: the corner shop's first settings set up its own item.
    stockItem
      .given([])
      .when({ _tag: "ConfigureStockItem", ...corner })
      .thenEmits([{ type: "StockItemConfigured", payload: corner }])
    // Sent to the shop's item instead, they are refused, naming both.
    stockItem
      .given([configured])
      .when({ _tag: "ConfigureStockItem", ...corner })
      .thenThrows(/corner's LAMP-1 were sent to shop's LAMP-1/)
  })
})
