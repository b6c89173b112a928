import { describe, expect, it } from "vitest"
import { histogramQuantile } from "./reactionTimes.ts"

describe("histogram quantiles", () => {
  // 100 values: 50 up to 1, 40 in (1, 2], 9 in (2, 4], 1 above 4 (the largest is 9).
  const buckets: ReadonlyArray<readonly [number, number]> = [
    [1, 50],
    [2, 90],
    [4, 99],
    [Number.POSITIVE_INFINITY, 100],
  ]

  it("interpolates within the bucket the rank falls in, as Prometheus does", () => {
    expect(histogramQuantile(buckets, 100, 0.5)).toBe(1)
    expect(histogramQuantile(buckets, 100, 0.7)).toBeCloseTo(1.5)
    expect(histogramQuantile(buckets, 100, 0.95)).toBeCloseTo(2 + (2 * 5) / 9)
    expect(histogramQuantile(buckets, 100, 0.25)).toBeCloseTo(0.5)
  })

  it("reads the unbounded bucket as the largest value seen, or the last bound when unknown", () => {
    expect(histogramQuantile(buckets, 100, 0.999, 9)).toBe(9)
    expect(histogramQuantile(buckets, 100, 0.999)).toBe(4)
  })

  it("never says more than the largest value seen", () => {
    expect(histogramQuantile([[10, 1]], 1, 0.99, 3)).toBe(3)
  })

  it("skips empty buckets and has nothing to say of an empty histogram", () => {
    expect(
      histogramQuantile(
        [
          [1, 0],
          [2, 0],
          [4, 4],
        ],
        4,
        0.5,
      ),
    ).toBe(3)
    expect(histogramQuantile([], 0, 0.5)).toBeUndefined()
  })
})
