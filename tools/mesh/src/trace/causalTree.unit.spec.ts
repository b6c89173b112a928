import type { EventEnvelope } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import { buildCausalTrace, renderTraceMermaid, renderTraceTree, type TracedEvent } from "./causalTree.ts"

const at = (ms: number) => new Date(Date.UTC(2026, 11, 3, 9, 0, 0, ms)).toISOString()

let sequence = 0
const traced = (
  stream: string,
  event: Partial<EventEnvelope> & Pick<EventEnvelope, "eventId" | "type" | "causationId">,
  ms: number,
  actor = "customer-ops",
): TracedEvent => ({
  stream,
  sequence: ++sequence,
  index: 0,
  event: {
    schemaVersion: 1,
    aggregateType: "ticket",
    aggregateId: "tk-1",
    aggregateVersion: 1,
    occurredAt: at(ms),
    correlationId: "req-1",
    actor: { kind: actor === "owner" ? "human" : "agent", id: actor },
    payload: {},
    ...event,
  },
})

// One ticket's chain: the webhook's request, the ticket, its triage decision, the reply's action
// waiting for a person, the person's approval, and the send.
const chain: ReadonlyArray<TracedEvent> = [
  traced(
    "MESH_REQUESTS",
    {
      eventId: "e-req",
      type: "RequestReceived",
      causationId: null,
      aggregateType: "customer-ops",
      aggregateId: "req-1",
      payload: { requestId: "req-1", name: "ReceiveMessage", origin: "http" },
    },
    0,
  ),
  traced("MESH_CUSTOMER", { eventId: "e-open", type: "TicketOpened", causationId: "req-1" }, 3),
  traced(
    "MESH_DECISIONS",
    {
      eventId: "e-dec",
      type: "DecisionRecorded",
      causationId: "e-open",
      payload: {
        skill: "triageTicket",
        skillVersion: 3,
        promptVersion: "v3",
        provider: "offline",
        model: "mesh-offline-1",
        outcome: "valid",
        retrieved: [{ memoryId: "order-1001" }],
        output: { text: '{"intent":"refund"}' },
        latencyMs: 2,
        costUsd: 0,
      },
    },
    9,
  ),
  traced(
    "MESH_CUSTOMER",
    {
      eventId: "e-tri",
      type: "TicketTriaged",
      causationId: "e-open",
      payload: { intent: "refund", sentiment: "neutral", confidence: 0.9 },
    },
    10,
  ),
  traced(
    "MESH_ACTIONS",
    {
      eventId: "e-act",
      type: "ActionRequested",
      causationId: "e-open",
      aggregateType: "customer-ops",
      aggregateId: "refund-tk-1-m1",
      payload: {
        kind: "payment.refund",
        actionId: "refund-tk-1-m1",
        policy: {
          workflow: "customer-ops",
          version: "4",
          verdict: { mode: "require-approval", rule: "default", reason: "refunds wait for a person" },
        },
      },
    },
    12,
  ),
  traced(
    "MESH_ACTIONS",
    { eventId: "e-ok", type: "ActionApproved", causationId: "e-act", aggregateId: "refund-tk-1-m1" },
    500,
    "owner",
  ),
  traced(
    "MESH_ACTIONS",
    {
      eventId: "e-done",
      type: "ActionSucceeded",
      causationId: "e-ok",
      aggregateId: "refund-tk-1-m1",
      payload: { externalRef: "re_1" },
    },
    520,
  ),
]

describe("a chain's causal tree", () => {
  it("hangs every event under its cause, from the outside request down, in log order", () => {
    // Read in any order, from any stream: the tree is the same.
    const trace = buildCausalTrace("req-1", [...chain].reverse())
    expect(trace).toMatchObject({ correlationId: "req-1", events: 7, durationMs: 520, causesOutside: 0 })
    expect(trace.roots).toHaveLength(1)
    const [request] = trace.roots
    expect(request?.event.type).toBe("RequestReceived")
    expect(request?.children.map((c) => c.event.type)).toEqual(["TicketOpened"])
    const opened = request?.children[0]
    expect(opened?.children.map((c) => c.event.type)).toEqual([
      "DecisionRecorded",
      "TicketTriaged",
      "ActionRequested",
    ])
    const action = opened?.children[2]
    expect(action?.children[0]).toMatchObject({ by: "human:owner", afterCauseMs: 488 })
    expect(action?.children[0]?.children[0]?.event.type).toBe("ActionSucceeded")
    expect(trace.writers).toEqual(["agent:customer-ops", "human:owner"])
    expect(trace.streams).toEqual({ MESH_REQUESTS: 1, MESH_CUSTOMER: 2, MESH_DECISIONS: 1, MESH_ACTIONS: 3 })
  })

  it("says what the decision was given and what the policy said", () => {
    const lines = renderTraceTree(buildCausalTrace("req-1", chain))
    expect(lines[0]).toBe(
      "trace req-1: 7 events from agent:customer-ops, human:owner in 520 ms, since 2026-12-03T09:00:00.000Z",
    )
    const decision = lines.find((l) => l.includes("DecisionRecorded"))
    expect(decision).toContain(
      "triageTicket v3 prompt v3 by offline/mesh-offline-1, valid; retrieved order-1001",
    )
    expect(decision).toContain('output {"intent":"refund"}')
    const action = lines.find((l) => l.includes("ActionRequested"))
    expect(action).toContain(
      "payment.refund refund-tk-1-m1: policy customer-ops v4 says require-approval (default",
    )
    expect(lines.find((l) => l.includes("ActionApproved"))).toContain("(+488 ms) ActionApproved")
    // The tree's shape in the prefixes: the request at the root, the ticket under it, its three effects under that.
    expect(lines.slice(1).map((l) => l.slice(0, l.indexOf("+")))).toEqual([
      "└─ ",
      "   └─ ",
      "      ├─ ",
      "      ├─ ",
      "      └─ ",
      "         └─ ",
      "            └─ ",
    ])
  })

  it("shows an event whose cause is outside the chain as a root, and counts it", () => {
    const orphan = traced(
      "MESH_CUSTOMER",
      { eventId: "e-late", type: "TicketResolved", causationId: "elsewhere" },
      30,
    )
    const trace = buildCausalTrace("req-1", [...chain, orphan])
    expect(trace.causesOutside).toBe(1)
    expect(trace.roots.map((r) => r.event.eventId)).toEqual(["e-req", "e-late"])
    expect(renderTraceTree(trace).at(-1)).toBe(
      "1 events name a cause outside this chain; they are shown as roots",
    )
  })

  it("survives causes that go round in a circle, and events read twice", () => {
    const a = traced("MESH_CUSTOMER", { eventId: "a", type: "X", causationId: "b" }, 1)
    const b = traced("MESH_CUSTOMER", { eventId: "b", type: "Y", causationId: "a" }, 2)
    const trace = buildCausalTrace("req-1", [a, b, a])
    expect(trace.events).toBe(2)
    expect(trace.roots.map((r) => r.event.eventId)).toEqual(["a"])
    expect(trace.roots[0]?.children.map((c) => c.event.eventId)).toEqual(["b"])
  })

  it("draws the chain as a mermaid sequence diagram between its writers", () => {
    const lines = renderTraceMermaid(buildCausalTrace("req-1", chain))
    expect(lines.slice(0, 5)).toEqual([
      "sequenceDiagram",
      "  title trace req-1",
      "  participant p1 as outside",
      "  participant p2 as agent customer-ops",
      "  participant p3 as human owner",
    ])
    expect(lines).toContain("  p1->>p2: +0 ms RequestReceived req-1")
    expect(lines).toContain("  p2->>p3: +500 ms ActionApproved refund-tk-1-m1")
    expect(lines).toContain("  p3->>p2: +520 ms ActionSucceeded refund-tk-1-m1")
  })

  it("is empty for no events", () => {
    expect(buildCausalTrace("nothing", [])).toMatchObject({ events: 0, startedAt: null, roots: [] })
  })
})
