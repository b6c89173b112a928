import type { EventEnvelope } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import { buildCausalTrace, type TracedEvent } from "./causalTree.ts"
import { renderTraceHtml } from "./htmlTimeline.ts"

const at = (ms: number) => new Date(Date.UTC(2026, 11, 3, 9, 0, 0, ms)).toISOString()

const traced = (
  sequence: number,
  event: Pick<EventEnvelope, "eventId" | "type" | "causationId"> & Partial<EventEnvelope>,
  ms: number,
  actor: string,
): TracedEvent => ({
  stream: "MESH_CUSTOMER",
  sequence,
  index: 0,
  event: {
    schemaVersion: 1,
    aggregateType: "ticket",
    aggregateId: "tk-1",
    aggregateVersion: sequence,
    occurredAt: at(ms),
    correlationId: "req-1",
    actor: { kind: actor === "owner" ? "human" : "agent", id: actor },
    payload: {},
    ...event,
  },
})

// A request, the ticket it opened, and a reply whose subject a customer wrote with markup in it.
const trace = buildCausalTrace("req-1", [
  traced(
    1,
    { eventId: "e1", type: "RequestReceived", causationId: null, aggregateType: "customer-ops" },
    0,
    "owner",
  ),
  traced(2, { eventId: "e2", type: "TicketOpened", causationId: "e1" }, 100, "customer-ops"),
  traced(
    3,
    {
      eventId: "e3",
      type: "TicketTriaged",
      causationId: "e2",
      aggregateId: `tk-"1"<script>alert(1)</script>`,
    },
    400,
    "customer-ops",
  ),
])

describe("a trace as an HTML timeline", () => {
  const html = renderTraceHtml(trace)

  it("is one self-contained page with a row per event, in causal order", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(html).not.toMatch(/<script|<link|src=|href=/i)
    const rows = [...html.matchAll(/<tr title="/g)]
    expect(rows).toHaveLength(3)
    const order = [...html.matchAll(/<span class="type">(\w+)<\/span>/g)].map((m) => m[1])
    expect(order).toEqual(["RequestReceived", "TicketOpened", "TicketTriaged"])
    expect(html).toContain("3 events in 400 ms")
  })

  it("escapes whatever the events hold", () => {
    expect(html).toContain("tk-&quot;1&quot;&lt;script&gt;alert(1)&lt;/script&gt;")
    expect(html).not.toContain("<script>alert(1)</script>")
  })

  it("draws each bar from its cause's time to its own, on the chain's axis", () => {
    const bars = [...html.matchAll(/left:([\d.]+)%;width:([\d.]+)%/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ])
    // The request at 0 (a minimal mark), the ticket from 0 to 25%, the triage from 25% to 100%.
    expect(bars).toEqual([
      [0, 0.4],
      [0, 25],
      [25, 75],
    ])
  })
})
