import { createHash } from "node:crypto"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { canonicalJson, parametersHash } from "./canonical.ts"
import { Sha256Hex } from "./domains/actions.ts"

// Rebuilds every object of a JSON value with its keys in another (shuffled) insertion order.
const reorderKeys = (value: unknown, seed: number): unknown => {
  if (Array.isArray(value)) return value.map((item) => reorderKeys(item, seed))
  if (value === null || typeof value !== "object") return value
  const keys = Object.keys(value)
  const rotated = keys.map((_, i) => keys[(i + seed) % keys.length] as string).reverse()
  const out: Record<string, unknown> = {}
  for (const key of rotated) {
    Object.defineProperty(out, key, {
      value: reorderKeys((value as Record<string, unknown>)[key], seed),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

describe("canonicalJson", () => {
  it("sorts object keys at every depth and leaves array order alone", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    )
  })

  it("sorts integer-like keys as strings, which JavaScript would enumerate first", () => {
    expect(canonicalJson({ b: 1, "10": 2, "2": 3, a: 4 })).toBe('{"10":2,"2":3,"a":4,"b":1}')
  })

  it("sorts by UTF-16 code unit, as RFC 8785 does", () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, "😀": 4, "\uffff": 5 })).toBe(
      '{"Z":3,"z":2,"é":1,"😀":4,"\uffff":5}',
    )
  })

  it("spells values as JSON.stringify does", () => {
    expect(canonicalJson({ a: undefined, b: () => 1, c: [undefined, Number.NaN, -0, 1e21] })).toBe(
      '{"c":[null,null,0,1e+21]}',
    )
    expect(canonicalJson({ at: new Date(Date.UTC(2026, 10, 27)) })).toBe('{"at":"2026-11-27T00:00:00.000Z"}')
    expect(canonicalJson('a\u2028"b')).toBe(JSON.stringify('a\u2028"b'))
    expect(canonicalJson(undefined)).toBe("null")
  })

  it("refuses a cycle and a bigint instead of looping or guessing", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => canonicalJson(cyclic)).toThrow(/cycle/)
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError)
  })

  it("writes a shared (not cyclic) object each time it appears", () => {
    const shared = { x: 1 }
    expect(canonicalJson([shared, { shared }])).toBe('[{"x":1},{"shared":{"x":1}}]')
  })

  it("is JSON that parses back to the value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toStrictEqual(JSON.parse(JSON.stringify(value)))
      }),
    )
  })

  it("does not depend on the order in which keys were inserted", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(20), (value, seed) => {
        expect(canonicalJson(reorderKeys(value, seed))).toBe(canonicalJson(value))
      }),
    )
  })

  it("is a fixed point: canonical JSON parsed and written again is unchanged", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = canonicalJson(value)
        expect(canonicalJson(JSON.parse(once))).toBe(once)
      }),
    )
  })
})

describe("parametersHash", () => {
  it("is the lowercase hex SHA-256 of the canonical JSON", () => {
    const parameters = { orderId: "O-1", amount: { currency: "EUR", amountMinor: 1250 } }
    expect(parametersHash(parameters)).toBe(
      createHash("sha256")
        .update('{"amount":{"amountMinor":1250,"currency":"EUR"},"orderId":"O-1"}')
        .digest("hex"),
    )
    expect(Result.isSuccess(Schema.decodeUnknownResult(Sha256Hex)(parametersHash(parameters)))).toBe(true)
  })

  it("is equal for equal parameters and differs when any value differs", () => {
    expect(parametersHash({ a: 1, b: "x" })).toBe(parametersHash({ b: "x", a: 1 }))
    expect(parametersHash({ a: 1, b: "x" })).not.toBe(parametersHash({ a: 1, b: "y" }))
    expect(parametersHash({ a: [1, 2] })).not.toBe(parametersHash({ a: [2, 1] }))
    expect(parametersHash({ a: "1" })).not.toBe(parametersHash({ a: 1 }))
  })
})
