import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodePolicyJson } from "./actionPolicy.ts"
import { evaluatePolicy } from "./evaluatePolicy.ts"

// The README's "Policies" section shows a real policy file and a real verdict; these keep them true.
const packageDir = join(import.meta.dirname, "..", "..")
const readme = readFileSync(join(packageDir, "README.md"), "utf8")
const section = (name: string): string => {
  const match = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n\\s*<!-- ${name}:end -->`).exec(readme)
  if (match?.[1] === undefined) throw new Error(`README.md has no <!-- ${name}:start/end --> markers`)
  return match[1]
}

describe("README.md, Policies", () => {
  const file = readFileSync(join(packageDir, "policies", "procurement.json"), "utf8")

  it("shows policies/procurement.json as it is", () => {
    expect(section("policy:procurement")).toBe(["```json", file.trimEnd(), "```"].join("\n"))
  })

  it("quotes the reason the gate gives for an exhausted spend quota", () => {
    const policy = Result.getOrThrow(decodePolicyJson(file, "procurement.json"))
    const decision = evaluatePolicy(
      policy,
      {
        agent: "procurement",
        skill: "chooseSupplier",
        kind: "supplier.place-order",
        amount: { amountMinor: 30_000, currency: "EUR" },
        confidence: 0.9,
        sentiment: null,
        firstTimeSupplier: false,
      },
      { actionsLastHour: 3, spendToday: { amountMinor: 480_000, currency: "EUR" } },
    )
    expect(decision.verdict.rule).toBe("quota:spendPerDay")
    expect(section("policy:quota-reason").trim()).toBe(`\`${decision.verdict.reason}\``)
  })
})
