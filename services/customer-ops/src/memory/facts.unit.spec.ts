import { describe, expect, it } from "vitest"
import { namesOrder } from "./facts.ts"

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
