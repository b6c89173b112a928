import type { EventEnvelope } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import type { ActionDomainEvent } from "../action/actionCommands.ts"
import { sampleDecisionPayload, sampleRequestPayload } from "../testing/costEvents.ts"
import { type DecisionEvent, modelCostReport } from "./modelCost.ts"

let nextId = 0
const envelope = <T extends string, P>(
  type: T,
  aggregateType: string,
  aggregateId: string,
  correlationId: string,
  payload: P,
  occurredAt = "2026-12-01T10:00:00.000Z",
): EventEnvelope<T, P> => ({
  eventId: `00000000-0000-7000-8000-${String(++nextId).padStart(12, "0")}`,
  type,
  schemaVersion: 1,
  aggregateType,
  aggregateId,
  aggregateVersion: 1,
  occurredAt,
  correlationId,
  causationId: null,
  actor: { kind: "agent", id: aggregateType },
  payload,
})

const decision = (
  agent: string,
  decisionId: string,
  chain: string,
  costUsd: number,
  latencyMs: number,
  decidedAt = "2026-12-01T10:00:00.000Z",
): DecisionEvent =>
  envelope(
    "DecisionRecorded",
    agent,
    decisionId,
    chain,
    sampleDecisionPayload({ decisionId, agent, costUsd, latencyMs, decidedAt }),
  )

const requested = (
  agent: string,
  actionId: string,
  chain: string,
  decisionId: string | null,
  requestedAt = "2026-12-01T10:00:01.000Z",
): ActionDomainEvent =>
  envelope(
    "ActionRequested",
    agent,
    actionId,
    chain,
    sampleRequestPayload({ actionId, agent, decisionId, requestedAt }),
  )

const succeeded = (agent: string, actionId: string, chain: string): ActionDomainEvent =>
  envelope("ActionSucceeded", agent, actionId, chain, {
    attempt: 1,
    externalRef: `ref-${actionId}`,
    result: {},
    completedAt: "2026-12-01T10:00:02.000Z",
  })

const awaiting = (agent: string, actionId: string, chain: string): ActionDomainEvent =>
  envelope("ActionAwaitingApproval", agent, actionId, chain, {
    parametersHash: "0".repeat(64),
    reason: "a person decides",
    expiresAt: "2026-12-01T11:00:00.000Z",
  })

describe("modelCostReport", () => {
  it("sums an agent's decisions and divides by the actions it got executed", () => {
    const report = modelCostReport(
      [decision("content-ops", "d1", "c1", 0.03, 100), decision("content-ops", "d2", "c2", 0.01, 300)],
      [
        requested("content-ops", "a1", "c1", "d1"),
        succeeded("content-ops", "a1", "c1"),
        requested("content-ops", "a2", "c2", "d2"),
        awaiting("content-ops", "a2", "c2"),
      ],
    )
    expect(report).toHaveLength(1)
    const [agent] = report
    expect(agent).toMatchObject({
      agent: "content-ops",
      decisions: 2,
      actionsRequested: 2,
      actionsExecuted: 1,
      interventionRate: 0.5,
      promptTokens: 200,
      completionTokens: 100,
    })
    expect(agent!.modelCostUsd).toBeCloseTo(0.04)
    expect(agent!.costPerExecutedActionUsd).toBeCloseTo(0.04)
    // The waiting action executed nothing, so its chain's decision is unattributed.
    expect(agent!.unattributedCostUsd).toBeCloseTo(0.01)
    expect(agent!.executed).toEqual([
      expect.objectContaining({ actionId: "a1", decisions: 1, costUsd: 0.03 }),
    ])
  })

  it("splits a decision's cost equally among the executed actions of its chain", () => {
    const [agent] = modelCostReport(
      [decision("procurement", "d1", "c1", 0.06, 50), decision("procurement", "d2", "c1", 0.03, 50)],
      [
        requested("procurement", "a1", "c1", "d1"),
        succeeded("procurement", "a1", "c1"),
        requested("procurement", "a2", "c1", "d2"),
        succeeded("procurement", "a2", "c1"),
        requested("procurement", "a3", "c1", "d2"),
      ],
    )
    // Both decisions belong to chain c1, which executed a1 and a2: each carries half of 0.09.
    expect(agent!.executed.map((a) => [a.actionId, a.decisions])).toEqual([
      ["a1", 2],
      ["a2", 2],
    ])
    for (const a of agent!.executed) expect(a.costUsd).toBeCloseTo(0.045)
    expect(agent!.costPerExecutedActionUsd).toBeCloseTo(0.045)
    expect(agent!.unattributedCostUsd).toBe(0)
    expect(agent!.interventionRate).toBe(0)
  })

  it("gives nearest-rank p50 and p95 decision latency", () => {
    const decisions = Array.from({ length: 20 }, (_, i) =>
      decision("customer-ops", `d${i}`, `c${i}`, 0, (i + 1) * 10),
    )
    const [agent] = modelCostReport(decisions, [])
    expect(agent!.decisionLatencyMs).toEqual({ p50: 100, p95: 190 })
    expect(agent!.costPerExecutedActionUsd).toBeNull()
    expect(agent!.interventionRate).toBeNull()
  })

  it("counts only the window's decisions and requests, and only the named agent", () => {
    const report = modelCostReport(
      [
        decision("content-ops", "old", "c0", 1, 10, "2026-11-30T10:00:00.000Z"),
        decision("content-ops", "new", "c1", 0.02, 10),
        decision("procurement", "other", "c2", 0.5, 10),
      ],
      [
        requested("content-ops", "a0", "c0", "old", "2026-11-30T10:00:01.000Z"),
        succeeded("content-ops", "a0", "c0"),
        requested("content-ops", "a1", "c1", "new"),
        succeeded("content-ops", "a1", "c1"),
      ],
      { agent: "content-ops", since: "2026-12-01T00:00:00.000Z" },
    )
    expect(report.map((a) => a.agent)).toEqual(["content-ops"])
    expect(report[0]).toMatchObject({ decisions: 1, actionsRequested: 1, actionsExecuted: 1 })
    expect(report[0]!.modelCostUsd).toBeCloseTo(0.02)
  })

  it("lists an agent that requested actions without deciding anything", () => {
    const [agent] = modelCostReport([], [requested("conflict-resolver", "a1", "c1", null)])
    expect(agent).toMatchObject({
      agent: "conflict-resolver",
      decisions: 0,
      modelCostUsd: 0,
      actionsRequested: 1,
      actionsExecuted: 0,
      decisionLatencyMs: null,
    })
  })
})
