import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  ActionPolicy,
  type ActionPolicyDocument,
  approvalExpiresAt,
  decodePolicy,
  decodePolicyJson,
  stricterMode,
} from "./actionPolicy.ts"

const document = {
  workflow: "procurement",
  version: "7",
  approvalTtl: "PT24H",
  defaultMode: "require-approval",
  kinds: {
    "supplier.place-order": {
      mode: "auto",
      rules: [
        {
          id: "over-500-eur",
          when: { amountAtLeast: { amountMinor: 50001, currency: "EUR" } },
          mode: "require-approval",
        },
      ],
    },
  },
  quotas: { actionsPerHour: 20 },
  skills: { chooseSupplier: ["supplier.place-order"] },
} satisfies ActionPolicyDocument

// The document with one part replaced, as JSON would hold it.
const withPart = (patch: Record<string, unknown>): unknown => ({ ...document, ...patch })
const kindWith = (kind: Record<string, unknown>): unknown =>
  withPart({ kinds: { "supplier.place-order": { ...document.kinds["supplier.place-order"], ...kind } } })

const errorOf = (input: unknown): string => {
  const result = decodePolicy(input, "procurement.json")
  if (Result.isSuccess(result)) throw new Error("expected the document to be refused")
  return result.failure.message
}

describe("decodePolicy", () => {
  it("decodes a document, turning the approval TTL into milliseconds", () => {
    const policy = Result.getOrThrow(decodePolicy(document))
    expect(policy.approvalTtlMs).toBe(24 * 60 * 60 * 1000)
    expect(policy.kinds["supplier.place-order"]?.rules[0]?.id).toBe("over-500-eur")
    expect(policy.quotas).toStrictEqual({ actionsPerHour: 20 })
  })

  it("takes the TTL as milliseconds too", () => {
    expect(Result.getOrThrow(decodePolicy(withPart({ approvalTtl: 90_000 }))).approvalTtlMs).toBe(90_000)
    expect(Result.getOrThrow(decodePolicy(withPart({ approvalTtl: "P1DT30M" }))).approvalTtlMs).toBe(
      (24 * 60 + 30) * 60 * 1000,
    )
  })

  it("encodes back to a document that decodes to the same policy", () => {
    const policy = Result.getOrThrow(decodePolicy(document))
    const encoded = Schema.encodeSync(ActionPolicy)(policy)
    expect(encoded.approvalTtl).toBe(86_400_000)
    expect(Result.getOrThrow(decodePolicy(JSON.parse(JSON.stringify(encoded))))).toStrictEqual(policy)
  })

  it("names the document and the path of a bad field", () => {
    const message = errorOf(kindWith({ mode: "sometimes" }))
    expect(message).toContain("invalid action policy procurement.json")
    expect(message).toContain('["kinds"]["supplier.place-order"]["mode"]')
    expect(message).toContain('"auto" | "notify" | "require-approval" | "deny"')
  })

  it("refuses a misspelt condition instead of ignoring it", () => {
    const message = errorOf(
      kindWith({
        rules: [{ id: "big", when: { amountAtleast: { amountMinor: 1, currency: "EUR" } }, mode: "deny" }],
      }),
    )
    expect(message).toContain('["kinds"]["supplier.place-order"]["rules"][0]["when"]["amountAtleast"]')
    expect(message).toMatch(/excess property/)
  })

  it("reports every bad field at once", () => {
    const message = errorOf(withPart({ version: "", approvalTtl: "P1M", quotas: { actionsPerHour: -1 } }))
    expect(message).toContain('["version"]')
    expect(message).toContain('["approvalTtl"]')
    expect(message).toContain("ISO-8601 duration such as PT24H")
    expect(message).toContain('["quotas"]["actionsPerHour"]')
  })

  it("refuses a zero or negative TTL", () => {
    expect(errorOf(withPart({ approvalTtl: 0 }))).toContain('["approvalTtl"]')
    expect(errorOf(withPart({ approvalTtl: "-PT1H" }))).toContain('["approvalTtl"]')
  })

  it("refuses a kind name that is not <system>.<operation>", () => {
    const message = errorOf(withPart({ kinds: { Refund: { mode: "auto", rules: [] } } }))
    expect(message).toContain('["kinds"]["Refund"]')
    expect(message).toContain("is not an action kind name")
    expect(errorOf(withPart({ skills: { chooseSupplier: ["place order"] } }))).toContain(
      '["skills"]["chooseSupplier"][0]',
    )
  })

  it("refuses a rule that can never change a verdict", () => {
    const message = errorOf(
      kindWith({
        mode: "notify",
        rules: [{ id: "small", when: { amountAtLeast: { amountMinor: 1, currency: "EUR" } }, mode: "auto" }],
      }),
    )
    expect(message).toContain('["kinds"]["supplier.place-order"]["rules"][0]["mode"]')
    expect(message).toContain("rules only tighten")
  })

  it("refuses a rule without conditions, a reused rule id and a reserved one", () => {
    expect(errorOf(kindWith({ rules: [{ id: "always", when: {}, mode: "notify" }] }))).toContain(
      "must state at least one condition",
    )
    const rule = { id: "new", when: { firstTimeSupplier: true }, mode: "notify" }
    expect(errorOf(kindWith({ rules: [rule, rule] }))).toContain("rule id new is already used")
    expect(errorOf(kindWith({ rules: [{ ...rule, id: "default" }] }))).toContain("reserved")
  })

  it("refuses text that is not JSON, saying so", () => {
    const result = decodePolicyJson("{ workflow: procurement", "procurement.json")
    expect(Result.isFailure(result) && result.failure.message).toMatch(
      /^invalid action policy procurement\.json: not JSON/,
    )
    expect(Result.isSuccess(decodePolicyJson(JSON.stringify(document)))).toBe(true)
  })
})

describe("policy helpers", () => {
  it("orders modes auto < notify < require-approval < deny", () => {
    expect(stricterMode("auto", "notify")).toBe("notify")
    expect(stricterMode("deny", "require-approval")).toBe("deny")
    expect(stricterMode("notify", "notify")).toBe("notify")
  })

  it("puts an approval's deadline one TTL after the request", () => {
    const policy = Result.getOrThrow(decodePolicy(document))
    expect(approvalExpiresAt(policy, "2026-11-27T09:00:00.000Z")).toBe("2026-11-28T09:00:00.000Z")
    expect(() => approvalExpiresAt(policy, "tomorrow")).toThrow(/not an ISO instant/)
  })
})
