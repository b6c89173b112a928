import { describe, expect, it } from "vitest"
import type { CustomerOrder } from "../projections/customerCare.ts"
import { namesOrder, productStockFact, restockFact } from "./facts.ts"

describe("a customer naming an order", () => {
  it("names the shop's order number however they write it around it", () => {
    for (const text of ["1001", "#1001", "order #1001", "Order no. 1001, please", "where is 1001?"])
      expect(namesOrder(text, "1001"), text).toBe(true)
    expect(namesOrder("about O-1001 and W-2", "W-2")).toBe(true)
  })

  it("does not name an order whose number is part of a longer id", () => {
    for (const text of ["10012", "21001", "O-1001", "1001-B", "order #1001_2", ""])
      expect(namesOrder(text, "1001"), text).toBe(false)
    // A later whole mention still counts after a longer id.
    expect(namesOrder("not 10012 but 1001", "1001")).toBe(true)
  })
})

describe("a back-ordered line, as the fact a reply cites", () => {
  const order: CustomerOrder = {
    orderId: "1001",
    status: "paid",
    total: { amountMinor: 4_500, currency: "EUR" },
    lines: [{ sku: "LINEN-1", name: "Linen tablecloth", quantity: 1 }],
    carrier: null,
    trackingNumber: null,
    expectedDelivery: null,
    placedAt: "2026-12-01T09:00:00.000Z",
    waitingForStock: ["LINEN-1"],
  }
  const line = { sku: "LINEN-1", name: "Linen tablecloth" }

  it("says when the supplier is due, that the delivery is late, or that there is no date, and nothing more", () => {
    const due = restockFact(order, line, { _tag: "Expected", by: "2026-12-09T00:00:00.000Z" })
    expect(due).toMatchObject({ id: "restock-1001-LINEN-1", kind: "restock" })
    expect(due.text).toBe(
      "Linen tablecloth in your order 1001 is waiting for new stock: our supplier is due to deliver it by 9 December 2026, and it ships to you once it is in.",
    )
    expect(
      restockFact(order, line, { _tag: "Overdue", wasDueBy: "2026-12-02T00:00:00.000Z" }).text,
    ).toContain("was due by 2 December 2026 and is late, and we do not have a new date yet")
    expect(restockFact(order, line, { _tag: "Unknown" }).text).toBe(
      "Linen tablecloth in your order 1001 is waiting for new stock, and our supplier has not given a delivery date yet.",
    )
  })
})

describe("a product's stock, as the fact a reply cites", () => {
  const teapot = { sku: "KIT-003", name: "Green earthenware teapot" }

  it("says it is in stock, or when the supplier is due, that the delivery is late, or that there is no date", () => {
    expect(productStockFact(teapot, { _tag: "InStock" })).toEqual({
      id: "stock-KIT-003",
      kind: "stock",
      text: "The Green earthenware teapot is in stock at the moment.",
    })
    expect(productStockFact(teapot, { _tag: "Expected", by: "2026-12-09T00:00:00.000Z" }).text).toBe(
      "The Green earthenware teapot is out of stock: our supplier is due to deliver new stock by 9 December 2026.",
    )
    expect(productStockFact(teapot, { _tag: "Overdue", wasDueBy: "2026-12-01T00:00:00.000Z" }).text).toBe(
      "The Green earthenware teapot is out of stock: our supplier's delivery was due by 1 December 2026 and is late, and we do not have a new date yet.",
    )
    expect(productStockFact(teapot, { _tag: "Unknown" }).text).toBe(
      "The Green earthenware teapot is out of stock, and our supplier has not given a delivery date yet.",
    )
  })

  it("never tells how many units there are", () => {
    expect(productStockFact(teapot, { _tag: "InStock" }).text).not.toMatch(/\d/)
  })
})
