import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { assertSubjectToken } from "../subjects.ts"
import {
  formatMoney,
  type Money,
  moneyFromDecimal,
  parseTenantScopedId,
  TenantOwnId,
  tenantScopedId,
} from "./common.ts"

const eur = (amountMinor: number): Money => ({ amountMinor, currency: "EUR" })

describe("formatMoney", () => {
  it("writes minor units with the currency's decimals", () => {
    expect(formatMoney(eur(50_001))).toBe("500.01 EUR")
    expect(formatMoney(eur(5))).toBe("0.05 EUR")
    expect(formatMoney({ amountMinor: 1500, currency: "JPY" })).toBe("1500 JPY")
    expect(formatMoney({ amountMinor: 1500, currency: "KWD" })).toBe("1.500 KWD")
  })
})

describe("moneyFromDecimal", () => {
  it("reads an amount as a person writes it into minor units, exactly", () => {
    expect(moneyFromDecimal("12.50", "EUR")).toEqual(eur(1250))
    expect(moneyFromDecimal("12.5", "EUR")).toEqual(eur(1250))
    expect(moneyFromDecimal("12", "EUR")).toEqual(eur(1200))
    expect(moneyFromDecimal("0.07", "EUR")).toEqual(eur(7))
    // 0.29 * 100 is 28.999999999999996 in floating point: the digits are joined, never multiplied.
    expect(moneyFromDecimal("0.29", "EUR")).toEqual(eur(29))
    expect(moneyFromDecimal("1500", "JPY")).toEqual({ amountMinor: 1500, currency: "JPY" })
    expect(moneyFromDecimal("1.5", "KWD")).toEqual({ amountMinor: 1500, currency: "KWD" })
  })

  it("reads back what formatMoney writes", () => {
    for (const money of [eur(0), eur(5), eur(50_001), { amountMinor: 1500, currency: "KWD" }]) {
      const [amount, currency] = formatMoney(money).split(" ")
      expect(moneyFromDecimal(amount as string, currency as string)).toEqual(money)
    }
  })

  it("refuses what is no amount in the currency", () => {
    for (const [amount, currency] of [
      ["12.505", "EUR"],
      ["1.5", "JPY"],
      ["-1", "EUR"],
      ["1e3", "EUR"],
      ["12,50", "EUR"],
      [".5", "EUR"],
      ["", "EUR"],
      ["12.50", "eur"],
      ["12.50", "EURO"],
      ["99999999999999999", "EUR"],
    ] as const)
      expect(moneyFromDecimal(amount, currency), `${amount} ${currency}`).toBeUndefined()
  })
})

describe("tenant-scoped ids", () => {
  it("keeps two shops' same SKU apart, and splits back into tenant and own id", () => {
    expect(tenantScopedId("shop-a", "MUG-1")).not.toBe(tenantScopedId("shop-b", "MUG-1"))
    for (const [tenant, own] of [
      ["shop", "MUG-1"],
      ["shop-a", "a_b_c"],
      ["x".repeat(32), "Y".repeat(63)],
    ] as const) {
      const scoped = tenantScopedId(tenant, own)
      expect(assertSubjectToken("aggregate id", scoped)).toBe(scoped)
      expect(parseTenantScopedId(scoped)).toEqual({ tenantId: tenant, ownId: own })
    }
  })

  it("refuses, by name, a tenant or an own id that could not be part of an aggregate id", () => {
    expect(() => tenantScopedId("Shop", "MUG-1")).toThrow(/tenant "Shop"/)
    expect(() => tenantScopedId("x".repeat(33), "MUG-1")).toThrow(/1-32 characters/)
    expect(() => tenantScopedId("shop", "MUG.1")).toThrow(/"MUG\.1" must be 1-63 characters/)
    expect(() => tenantScopedId("shop", "M".repeat(64))).toThrow(/must be 1-63 characters/)
    expect(Schema.decodeUnknownResult(TenantOwnId)("MUG 1")._tag).toBe("Failure")
    expect(parseTenantScopedId("MUG-1")).toBeUndefined()
    expect(parseTenantScopedId("Shop_MUG-1")).toBeUndefined()
  })
})
