import { describe, expect, it } from "vitest"
import { draftListingOffline } from "./listing.ts"

describe("listing drafting", () => {
  it("drafts a listing whose title fits and which states only the given facts", () => {
    const out = draftListingOffline({
      sku: "KTL-GLS",
      productName: "Glass Kettle",
      brand: "Brisk",
      category: "kitchen appliances",
      attributes: [
        { name: "capacity", value: "1.7 l" },
        { name: "power", value: "2200 W" },
      ],
      highlights: ["Blue LED while boiling"],
      price: { amountMinor: 4_900, currency: "EUR" },
    })
    expect(out.title).toBe("Brisk Glass Kettle, 1.7 l")
    expect(out.description).toContain("Power: 2200 W.")
    expect(out.bullets).toContain("Blue LED while boiling")
  })
})
