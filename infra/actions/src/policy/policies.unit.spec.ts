import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { Money } from "@mesh/contracts"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { type ActionPolicy, decodePolicyJson } from "./actionPolicy.ts"
import { evaluatePolicy, type PolicyRequest, quotaInputs } from "./evaluatePolicy.ts"

// The policy documents still kept here (procurement's, until its agent owns it); each agent's own is
// tested in its service (services/customer-ops/policy).
const directory = join(import.meta.dirname, "..", "..", "policies")
const files = readdirSync(directory).filter((name) => name.endsWith(".json"))
const load = (file: string): ActionPolicy =>
  Result.getOrThrow(decodePolicyJson(readFileSync(join(directory, file), "utf8"), file))

const eur = (amountMinor: number): Money => ({ amountMinor, currency: "EUR" })
const now = "2026-11-27T09:00:00.000Z"
const gate = (policy: ActionPolicy, request: PolicyRequest) =>
  evaluatePolicy(policy, request, quotaInputs([], request.agent, now, request.amount?.currency ?? null))
    .verdict

describe("the demo's policy documents", () => {
  it.each(files)("%s decodes, and names its workflow after the file", (file) => {
    expect(load(file).workflow).toBe(file.replace(/\.json$/, ""))
  })

  it("include procurement", () => {
    expect(files).toEqual(expect.arrayContaining(["procurement.json"]))
  })
})

describe("procurement", () => {
  const policy = load("procurement.json")
  const order = (overrides: Partial<PolicyRequest>): PolicyRequest => ({
    agent: "procurement",
    skill: "chooseSupplier",
    kind: "supplier.place-order",
    amount: eur(42_000),
    confidence: 0.9,
    sentiment: null,
    firstTimeSupplier: false,
    ...overrides,
  })

  it("places orders up to 500.00 EUR with a known supplier on its own", () => {
    expect(gate(policy, order({ amount: eur(50_000) })).mode).toBe("auto")
  })

  it("makes an order over 500.00 EUR or to a first-time supplier wait for approval", () => {
    expect(gate(policy, order({ amount: eur(50_001) }))).toMatchObject({
      mode: "require-approval",
      rule: "over-500-eur",
    })
    expect(gate(policy, order({ firstTimeSupplier: true }))).toMatchObject({
      mode: "require-approval",
      rule: "first-time-supplier",
    })
  })

  it("stops the next order once the hour's quota is used, with a clear reason", () => {
    const history = Array.from({ length: 20 }, (_, i) => ({
      agent: "procurement",
      requestedAt: new Date(Date.parse(now) - (i + 1) * 60_000).toISOString(),
      amount: eur(1_000),
      mode: "auto" as const,
    }))
    const verdict = evaluatePolicy(policy, order({}), quotaInputs(history, "procurement", now, "EUR")).verdict
    expect(verdict).toStrictEqual({
      mode: "deny",
      rule: "quota:actionsPerHour",
      reason: "agent procurement has requested 20 actions in the last hour; the quota is 20 per hour",
    })
  })
})
