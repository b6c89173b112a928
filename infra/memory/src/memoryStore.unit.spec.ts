import { describe, expect, it } from "vitest"
import { canonicalJson, normalise, similarityFromSquaredL2 } from "./memoryRecord.ts"
import { searchFilter } from "./memoryStore.ts"

describe("searchFilter", () => {
  it("always filters by tenant and leaves stale memories out by default", () => {
    expect(searchFilter({ tenantId: "shop-1" })).toBe("tenant_id = 'shop-1' AND stale = false")
  })

  it("adds freshness in the stored instant format and can include stale memories", () => {
    expect(searchFilter({ tenantId: "shop-1", includeStale: true, freshAfter: "2026-11-25T10:00:00Z" })).toBe(
      "tenant_id = 'shop-1' AND updated_at >= '2026-11-25T10:00:00.000Z'",
    )
  })

  it("keeps only rows projected before a log position when asked", () => {
    expect(searchFilter({ tenantId: "shop-1", sourceBefore: 42 })).toBe(
      "tenant_id = 'shop-1' AND stale = false AND source_sequence < 42",
    )
  })
})

describe("memory record helpers", () => {
  it("serialises metadata with sorted keys at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    )
  })

  it("normalises vectors so that squared L2 distance maps to cosine similarity", () => {
    const a = normalise([3, 4])
    const b = normalise([4, 3])
    const squaredL2 = (a[0]! - b[0]!) ** 2 + (a[1]! - b[1]!) ** 2
    expect(similarityFromSquaredL2(squaredL2)).toBeCloseTo(a[0]! * b[0]! + a[1]! * b[1]!)
    expect(Array.from(normalise([0, 0]))).toEqual([0, 0])
  })
})
