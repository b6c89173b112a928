import { describe, expect, it } from "vitest"
import { rateOf, wilsonInterval } from "./rates.ts"

describe("the Wilson score interval", () => {
  it("matches published values (statsmodels proportion_confint, method wilson)", () => {
    const [lo, hi] = wilsonInterval(8, 10)
    expect(lo).toBeCloseTo(0.4901624715, 9)
    expect(hi).toBeCloseTo(0.9433178485, 9)
    expect(rateOf(8, 10)).toEqual({ hits: 8, n: 10, rate: 0.8, lo: 0.4902, hi: 0.9433 })
    expect(rateOf(50, 100)).toEqual({ hits: 50, n: 100, rate: 0.5, lo: 0.4038, hi: 0.5962 })
    expect(rateOf(3, 4)).toEqual({ hits: 3, n: 4, rate: 0.75, lo: 0.3006, hi: 0.9544 })
  })

  it("stays inside [0, 1] at the edges and is the whole range when there is nothing to count", () => {
    expect(rateOf(0, 10)).toEqual({ hits: 0, n: 10, rate: 0, lo: 0, hi: 0.2775 })
    expect(rateOf(10, 10)).toEqual({ hits: 10, n: 10, rate: 1, lo: 0.7225, hi: 1 })
    expect(rateOf(0, 0)).toEqual({ hits: 0, n: 0, rate: null, lo: 0, hi: 1 })
  })
})
