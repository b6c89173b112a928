import { sampleDecisionPayload, sampleRequestPayload } from "@mesh/actions/testing"
import { actionEvents, decisionEvents, makeCatalog } from "@mesh/contracts"
import {
  applyTopology,
  declareTopology,
  initialPosition,
  makeEventLog,
  type NatsHandles,
  openNats,
} from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { linesOf, runMesh } from "./testing/runMesh.ts"

let server: NatsServerHandle
let nats: NatsHandles
let namespace: string

const now = Date.now()
const at = (agoMs: number) => new Date(now - agoMs).toISOString()
const hour = 3_600_000

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  namespace = uniqueNamespace("cost")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const log = makeEventLog({ nats, catalog: makeCatalog([...actionEvents, ...decisionEvents]), namespace })
  const decide = (agent: string, decisionId: string, chain: string, costUsd: number, agoMs: number) =>
    log.append({
      aggregate: { domain: "decisions", type: agent, id: decisionId },
      expected: initialPosition,
      events: [
        {
          type: "DecisionRecorded",
          payload: sampleDecisionPayload({
            decisionId,
            agent,
            costUsd,
            latencyMs: 200,
            decidedAt: at(agoMs),
          }),
        },
      ],
      metadata: { correlationId: chain, causationId: null, actor: { kind: "agent", id: agent } },
    })
  const act = (
    agent: string,
    actionId: string,
    chain: string,
    decisionId: string,
    agoMs: number,
    ok: boolean,
  ) =>
    log.append({
      aggregate: { domain: "actions", type: agent, id: actionId },
      expected: initialPosition,
      events: [
        {
          type: "ActionRequested",
          payload: sampleRequestPayload({ actionId, agent, decisionId, requestedAt: at(agoMs) }),
        },
        ok
          ? {
              type: "ActionSucceeded",
              payload: { attempt: 1, externalRef: `ref-${actionId}`, result: {}, completedAt: at(agoMs) },
            }
          : {
              type: "ActionAwaitingApproval",
              payload: { parametersHash: "0".repeat(64), reason: "a person decides", expiresAt: at(-hour) },
            },
      ],
      metadata: { correlationId: chain, causationId: null, actor: { kind: "agent", id: agent } },
    })
  await Effect.runPromise(
    Effect.all([
      // Two days ago: outside `--since 24h`.
      decide("content-ops", "d-old", "chain-old", 1, 48 * hour),
      act("content-ops", "a-old", "chain-old", "d-old", 48 * hour, true),
      // Two decisions of one chain that published one listing; one draft waits for a person.
      decide("content-ops", "d-1", "chain-1", 0.03, hour),
      decide("content-ops", "d-2", "chain-1", 0.01, hour),
      act("content-ops", "a-1", "chain-1", "d-2", hour, true),
      decide("content-ops", "d-3", "chain-3", 0.02, hour),
      act("content-ops", "a-3", "chain-3", "d-3", hour, false),
      decide("procurement", "p-1", "chain-p", 0.5, hour),
    ]),
  )
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

const mesh = (args: ReadonlyArray<string>) =>
  runMesh([...args, "--nats-url", server.url, "--namespace", namespace])

describe("mesh cost", () => {
  it("prints each agent's cost per executed action over the window as JSON", async () => {
    const run = await mesh(["cost", "--since", "24h", "--json"])
    expect(run.code).toBe(0)
    const report = linesOf(run.stdout).map((line) => JSON.parse(line))
    expect(report.map((a) => a.agent)).toEqual(["content-ops", "procurement"])
    const [content, procurement] = report
    expect(content).toMatchObject({
      decisions: 3,
      actionsRequested: 2,
      actionsExecuted: 1,
      interventionRate: 0.5,
      decisionLatencyMs: { p50: 200, p95: 200 },
      executed: [{ actionId: "a-1", decisions: 2, correlationId: "chain-1" }],
    })
    expect(content.modelCostUsd).toBeCloseTo(0.06)
    expect(content.costPerExecutedActionUsd).toBeCloseTo(0.06)
    expect(content.executed[0].costUsd).toBeCloseTo(0.04)
    expect(content.unattributedCostUsd).toBeCloseTo(0.02)
    expect(procurement).toMatchObject({ actionsRequested: 0, costPerExecutedActionUsd: null })
  })

  it("reads the whole log without --since, and one agent with --agent, as text", async () => {
    const run = await mesh(["cost", "--agent", "content-ops"])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(
      "content-ops: 4 decisions $1.0600 (400+200 tokens), 3 actions requested, 2 executed, $0.5300 per executed action, 33% waited for a human",
    )
    expect(run.stdout).toContain("  a-1 storefront.publish-listing $0.0400 from 2 decisions of chain chain-1")
    expect(run.stdout).not.toContain("procurement")
  })

  it("refuses a --since it cannot read", async () => {
    const run = await mesh(["cost", "--since", "yesterday"])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("--since takes an ISO time")
  })
})
