import { decodePolicy } from "@mesh/actions"
import type { PolicyDecision } from "@mesh/contracts"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { diffPolicies, type RecordedRequest } from "./policyDiff.ts"

// Purchase orders under a policy that wants a buyer from 500 EUR and for a new supplier.
const policyOf = (threshold: number, extra: Record<string, unknown> = {}) => {
  const decoded = decodePolicy({
    workflow: "procurement",
    version: `t${threshold}`,
    approvalTtl: "PT24H",
    defaultMode: "require-approval",
    kinds: {
      "supplier.place-order": {
        mode: "auto",
        rules: [
          {
            id: "big-order",
            when: { amountAtLeast: { amountMinor: threshold * 100, currency: "EUR" } },
            mode: "require-approval",
          },
          { id: "first-order", when: { firstTimeSupplier: true }, mode: "require-approval" },
        ],
      },
    },
    quotas: { actionsPerHour: 100 },
    skills: { chooseSupplier: ["supplier.place-order"] },
    ...extra,
  })
  if (Result.isFailure(decoded)) throw decoded.failure
  return decoded.success
}

const recorded = (
  sequence: number,
  eur: number,
  firstTimeSupplier: boolean,
  verdict: PolicyDecision["verdict"],
  extra: Partial<PolicyDecision["inputs"]> = {},
): RecordedRequest => ({
  sequence,
  actionId: `po-${sequence}`,
  agent: "procurement",
  skill: "chooseSupplier",
  kind: "supplier.place-order",
  requestedAt: "2026-12-01T10:00:00.000Z",
  correlationId: `chain-${sequence}`,
  outcome: "was executed",
  policy: {
    workflow: "procurement",
    version: "t500",
    verdict,
    inputs: {
      amount: { amountMinor: Math.round(eur * 100), currency: "EUR" },
      confidence: 0.9,
      sentiment: null,
      firstTimeSupplier,
      actionsLastHour: 3,
      spendToday: null,
      ...extra,
    },
  },
})

const auto = { mode: "auto", rule: "default", reason: "auto by default" } as const
const big = { mode: "require-approval", rule: "big-order", reason: "big" } as const
const first = { mode: "require-approval", rule: "first-order", reason: "new supplier" } as const

// A day as the 500 EUR policy decided it.
const history: ReadonlyArray<RecordedRequest> = [
  recorded(1, 120, false, auto),
  recorded(2, 520, false, big),
  recorded(3, 580, true, big),
  recorded(4, 610, false, big),
  recorded(5, 90, true, first),
  recorded(6, 599.99, false, big),
]

describe("weighing recorded requests by a candidate policy", () => {
  it("reproduces every recorded verdict under the policy that gave them", () => {
    const diff = diffPolicies([policyOf(500)], history)
    expect(diff.changes).toEqual([])
    expect(diff.examined).toEqual({ procurement: 6 })
    expect(diff.otherRule).toBe(0)
  })

  it("reports exactly the requests a raised threshold lets through, and nothing else", () => {
    const diff = diffPolicies([policyOf(600)], history)
    // 520 and 599.99 from a known supplier now pass; 580 still waits (a new supplier), 610 still waits.
    expect(diff.changes.map((c) => [c.actionId, c.recorded.mode, c.candidate.mode])).toEqual([
      ["po-2", "require-approval", "auto"],
      ["po-6", "require-approval", "auto"],
    ])
    expect(diff.transitions).toEqual({ "require-approval→auto": 2 })
    // The new supplier's order keeps its verdict, given now by the other rule.
    expect(diff.otherRule).toBe(1)
    expect(diff.changes[0]).toMatchObject({ recorded: { version: "t500" }, candidate: { version: "t600" } })
  })

  it("reports the requests a lowered threshold holds back", () => {
    const diff = diffPolicies([policyOf(100)], history)
    expect(diff.changes.map((c) => c.actionId)).toEqual(["po-1"])
    expect(diff.changes[0]?.candidate).toMatchObject({ mode: "require-approval", rule: "big-order" })
  })

  it("weighs quotas by the counters as they were", () => {
    const busy = [recorded(7, 10, false, auto, { actionsLastHour: 40 }), recorded(8, 10, false, auto)]
    const diff = diffPolicies([policyOf(500, { quotas: { actionsPerHour: 40 } })], busy)
    expect(diff.changes.map((c) => [c.actionId, c.candidate.mode, c.candidate.rule])).toEqual([
      ["po-7", "deny", "quota:actionsPerHour"],
    ])
  })

  it("keeps an agent's own stricter verdict, recorded with the inputs or read from its rule", () => {
    const floor = { mode: "require-approval", rule: "uncertain", reason: "the agent is unsure" } as const
    const kept = recorded(9, 10, false, { ...floor, rule: "agent:uncertain" }, { floor })
    // Before floors were recorded, a verdict the floor decided names it as agent:<rule>.
    const inferred = recorded(10, 10, false, { ...floor, rule: "agent:uncertain" })
    const diff = diffPolicies([policyOf(600)], [kept, inferred])
    expect(diff.changes).toEqual([])
  })

  it("leaves workflows without a candidate as they were, and names requests it cannot weigh", () => {
    const other = {
      ...recorded(11, 10, false, auto),
      policy: { ...recorded(11, 10, false, auto).policy, workflow: "content-ops" },
    }
    const spendQuota = policyOf(500, { quotas: { spendPerDay: { amountMinor: 100_000, currency: "EUR" } } })
    const diff = diffPolicies([spendQuota], [other, recorded(12, 10, false, auto)])
    expect(diff.uncovered).toEqual({ "content-ops": 1 })
    // The day was counted without a spend quota: there is no spend to hold the request against.
    expect(diff.unweighable.map((u) => u.actionId)).toEqual(["po-12"])
    expect(diff.unweighable[0]?.reason).toMatch(/spendToday/)
  })
})
