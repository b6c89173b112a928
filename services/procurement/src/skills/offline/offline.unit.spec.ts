import { describe, expect, it } from "vitest"
import { chooseSupplierOffline, scoreOffer } from "./supplier.ts"

describe("supplier choice", () => {
  const offer = (id: string, cost: number, lead: number, onTime: number, moq = 1) => ({
    id,
    name: id.toUpperCase(),
    unitCost: { amountMinor: cost, currency: "EUR" },
    leadTimeDays: lead,
    onTimeRate: onTime,
    minOrderQuantity: moq,
  })

  it("prefers a reliable supplier costing at most 10% more over a cheaper unreliable one", () => {
    const input = {
      sku: "X",
      quantity: 10,
      neededWithinDays: 10,
      suppliers: [offer("a", 100, 5, 0.8), offer("b", 109, 5, 0.95)],
    }
    expect(chooseSupplierOffline(input).supplierId).toBe("b")
    const dearer = { ...input, suppliers: [offer("a", 100, 5, 0.8), offer("b", 115, 5, 0.95)] }
    expect(chooseSupplierOffline(dearer).supplierId).toBe("a")
  })

  it("chooses nobody when no supplier is eligible, and ranks every offer", () => {
    const out = chooseSupplierOffline({
      sku: "X",
      quantity: 10,
      neededWithinDays: 3,
      suppliers: [offer("a", 100, 5, 0.99), offer("b", 90, 2, 0.99, 50)],
    })
    expect(out.supplierId).toBeNull()
    expect(out.ranking.map((r) => r.eligible)).toEqual([false, false])
  })

  it("scores the cheapest reliable offer highest", () => {
    expect(scoreOffer(offer("a", 100, 5, 0.95), 100)).toBeGreaterThan(
      scoreOffer(offer("b", 105, 5, 0.95), 100),
    )
  })
})
