import type { EventEnvelope } from "@mesh/contracts"

// The causal tree of one chain: every event that carries its correlation id, from every stream of
// the namespace, hung under the event (or recorded outside request) that caused it. Pure: the
// handler reads the streams, this builds and renders, so the same events always print the same tree.

/** An event as read from its stream. */
export interface TracedEvent {
  readonly stream: string
  readonly sequence: number
  /** Its place in its commit (a commit holds one or more events). */
  readonly index: number
  readonly event: EventEnvelope
}

/** One event of the tree, with what it caused. */
export interface TraceNode {
  readonly stream: string
  readonly sequence: number
  readonly event: EventEnvelope
  /** Who wrote it: the actor's kind and id (`agent:customer-ops`, `human:owner`). */
  readonly by: string
  /** Milliseconds from the chain's first event. */
  readonly atMs: number
  /** Milliseconds from the event that caused it; null for a root. */
  readonly afterCauseMs: number | null
  /** What it says, in one line: the decision's skill and inputs, the policy's verdict, the action's outcome. */
  readonly detail: string
  readonly children: ReadonlyArray<TraceNode>
}

/** A chain's causal tree. */
export interface CausalTrace {
  readonly correlationId: string
  readonly events: number
  /** The first event's time; null for an empty trace. */
  readonly startedAt: string | null
  /** From the first event to the last. */
  readonly durationMs: number
  /** Who wrote events in it, in order of first appearance. */
  readonly writers: ReadonlyArray<string>
  /** Events by stream. */
  readonly streams: Readonly<Record<string, number>>
  /**
   * Events whose cause names an event this trace does not hold: caused from another chain, or
   * written before the log kept causes. They are shown as roots.
   */
  readonly causesOutside: number
  readonly roots: ReadonlyArray<TraceNode>
}

const byOf = (e: EventEnvelope): string => `${e.actor.kind}:${e.actor.id}`

const fieldOf = (payload: unknown, ...path: ReadonlyArray<string>): unknown => {
  let value: unknown = payload
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

const text = (value: unknown): string =>
  value === undefined || value === null ? "-" : typeof value === "string" ? value : JSON.stringify(value)

const clip = (value: string, max = 120): string =>
  value.length <= max ? value : `${value.slice(0, max - 1)}…`

/** What an event says, in one line. */
export const describeEvent = (e: EventEnvelope): string => {
  const p = e.payload
  const f = (...path: ReadonlyArray<string>) => fieldOf(p, ...path)
  switch (e.type) {
    case "RequestReceived":
      return `${text(f("name"))} via ${text(f("origin"))}`
    case "DecisionRecorded": {
      const retrieved = (f("retrieved") as ReadonlyArray<{ memoryId: string }> | undefined) ?? []
      const output = f("output")
      const shown = fieldOf(output, "text") ?? output
      return clip(
        `${text(f("skill"))} v${text(f("skillVersion"))} prompt ${text(f("promptVersion"))} by ${text(f("provider"))}/${text(f("model"))}, ${text(f("outcome"))}; retrieved ${retrieved.length === 0 ? "nothing" : retrieved.map((r) => r.memoryId).join(", ")}; output ${clip(text(shown), 80)}; ${text(f("latencyMs"))} ms, $${Number(f("costUsd") ?? 0).toFixed(5)}`,
        320,
      )
    }
    case "ActionRequested":
      return `${text(f("kind"))} ${text(f("actionId"))}: policy ${text(f("policy", "workflow"))} v${text(f("policy", "version"))} says ${text(f("policy", "verdict", "mode"))} (${text(f("policy", "verdict", "rule"))}: ${clip(text(f("policy", "verdict", "reason")), 100)})`
    case "ActionApproved":
    case "ActionApprovalRefused":
    case "ActionRejected":
      return `by ${byOf(e)}${f("reason") === undefined ? "" : `: ${clip(text(f("reason")), 100)}`}`
    case "ActionSucceeded":
      return `external ref ${text(f("externalRef"))}`
    case "ActionFailed":
    case "ActionParked":
    case "ActionDenied":
      return clip(text(f("reason")), 160)
    case "ActionAwaitingApproval":
      return clip(`waits for a person: ${text(f("reason"))}`, 160)
    case "ActionAttemptStarted":
      return `${text(f("phase"))} attempt ${text(f("attempt"))} (${text(f("trigger"))})`
    case "TicketOpened":
      return clip(`${text(f("channel"))} from ${text(f("customerId"))}: "${text(f("subject"))}"`, 140)
    case "TicketMessageReceived":
      return clip(`contact ${text(f("contact"))}: "${text(f("subject"))}"`, 140)
    case "ReplyDrafted": {
      const cited = (f("citedFactIds") as ReadonlyArray<string> | undefined) ?? []
      return `${text(f("draftId"))} cites ${cited.length === 0 ? "nothing" : cited.join(", ")}`
    }
    case "ReplySent":
      return `${text(f("draftId"))} through ${text(f("actionId"))}`
    case "TicketEscalated":
      return clip(`to ${text(f("queue"))}: ${text(f("reason"))}`, 160)
    case "OrderPlaced": {
      const lines = (f("lines") as ReadonlyArray<{ sku: string; quantity: number }> | undefined) ?? []
      return `order ${text(f("orderId"))}: ${lines.map((l) => `${l.quantity} × ${l.sku}`).join(", ")}`
    }
    case "OrderStatusChanged":
      return `${text(f("status"))}`
    case "OrderStockReserved":
    case "OrderStockBackordered":
    case "OrderStockShipped":
    case "OrderStockReturned":
      return `${text(f("sku"))} × ${text(f("quantity"))}`
    case "TicketTriaged":
      return `${text(f("intent"))}, ${text(f("sentiment"))}, confidence ${text(f("confidence"))}${f("abstention") ? `, declined: ${text(f("abstention"))}` : ""}`
    case "ReplyRouted": {
      const reasons = (f("reasons") as ReadonlyArray<{ code: string }> | undefined) ?? []
      return `${text(f("disposition"))} by ${text(f("policy"))}${reasons.length === 0 ? "" : ` (${reasons.map((r) => r.code).join(", ")})`}`
    }
    case "GuardrailTripped":
      return `${text(f("guardrail"))} → ${text(f("action"))}: ${clip(text(f("reason")), 100)}`
    case "RegisterChanged":
      return `${text(f("register"))}/${text(f("id"))} at ${text(f("site"))} v${text(f("version"))}`
    default:
      return clip(JSON.stringify(p), 140)
  }
}

const atOf = (e: EventEnvelope): number => Date.parse(e.occurredAt)

/** Log order across streams: time, then stream, sequence and place in the commit, so ties never reorder. */
const compareTraced = (a: TracedEvent, b: TracedEvent): number =>
  atOf(a.event) - atOf(b.event) ||
  (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0) ||
  a.sequence - b.sequence ||
  a.index - b.index

/**
 * Builds the causal tree of the events of one correlation id: each event under the event whose id
 * its causation names, or under the recorded outside request whose request id it names; the rest
 * are roots. Children are in log order. An event met twice (a stream read twice) counts once.
 */
export const buildCausalTrace = (correlationId: string, traced: ReadonlyArray<TracedEvent>): CausalTrace => {
  const seen = new Set<string>()
  const events = [...traced].sort(compareTraced).filter((t) => {
    if (seen.has(t.event.eventId)) return false
    seen.add(t.event.eventId)
    return true
  })
  const byId = new Map<string, TracedEvent>()
  for (const t of events) {
    byId.set(t.event.eventId, t)
    const requestId = t.event.type === "RequestReceived" ? fieldOf(t.event.payload, "requestId") : undefined
    if (typeof requestId === "string" && !byId.has(requestId)) byId.set(requestId, t)
  }
  const start = events.length === 0 ? 0 : atOf(events[0]!.event)
  const childrenOf = new Map<string, Array<TracedEvent>>()
  const roots: Array<TracedEvent> = []
  let causesOutside = 0
  for (const t of events) {
    const cause = t.event.causationId === null ? undefined : byId.get(t.event.causationId)
    if (cause === undefined || cause.event.eventId === t.event.eventId) {
      if (t.event.causationId !== null) causesOutside += 1
      roots.push(t)
    } else {
      const siblings = childrenOf.get(cause.event.eventId) ?? []
      siblings.push(t)
      childrenOf.set(cause.event.eventId, siblings)
    }
  }
  // A cycle of causes (a corrupt log) would leave events unreached: they become roots, once.
  const placed = new Set<string>()
  const nodeOf = (t: TracedEvent, cause: TracedEvent | undefined): TraceNode => {
    placed.add(t.event.eventId)
    const children = (childrenOf.get(t.event.eventId) ?? [])
      .filter((c) => !placed.has(c.event.eventId))
      .map((c) => nodeOf(c, t))
    return {
      stream: t.stream,
      sequence: t.sequence,
      event: t.event,
      by: byOf(t.event),
      atMs: atOf(t.event) - start,
      afterCauseMs: cause === undefined ? null : atOf(t.event) - atOf(cause.event),
      detail: describeEvent(t.event),
      children,
    }
  }
  const rootNodes = roots.map((t) => nodeOf(t, undefined))
  for (const t of events) if (!placed.has(t.event.eventId)) rootNodes.push(nodeOf(t, undefined))
  const writers: Array<string> = []
  const streams: Record<string, number> = {}
  for (const t of events) {
    const by = byOf(t.event)
    if (!writers.includes(by)) writers.push(by)
    streams[t.stream] = (streams[t.stream] ?? 0) + 1
  }
  return {
    correlationId,
    events: events.length,
    startedAt: events[0]?.event.occurredAt ?? null,
    durationMs: events.length === 0 ? 0 : atOf(events[events.length - 1]!.event) - start,
    writers,
    streams,
    causesOutside,
    roots: rootNodes,
  }
}

const walk = (
  nodes: ReadonlyArray<TraceNode>,
  visit: (node: TraceNode, parent: TraceNode | undefined) => void,
) => {
  const go = (node: TraceNode, parent: TraceNode | undefined) => {
    visit(node, parent)
    for (const child of node.children) go(child, node)
  }
  for (const root of nodes) go(root, undefined)
}

/** The tree as a terminal prints it: one line per event, its time from the chain's start, its stream and writer. */
export const renderTraceTree = (trace: CausalTrace): ReadonlyArray<string> => {
  const lines = [
    `trace ${trace.correlationId}: ${trace.events} events from ${trace.writers.join(", ") || "nobody"} in ${trace.durationMs} ms, since ${trace.startedAt ?? "-"}`,
  ]
  const line = (node: TraceNode, prefix: string, last: boolean) => {
    const e = node.event
    const after = node.afterCauseMs === null ? "" : ` (+${node.afterCauseMs} ms)`
    lines.push(
      `${prefix}${last ? "└─ " : "├─ "}+${node.atMs} ms${after} ${e.type} ${e.aggregateType}/${e.aggregateId} by ${node.by} [${node.stream}#${node.sequence}] ${node.detail}`,
    )
    node.children.forEach((child, i) => {
      line(child, `${prefix}${last ? "   " : "│  "}`, i === node.children.length - 1)
    })
  }
  trace.roots.forEach((root, i) => {
    line(root, "", i === trace.roots.length - 1)
  })
  if (trace.causesOutside > 0)
    lines.push(`${trace.causesOutside} events name a cause outside this chain; they are shown as roots`)
  return lines
}

// Mermaid's sequence diagrams break on these in labels and participant names.
const mermaidSafe = (value: string): string => value.replace(/[;#:<>{}"`]/g, " ").replace(/\s+/g, " ")

/**
 * The chain as a mermaid sequence diagram: a participant per writer (and `outside` for requests),
 * an arrow per event from its cause's writer to its own, labelled with its time and type.
 */
export const renderTraceMermaid = (trace: CausalTrace): ReadonlyArray<string> => {
  const alias = new Map<string, string>()
  const participantOf = (by: string) => {
    let name = alias.get(by)
    if (name === undefined) {
      name = `p${alias.size + 1}`
      alias.set(by, name)
    }
    return name
  }
  const arrows: Array<string> = []
  walk(trace.roots, (node, parent) => {
    const from = participantOf(parent === undefined ? "outside" : parent.by)
    const to = participantOf(node.by)
    arrows.push(
      `  ${from}->>${to}: +${node.atMs} ms ${mermaidSafe(node.event.type)} ${mermaidSafe(node.event.aggregateId)}`,
    )
  })
  return [
    "sequenceDiagram",
    `  title ${mermaidSafe(`trace ${trace.correlationId}`)}`,
    ...[...alias].map(([by, name]) => `  participant ${name} as ${mermaidSafe(by)}`),
    ...arrows,
  ]
}
