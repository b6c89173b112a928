import type { Money, PolicyMode } from "@mesh/contracts"
import { Result } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type ActionPolicy, type ActionPolicyDocument, decodePolicy, policyModeRank } from "./actionPolicy.ts"
import {
  evaluatePolicy,
  type PolicyRequest,
  type QuotaCounters,
  type QuotaHistoryEntry,
  quotaInputs,
} from "./evaluatePolicy.ts"

const eur = (amountMinor: number): Money => ({ amountMinor, currency: "EUR" })

const document: ActionPolicyDocument = {
  workflow: "shop",
  version: "3",
  approvalTtl: "PT1H",
  defaultMode: "require-approval",
  kinds: {
    "supplier.place-order": {
      mode: "auto",
      rules: [
        { id: "over-500-eur", when: { amountAtLeast: eur(50001) }, mode: "require-approval" },
        { id: "new-supplier", when: { firstTimeSupplier: true }, mode: "notify" },
        { id: "huge", when: { amountAtLeast: eur(1_000_000) }, mode: "deny" },
      ],
    },
    "mailbox.send-message": {
      mode: "auto",
      rules: [
        {
          id: "unhappy-and-unsure",
          when: { sentimentIn: ["negative"], confidenceBelow: 0.6 },
          mode: "notify",
        },
      ],
    },
    "payment.refund": { mode: "require-approval", rules: [] },
    "storefront.unpublish-listing": { mode: "deny", rules: [] },
  },
  quotas: { actionsPerHour: 10, spendPerDay: eur(200_000) },
  skills: {
    chooseSupplier: ["supplier.place-order"],
    draftReply: [
      "mailbox.send-message",
      "payment.refund",
      "storefront.publish-listing",
      "storefront.unpublish-listing",
    ],
    triageTicket: [],
  },
}
const policy: ActionPolicy = Result.getOrThrow(decodePolicy(document))

const order = (overrides: Partial<PolicyRequest> = {}): PolicyRequest => ({
  agent: "procurement",
  skill: "chooseSupplier",
  kind: "supplier.place-order",
  amount: eur(12_000),
  confidence: 0.9,
  sentiment: null,
  firstTimeSupplier: false,
  ...overrides,
})
const reply = (overrides: Partial<PolicyRequest> = {}): PolicyRequest =>
  order({
    agent: "customer-ops",
    skill: "draftReply",
    kind: "mailbox.send-message",
    amount: null,
    ...overrides,
  })

const quiet: QuotaCounters = { actionsLastHour: 0, spendToday: eur(0) }
const verdictOf = (request: PolicyRequest, counters: QuotaCounters = quiet) =>
  evaluatePolicy(policy, request, request.amount === null ? { ...counters, spendToday: null } : counters)
    .verdict

describe("the allow-list", () => {
  it("denies a kind the skill may not request, whatever its mode", () => {
    expect(verdictOf(order({ skill: "draftReply" }))).toStrictEqual({
      mode: "deny",
      rule: "allow-list",
      reason:
        "skill draftReply may not request supplier.place-order (its allow-list: mailbox.send-message, payment.refund, storefront.publish-listing, storefront.unpublish-listing)",
    })
    expect(verdictOf(reply({ skill: "triageTicket" })).reason).toContain("(its allow-list: none)")
  })

  it("denies every request of a skill the policy does not name", () => {
    expect(verdictOf(reply({ skill: "improvise" }))).toStrictEqual({
      mode: "deny",
      rule: "allow-list",
      reason: "skill improvise has no allow-list in policy shop, so it may request no action",
    })
  })

  it("cannot be widened by anything the model says", () => {
    const kinds = [
      "supplier.place-order",
      "mailbox.send-message",
      "payment.refund",
      "storefront.adjust-stock",
    ]
    fc.assert(
      fc.property(
        fc.constantFrom("chooseSupplier", "draftReply", "triageTicket", "other"),
        fc.constantFrom(...kinds),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
        fc.option(fc.constantFrom("negative" as const, "neutral" as const, "positive" as const)),
        fc.option(fc.boolean()),
        fc.option(fc.nat(2_000_000)),
        (skill, kind, confidence, sentiment, firstTimeSupplier, amountMinor) => {
          const allowed = policy.skills[skill]?.includes(kind) ?? false
          const request = order({
            skill,
            kind,
            confidence,
            sentiment,
            firstTimeSupplier,
            amount: amountMinor === null ? null : eur(amountMinor),
          })
          const verdict = verdictOf(request)
          if (!allowed) expect(verdict).toMatchObject({ mode: "deny", rule: "allow-list" })
          else expect(verdict.rule).not.toBe("allow-list")
        },
      ),
    )
  })
})

describe("quotas", () => {
  it("denies the action after the hourly quota, saying the numbers", () => {
    expect(verdictOf(order(), { ...quiet, actionsLastHour: 9 }).mode).toBe("auto")
    expect(verdictOf(order(), { ...quiet, actionsLastHour: 10 })).toStrictEqual({
      mode: "deny",
      rule: "quota:actionsPerHour",
      reason: "agent procurement has requested 10 actions in the last hour; the quota is 10 per hour",
    })
  })

  it("denies spend that would go over the daily quota, and allows spend up to it", () => {
    expect(verdictOf(order({ amount: eur(20_000) }), { ...quiet, spendToday: eur(180_000) }).mode).toBe(
      "auto",
    )
    expect(verdictOf(order({ amount: eur(20_001) }), { ...quiet, spendToday: eur(180_000) })).toStrictEqual({
      mode: "deny",
      rule: "quota:spendPerDay",
      reason:
        "agent procurement has committed 1800.00 EUR in the last 24 hours; 200.01 EUR more would make 2000.01 EUR, over the quota of 2000.00 EUR per day",
    })
  })

  it("denies an amount in a currency the spend quota is not in", () => {
    const usd = { amountMinor: 100, currency: "USD" }
    expect(
      verdictOf(order({ amount: usd }), { ...quiet, spendToday: { amountMinor: 0, currency: "USD" } }),
    ).toMatchObject({
      mode: "deny",
      rule: "quota:spendPerDay",
      reason: "the spend quota is in EUR; an amount in USD (1.00 USD) cannot be checked against it",
    })
  })

  it("throws when the counters were computed for another currency (a caller's bug)", () => {
    expect(() => evaluatePolicy(policy, order(), { actionsLastHour: 0, spendToday: null })).toThrow(
      /spendToday must be in EUR/,
    )
  })

  it("come before the kind's mode and after the allow-list", () => {
    const exhausted = { actionsLastHour: 99, spendToday: eur(0) }
    expect(verdictOf(order({ amount: eur(60_000) }), exhausted).rule).toBe("quota:actionsPerHour")
    expect(verdictOf(order({ skill: "draftReply" }), exhausted).rule).toBe("allow-list")
  })
})

describe("modes", () => {
  it("gives the kind's mode when no rule matches", () => {
    expect(verdictOf(order())).toStrictEqual({
      mode: "auto",
      rule: "default",
      reason: "supplier.place-order is auto by default",
    })
  })

  it("gives the policy's default mode to a kind it does not list", () => {
    expect(verdictOf(reply({ kind: "storefront.publish-listing" }))).toStrictEqual({
      mode: "require-approval",
      rule: "default",
      reason: "storefront.publish-listing is not listed in policy shop; its default mode is require-approval",
    })
  })

  it("takes the strictest matching rule and records its id", () => {
    expect(verdictOf(order({ amount: eur(50_001) }))).toStrictEqual({
      mode: "require-approval",
      rule: "over-500-eur",
      reason: "supplier.place-order is require-approval because the amount 500.01 EUR is at least 500.01 EUR",
    })
    expect(verdictOf(order({ amount: eur(50_000) })).mode).toBe("auto")
    expect(verdictOf(order({ firstTimeSupplier: true }))).toMatchObject({
      mode: "notify",
      rule: "new-supplier",
    })
    expect(verdictOf(order({ firstTimeSupplier: true, amount: eur(90_000) })).rule).toBe("over-500-eur")
    expect(verdictOf(order({ amount: eur(1_500_000) }), { ...quiet, spendToday: eur(0) })).toMatchObject({
      rule: "quota:spendPerDay",
    })
  })

  it("needs every condition of a rule to hold", () => {
    expect(verdictOf(reply({ sentiment: "negative", confidence: 0.4 }))).toMatchObject({
      mode: "notify",
      rule: "unhappy-and-unsure",
      reason:
        "mailbox.send-message is notify because the confidence 0.4 is below 0.6 and the sentiment is negative",
    })
    expect(verdictOf(reply({ sentiment: "negative", confidence: 0.8 })).mode).toBe("auto")
    expect(verdictOf(reply({ sentiment: "neutral", confidence: 0.4 })).mode).toBe("auto")
  })

  it("counts an input it does not have as meeting the condition, since a rule can only tighten", () => {
    expect(verdictOf(reply({ sentiment: null, confidence: null }))).toMatchObject({
      mode: "notify",
      reason:
        "mailbox.send-message is notify because the confidence is unknown (threshold 0.6) and the sentiment is unknown",
    })
    // An order without an amount meets every amount threshold, the deny one included.
    expect(verdictOf(order({ amount: null }))).toMatchObject({ mode: "deny", rule: "huge" })
    expect(verdictOf(order({ firstTimeSupplier: null, amount: eur(100) })).rule).toBe("new-supplier")
  })

  it("passes a deny mode through with its rule", () => {
    expect(verdictOf(reply({ kind: "storefront.unpublish-listing" }))).toMatchObject({
      mode: "deny",
      rule: "default",
    })
  })

  it("is never looser than the kind's own mode, and a further rule never loosens it", () => {
    const modes: ReadonlyArray<PolicyMode> = ["auto", "notify", "require-approval", "deny"]
    fc.assert(
      fc.property(
        fc.constantFrom(...modes),
        fc.constantFrom(...modes),
        fc.option(fc.nat(100_000)),
        fc.option(fc.boolean()),
        fc.nat(100_000),
        (base, extraMode, amountMinor, firstTimeSupplier, threshold) => {
          const kinds = { ...policy.kinds, "supplier.place-order": { mode: base, rules: [] } }
          const request = order({ amount: amountMinor === null ? null : eur(amountMinor), firstTimeSupplier })
          const counters = request.amount === null ? { ...quiet, spendToday: null } : quiet
          const before = evaluatePolicy({ ...policy, kinds }, request, counters).verdict
          expect(policyModeRank[before.mode]).toBeGreaterThanOrEqual(policyModeRank[base])
          const rule = { id: "extra", when: { amountAtLeast: eur(threshold) }, mode: extraMode }
          const tightened = { ...kinds, "supplier.place-order": { mode: base, rules: [rule] } }
          const after = evaluatePolicy({ ...policy, kinds: tightened }, request, counters).verdict
          expect(policyModeRank[after.mode]).toBeGreaterThanOrEqual(policyModeRank[before.mode])
        },
      ),
    )
  })
})

describe("an agent's floor", () => {
  const floor = (mode: PolicyMode) => ({
    mode,
    rule: "ungrounded-promise",
    reason: "the reply promises a code",
  })

  it("tightens the verdict and names the agent's rule", () => {
    expect(verdictOf(reply({ floor: floor("require-approval") }))).toEqual({
      mode: "require-approval",
      rule: "agent:ungrounded-promise",
      reason: "the reply promises a code",
    })
  })

  it("never widens it, whatever the agent asks", () => {
    const refund = reply({ kind: "payment.refund", amount: eur(4_990) })
    expect(verdictOf({ ...refund, floor: floor("auto") })).toEqual(verdictOf(refund))
    expect(verdictOf(reply({ kind: "storefront.unpublish-listing", floor: floor("auto") })).mode).toBe("deny")
    expect(verdictOf(reply({ skill: "triageTicket", floor: floor("auto") })).rule).toBe("allow-list")
  })

  it("leaves a tie to the policy's own rule", () => {
    expect(verdictOf(reply({ floor: floor("auto") })).rule).toBe("default")
  })
})

describe("named approvers", () => {
  const named = Result.getOrThrow(
    decodePolicy({
      ...document,
      kinds: {
        ...document.kinds,
        "payment.refund": { mode: "require-approval", rules: [], approvers: ["owner"] },
        "mailbox.send-message": { mode: "auto", rules: [], approvers: ["owner", "support-lead"] },
      },
    }),
  )
  const of = (request: PolicyRequest) =>
    evaluatePolicy(named, request, { ...quiet, spendToday: request.amount === null ? null : eur(0) }).verdict

  it("are recorded with a verdict that waits for a person", () => {
    expect(of(reply({ kind: "payment.refund", amount: eur(4_990) })).approvers).toEqual(["owner"])
    expect(
      of(reply({ floor: { mode: "require-approval", rule: "held", reason: "an ungrounded promise" } }))
        .approvers,
    ).toEqual(["owner", "support-lead"])
  })

  it("are left out of a verdict nobody decides", () => {
    expect(of(reply({})).approvers).toBeUndefined()
  })
})

describe("the decision", () => {
  it("records the workflow, the version and every input the gate saw", () => {
    const counters = { actionsLastHour: 3, spendToday: eur(4_000) }
    expect(evaluatePolicy(policy, order({ firstTimeSupplier: true }), counters)).toStrictEqual({
      workflow: "shop",
      version: "3",
      verdict: {
        mode: "notify",
        rule: "new-supplier",
        reason: "supplier.place-order is notify because the supplier is a first-time supplier",
      },
      inputs: {
        amount: eur(12_000),
        confidence: 0.9,
        sentiment: null,
        firstTimeSupplier: true,
        actionsLastHour: 3,
        spendToday: eur(4_000),
      },
    })
  })
})

describe("quotaInputs", () => {
  const now = "2026-11-27T12:00:00.000Z"
  const entry = (
    requestedAt: string,
    amount: Money | null,
    mode: PolicyMode = "auto",
    agent = "procurement",
  ) => ({ agent, requestedAt, amount, mode }) satisfies QuotaHistoryEntry

  it("counts the agent's actions in the last hour and its spend in the last 24 hours", () => {
    const history = [
      entry("2026-11-27T11:30:00.000Z", eur(1_000)),
      entry("2026-11-27T11:00:00.001Z", null, "notify"),
      entry("2026-11-27T11:00:00.000Z", eur(2_000), "require-approval"), // exactly an hour ago: out of the hour
      entry("2026-11-26T12:00:00.001Z", eur(4_000)),
      entry("2026-11-26T12:00:00.000Z", eur(8_000)), // exactly a day ago: out of the day
    ]
    expect(quotaInputs(history, "procurement", now, "EUR")).toStrictEqual({
      actionsLastHour: 2,
      spendToday: eur(7_000),
    })
  })

  it("leaves out denied requests, other agents and other currencies", () => {
    const history = [
      entry("2026-11-27T11:59:00.000Z", eur(1_000), "deny"),
      entry("2026-11-27T11:59:00.000Z", eur(1_000), "auto", "customer-ops"),
      entry("2026-11-27T11:59:00.000Z", { amountMinor: 500, currency: "USD" }),
      entry("2026-11-27T11:59:00.000Z", eur(300)),
    ]
    expect(quotaInputs(history, "procurement", now, "EUR")).toStrictEqual({
      actionsLastHour: 2,
      spendToday: eur(300),
    })
    expect(quotaInputs(history, "procurement", now, "USD").spendToday).toStrictEqual({
      amountMinor: 500,
      currency: "USD",
    })
  })

  it("has no spend for a request without an amount, and counts a request stamped after now", () => {
    const history = [entry("2026-11-27T12:00:01.000Z", eur(100))]
    expect(quotaInputs(history, "procurement", now, null)).toStrictEqual({
      actionsLastHour: 1,
      spendToday: null,
    })
  })

  it("refuses an instant it cannot read", () => {
    expect(() => quotaInputs([], "procurement", "noon", "EUR")).toThrow(/not an ISO instant/)
  })

  it("stops the next action once the history reaches the hourly quota", () => {
    const history = Array.from({ length: 10 }, (_, i) =>
      entry(new Date(Date.parse(now) - (i + 1) * 60_000).toISOString(), eur(100)),
    )
    const request = order({ amount: eur(100) })
    const decision = evaluatePolicy(policy, request, quotaInputs(history, "procurement", now, "EUR"))
    expect(decision.verdict.rule).toBe("quota:actionsPerHour")
    expect(decision.inputs.actionsLastHour).toBe(10)
  })
})
