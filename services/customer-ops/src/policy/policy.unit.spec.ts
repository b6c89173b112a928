import { readFileSync } from "node:fs"
import { decodePolicyJson, evaluatePolicy, type PolicyRequest, quotaInputs } from "@mesh/actions"
import type { Money } from "@mesh/contracts"
import { Result } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  decodeReplyPolicyJson,
  gateModeOf,
  policyFiles,
  type RoutingInput,
  routeReply,
  shippedReplyPolicy,
} from "./replyPolicy.ts"

const eur = (amountMinor: number): Money => ({ amountMinor, currency: "EUR" })
const policy = shippedReplyPolicy()

const clean = (overrides: Partial<RoutingInput> = {}): RoutingInput => ({
  intent: "order_status",
  sentiment: "neutral",
  confidence: 0.92,
  triageDeclined: null,
  triageReasons: [],
  contact: 1,
  earlierTickets: 0,
  orderValue: eur(5_990),
  manipulation: [],
  detailChanges: [],
  ungroundedPromises: [],
  leaksPrompt: false,
  drafterEscalated: null,
  citedFacts: 2,
  ...overrides,
})

describe("the reply policy", () => {
  it("sends a clean order-status reply on its own", () => {
    expect(routeReply(policy, clean())).toEqual({
      disposition: "auto-send",
      reasons: [
        {
          code: "intent:order_status",
          detail: "order_status replies are auto-send by policy customer-ops-replies v1",
        },
      ],
    })
  })

  it("makes a refund wait for approval", () => {
    expect(routeReply(policy, clean({ intent: "refund" })).disposition).toBe("await-approval")
  })

  it("escalates an angry repeat customer, with each reason", () => {
    const routing = routeReply(
      policy,
      clean({ intent: "complaint", sentiment: "negative", contact: 2, earlierTickets: 1 }),
    )
    expect(routing.disposition).toBe("escalate")
    expect(routing.reasons.map((r) => r.code)).toEqual(["intent:complaint", "sentiment", "repeat-contact"])
    expect(routing.reasons[2]?.detail).toBe(
      "the customer's 3rd contact (2 on this ticket, 1 earlier tickets)",
    )
  })

  it("escalates low confidence, an abstention, a high order value and triage's risk reasons", () => {
    expect(routeReply(policy, clean({ confidence: 0.4 })).reasons.map((r) => r.code)).toContain(
      "low-confidence",
    )
    expect(routeReply(policy, clean({ triageDeclined: "abstained: unsure" })).disposition).toBe("escalate")
    expect(routeReply(policy, clean({ orderValue: eur(50_000) })).reasons[1]).toEqual({
      code: "high-value",
      detail: "the order is worth 500.00 EUR, at least 500.00 EUR",
    })
    expect(routeReply(policy, clean({ triageReasons: ["legal"] })).reasons[1]?.code).toBe("risk:legal")
  })

  it("holds a reply with an ungrounded promise for approval, and escalates detail changes and manipulation", () => {
    const held = routeReply(policy, clean({ ungroundedPromises: ["a discount code SAVE50 no record holds"] }))
    expect(held.disposition).toBe("await-approval")
    expect(held.reasons[1]).toEqual({
      code: "ungrounded-promise",
      detail: "a discount code SAVE50 no record holds",
    })
    expect(routeReply(policy, clean({ detailChanges: ["delivery-address"] })).disposition).toBe("escalate")
    expect(routeReply(policy, clean({ manipulation: ["instruction-override"] })).disposition).toBe("escalate")
    expect(routeReply(policy, clean({ leaksPrompt: true })).disposition).toBe("escalate")
  })

  it("never lowers a disposition, whatever the signals", () => {
    const dispositions = ["auto-send", "send-and-notify", "await-approval", "escalate"]
    fc.assert(
      fc.property(
        fc.constantFrom("refund" as const, "order_status" as const, "complaint" as const, "other" as const),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        fc.boolean(),
        (intent, confidence, manipulated, ungrounded) => {
          const routing = routeReply(
            policy,
            clean({
              intent,
              confidence,
              manipulation: manipulated ? ["instruction-override"] : [],
              ungroundedPromises: ungrounded ? ["a refund"] : [],
            }),
          )
          expect(dispositions.indexOf(routing.disposition)).toBeGreaterThanOrEqual(
            dispositions.indexOf(policy.intents[intent]),
          )
          if (manipulated) expect(routing.disposition).toBe("escalate")
        },
      ),
    )
  })

  it("hands a question no record or approved article answers to a person", () => {
    expect(routeReply(policy, clean({ intent: "product_question", citedFacts: 0 })).reasons[1]).toEqual({
      code: "no-facts",
      detail: "no record or approved article answers this product question",
    })
    expect(routeReply(policy, clean({ intent: "complaint", citedFacts: 0 })).disposition).toBe(
      "send-and-notify",
    )
  })

  it("asks the gate for approval for everything a person must see", () => {
    expect(gateModeOf("auto-send")).toBe("auto")
    expect(gateModeOf("send-and-notify")).toBe("notify")
    expect(gateModeOf("await-approval")).toBe("require-approval")
    expect(gateModeOf("escalate")).toBe("require-approval")
  })

  it("names what is wrong in a bad policy document", () => {
    const broken = JSON.stringify({ ...policy, intents: { ...policy.intents, refund: "whenever" } })
    const decoded = decodeReplyPolicyJson(broken, "replies.json")
    expect(Result.isFailure(decoded) && decoded.failure.message).toMatch(/replies\.json.*intents.*refund/s)
  })
})

describe("the action policy", () => {
  const actions = Result.getOrThrow(
    decodePolicyJson(readFileSync(policyFiles.actions, "utf8"), "actions.json"),
  )
  const now = "2026-11-27T09:00:00.000Z"
  const gate = (request: PolicyRequest) =>
    evaluatePolicy(actions, request, quotaInputs([], request.agent, now, request.amount?.currency ?? null))
      .verdict
  const request = (overrides: Partial<PolicyRequest>): PolicyRequest => ({
    agent: "customer-ops",
    skill: "draftReply",
    kind: "mailbox.send-message",
    amount: null,
    confidence: 0.9,
    sentiment: "neutral",
    firstTimeSupplier: null,
    ...overrides,
  })

  it("is the customer-ops workflow", () => {
    expect(actions.workflow).toBe("customer-ops")
  })

  it("makes every refund wait for approval, whatever the agent's own verdict", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
        fc.option(fc.constantFrom("negative" as const, "neutral" as const, "positive" as const)),
        fc.constantFrom("auto" as const, "notify" as const, null),
        (amountMinor, confidence, sentiment, floorMode) => {
          const verdict = gate(
            request({
              kind: "payment.refund",
              amount: eur(amountMinor),
              confidence,
              sentiment,
              floor: floorMode === null ? null : { mode: floorMode, rule: "x", reason: "the text says so" },
            }),
          )
          expect(verdict.mode).toBe("require-approval")
        },
      ),
    )
  })

  it("sends replies on its own, telling a human when the customer is unhappy and the model unsure", () => {
    expect(gate(request({})).mode).toBe("auto")
    expect(gate(request({ sentiment: "negative", confidence: 0.3 }))).toMatchObject({
      mode: "notify",
      rule: "unhappy-and-unsure",
    })
  })

  it("names the owner to decide refunds and knowledge, and the owner or the support lead for held replies", () => {
    expect(gate(request({ kind: "payment.refund", amount: eur(4_990) })).approvers).toEqual(["owner"])
    expect(gate(request({ kind: "knowledge.publish", skill: "proposeKnowledge" })).approvers).toEqual([
      "owner",
    ])
    const held = gate(request({ floor: { mode: "require-approval", rule: "sentiment", reason: "unhappy" } }))
    expect(held.approvers).toEqual(["owner", "support-lead"])
  })

  it("never lets the triage skill act", () => {
    expect(gate(request({ skill: "triageTicket" }))).toMatchObject({ mode: "deny", rule: "allow-list" })
  })
})
