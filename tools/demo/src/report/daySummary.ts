import type { EventEnvelope } from "@mesh/contracts"
import type { LedgerEntry } from "@mesh/simulators"
import type { WatchedEvent } from "../play/logWatch.ts"

/** p50, p95 and p99 of a set of durations, in milliseconds. */
export interface Percentiles {
  readonly p50: number
  readonly p95: number
  readonly p99: number
}

/** The source design's metrics for one workflow (the actions of one kind), computed from the log. */
export interface WorkflowMetrics {
  readonly workflow: string
  readonly requested: number
  readonly succeeded: number
  /** Ended without the effect: failed for good, denied by policy, rejected by a person, expired. */
  readonly notDone: number
  /** Still waiting for a person. */
  readonly waiting: number
  /** Succeeded of those that reached an end (waiting ones left out); null when none did. */
  readonly successRate: number | null
  /** Share of requests that waited for a person. */
  readonly interventionRate: number | null
  /** From request to success, the time spent waiting for a person left out. */
  readonly latencyMs: Percentiles | null
  /** Model cost of the decisions of each executed action's chain, split among the chain's executed actions. */
  readonly costPerExecutedActionUsd: number | null
  /** Mean time from an action's first failed attempt to its success, for actions that recovered. */
  readonly meanTimeToRepairMs: number | null
  readonly recoveredFromFailure: number
}

/** An action waiting in the approvals queue, with what approving it takes. */
export interface WaitingApproval {
  readonly agent: string
  readonly actionId: string
  readonly kind: string
  readonly parametersHash: string
  readonly reason: string
}

/** What became of one customer message: its triage, the facts its draft cited, and the reply policy's disposition. */
export interface MessageOutcome {
  readonly intent: string
  readonly sentiment: string
  /** Records and articles the draft cited (an order, a restock date, an approved article). */
  readonly factsCited: number
  readonly disposition: string
  /** The reply policy's reason codes for it (`repeat-contact`, `no-facts`, `sentiment`, …), sorted. */
  readonly reasons: ReadonlyArray<string>
  /**
   * The prompt hashes of its triage and draft decisions: what the models were given (the message,
   * the customer's contacts and order value, the records and articles to cite). Two runs that gave
   * a message the same inputs must give it the same outcome.
   */
  readonly inputs: string
}

/** A check the whole day must pass, with what it found. */
export interface DayCheck {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

/** The day as a shop owner reads it: tickets, the shop's work, the metrics per workflow and the checks. */
export interface DaySummary {
  readonly events: number
  readonly tickets: {
    readonly opened: number
    readonly messages: number
    readonly autoReplied: number
    readonly repliedOwnerTold: number
    readonly awaitingApproval: number
    readonly escalated: number
    readonly escalationReasons: Readonly<Record<string, number>>
    /** Messages not triaged and routed yet. */
    readonly waiting: number
    readonly byIntent: Readonly<Record<string, number>>
    readonly guardrailsTripped: number
    /**
     * Drafts that told a customer how a product stands in stock from procurement's registers: a
     * product asked about (in stock, or when new stock is due), or a back-ordered line of their order.
     */
    readonly stockTold: number
  }
  readonly shop: {
    readonly ordersPlaced: number
    readonly linesReserved: number
    readonly linesBackordered: number
    readonly refundsIssued: number
    readonly refundsRejected: number
    readonly listingsPublished: number
    readonly listingsMarkedOutOfStock: number
    readonly listingsBackInStock: number
    readonly purchaseOrdersPlaced: number
    readonly purchaseOrdersLate: number
    readonly deliveriesReceived: number
    readonly delayNoticesSent: number
    readonly articlesProposed: number
    readonly conflictsResolved: number
    readonly invariantViolations: number
  }
  /** Each customer message's triage and the reply policy's outcome, by message id. */
  readonly outcomes: Readonly<Record<string, MessageOutcome>>
  readonly approvalsWaiting: ReadonlyArray<WaitingApproval>
  /**
   * A chain worth a look with `mesh trace`: the first whose action waited for a person (a message's
   * reply, a refund, a purchase order), else the first message's; null for an empty day.
   */
  readonly traceExample: string | null
  readonly workflows: ReadonlyArray<WorkflowMetrics>
  /**
   * Hops between agents: an event of one agent caused by another agent's event, from the cause's
   * time to the caused event's (delivery, the reaction's reads and decision, its append).
   */
  readonly hops: {
    readonly count: number
    readonly latencyMs: Percentiles | null
    /**
     * The mesh's own part of each hop: its time less the model time of the decisions the reaction
     * recorded before the caused event and of an embedding call the caused event records (a
     * model's inference is the model's, not the mesh's).
     */
    readonly overheadMs: Percentiles | null
    readonly byPair: Readonly<
      Record<
        string,
        {
          readonly count: number
          readonly latencyMs: Percentiles | null
          readonly overheadMs: Percentiles | null
        }
      >
    >
  }
  readonly checks: ReadonlyArray<DayCheck>
}

/** What each action kind is, in the shop owner's words. */
const workflowNames: Readonly<Record<string, string>> = {
  "mailbox.send-message": "customer messages sent",
  "payment.refund": "refunds",
  "storefront.publish-listing": "listings published",
  "storefront.set-availability": "listing stock status",
  "supplier.place-order": "purchase orders",
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number

/** p50, p95 and p99 of durations (null when there are none). */
export const percentiles = (values: ReadonlyArray<number>): Percentiles | null => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) }
}

/** Adds a value to its key's list (in place: a day's log holds thousands of events of one type). */
const append = <K, V>(lists: Map<K, Array<V>>, key: K, value: V) => {
  const list = lists.get(key)
  if (list === undefined) lists.set(key, [value])
  else list.push(value)
}

const at = (e: EventEnvelope) => Date.parse(e.occurredAt)
const bump = (counts: Record<string, number>, key: string, by = 1) => {
  counts[key] = (counts[key] ?? 0) + by
}

interface ActionTrack {
  readonly requested: EventEnvelope
  awaitingAt: number | null
  decidedAt: number | null
  approvers: Array<string>
  firstFailureAt: number | null
  succeededAt: number | null
  ended: "succeeded" | "not-done" | null
  awaiting: { parametersHash: string; reason: string } | null
}

/**
 * Folds the day's log (every stream) and the simulators' ledgers into the summary. Pure: two runs
 * of one recorded day give one summary.
 */
export const summarizeDay = (
  watched: ReadonlyArray<WatchedEvent>,
  ledger: ReadonlyArray<LedgerEntry>,
  /** Each SKU's units on the shelf when the day opened. */
  openingStock: ReadonlyMap<string, number>,
): DaySummary => {
  const events = watched.map((w) => w.event)
  const byType = new Map<string, Array<EventEnvelope>>()
  for (const e of events) append(byType, e.type, e)
  const ofType = (type: string) => byType.get(type) ?? []
  const payload = <P>(e: EventEnvelope) => e.payload as P

  // Tickets: how each message was routed, and why.
  const routed = new Map<string, string>()
  const reasonsOf = new Map<string, ReadonlyArray<string>>()
  for (const e of ofType("ReplyRouted")) {
    const p = payload<{ draftId: string; disposition: string; reasons: ReadonlyArray<{ code: string }> }>(e)
    routed.set(p.draftId, p.disposition)
    reasonsOf.set(p.draftId, p.reasons.map((r) => r.code).sort())
  }
  const dispositions: Record<string, number> = {}
  for (const disposition of routed.values()) bump(dispositions, disposition)
  const escalationReasons: Record<string, number> = {}
  const escalatedMessages = new Set<string>()
  for (const e of ofType("TicketEscalated")) {
    const p = payload<{ reason: string; reasons?: ReadonlyArray<string>; messageId?: string }>(e)
    escalatedMessages.add(`${e.aggregateId}/${p.messageId ?? e.eventId}`)
    for (const reason of p.reasons ?? [p.reason]) bump(escalationReasons, reason)
  }
  const byIntent: Record<string, number> = {}
  for (const e of ofType("TicketTriaged")) bump(byIntent, payload<{ intent: string }>(e).intent)
  const messages = ofType("TicketOpened").length + ofType("TicketMessageReceived").length
  const handled = new Set<string>([
    ...ofType("TicketTriaged").map(
      (e) => `${e.aggregateId}/${payload<{ messageId?: string }>(e).messageId ?? e.eventId}`,
    ),
  ])

  // Per message: its triage and the reply policy's outcome.
  const promptOf = new Map<string, string>()
  for (const e of ofType("DecisionRecorded")) {
    const p = payload<{ decisionId: string; promptHash: string }>(e)
    promptOf.set(p.decisionId, p.promptHash)
  }
  const draftOf = new Map<string, { draftId: string; cited: number; decisionId: string }>()
  let stockTold = 0
  for (const e of ofType("ReplyDrafted")) {
    const p = payload<{
      draftId: string
      decisionId: string
      messageId?: string
      citedFactIds?: ReadonlyArray<string>
    }>(e)
    if (p.citedFactIds?.some((id) => id.startsWith("stock-") || id.startsWith("restock-"))) stockTold += 1
    if (p.messageId !== undefined)
      draftOf.set(p.messageId, {
        draftId: p.draftId,
        cited: p.citedFactIds?.length ?? 0,
        decisionId: p.decisionId,
      })
  }
  const outcomes: Record<string, MessageOutcome> = {}
  for (const e of ofType("TicketTriaged")) {
    const p = payload<{ intent: string; sentiment: string; decisionId: string; messageId?: string }>(e)
    if (p.messageId === undefined) continue
    const draft = draftOf.get(p.messageId)
    outcomes[p.messageId] = {
      intent: p.intent,
      sentiment: p.sentiment,
      factsCited: draft?.cited ?? 0,
      disposition: (draft === undefined ? undefined : routed.get(draft.draftId)) ?? "not-drafted",
      reasons: (draft === undefined ? undefined : reasonsOf.get(draft.draftId)) ?? [],
      inputs: `${promptOf.get(p.decisionId) ?? "-"}/${(draft === undefined ? undefined : promptOf.get(draft.decisionId)) ?? "-"}`,
    }
  }

  // Actions: one track each, in log order.
  const actions = new Map<string, ActionTrack>()
  for (const e of ofType("ActionRequested")) {
    const p = payload<{ kind: string }>(e)
    if (p.kind === undefined) continue
    actions.set(e.aggregateId, {
      requested: e,
      awaitingAt: null,
      decidedAt: null,
      approvers: [],
      firstFailureAt: null,
      succeededAt: null,
      ended: null,
      awaiting: null,
    })
  }
  for (const { event: e } of watched) {
    const track = actions.get(e.aggregateId)
    if (track === undefined || e.aggregateType !== track.requested.aggregateType) continue
    switch (e.type) {
      case "ActionAwaitingApproval": {
        const p = payload<{ parametersHash: string; reason: string }>(e)
        track.awaitingAt = at(e)
        track.awaiting = { parametersHash: p.parametersHash, reason: p.reason }
        break
      }
      case "ActionApproved":
        track.decidedAt = at(e)
        track.approvers.push(payload<{ approver: string }>(e).approver)
        break
      case "ActionFailed":
        track.firstFailureAt ??= at(e)
        if (payload<{ next: string }>(e).next === "fail") track.ended = "not-done"
        break
      case "ActionSucceeded":
        track.succeededAt = at(e)
        track.ended = "succeeded"
        break
      case "ActionDenied":
      case "ActionExpired":
        track.ended = "not-done"
        break
      case "ActionRejected":
        track.decidedAt = at(e)
        track.ended = "not-done"
        break
      case "ActionParked":
        track.ended ??= "not-done"
        break
    }
  }

  // Model cost per chain, split among the chain's executed actions.
  const chainCost = new Map<string, number>()
  for (const e of ofType("DecisionRecorded"))
    chainCost.set(
      e.correlationId,
      (chainCost.get(e.correlationId) ?? 0) + (payload<{ costUsd?: number }>(e).costUsd ?? 0),
    )
  const executedInChain = new Map<string, number>()
  for (const track of actions.values())
    if (track.ended === "succeeded")
      executedInChain.set(
        track.requested.correlationId,
        (executedInChain.get(track.requested.correlationId) ?? 0) + 1,
      )

  const byWorkflow = new Map<string, Array<ActionTrack>>()
  for (const track of actions.values()) {
    const kind = payload<{ kind: string }>(track.requested).kind
    const name = workflowNames[kind] ?? kind
    append(byWorkflow, name, track)
  }
  const workflows: Array<WorkflowMetrics> = [...byWorkflow.entries()]
    .map(([workflow, tracks]) => {
      const succeeded = tracks.filter((t) => t.ended === "succeeded")
      const notDone = tracks.filter((t) => t.ended === "not-done").length
      const waiting = tracks.filter(
        (t) => t.ended === null && t.awaitingAt !== null && t.decidedAt === null,
      ).length
      const ended = succeeded.length + notDone
      const latencies = succeeded.map((t) => {
        const total = (t.succeededAt as number) - at(t.requested)
        const humanWait = t.awaitingAt !== null && t.decidedAt !== null ? t.decidedAt - t.awaitingAt : 0
        return Math.max(0, total - humanWait)
      })
      const costs = succeeded.map(
        (t) =>
          (chainCost.get(t.requested.correlationId) ?? 0) /
          (executedInChain.get(t.requested.correlationId) ?? 1),
      )
      const repaired = succeeded.filter((t) => t.firstFailureAt !== null)
      return {
        workflow,
        requested: tracks.length,
        succeeded: succeeded.length,
        notDone,
        waiting,
        successRate: ended === 0 ? null : succeeded.length / ended,
        interventionRate:
          tracks.length === 0 ? null : tracks.filter((t) => t.awaitingAt !== null).length / tracks.length,
        latencyMs: percentiles(latencies),
        costPerExecutedActionUsd: costs.length === 0 ? null : costs.reduce((a, b) => a + b, 0) / costs.length,
        meanTimeToRepairMs:
          repaired.length === 0
            ? null
            : repaired.reduce(
                (sum, t) => sum + ((t.succeededAt as number) - (t.firstFailureAt as number)),
                0,
              ) / repaired.length,
        recoveredFromFailure: repaired.length,
      }
    })
    .sort((a, b) => b.requested - a.requested)

  const approvalsWaiting: Array<WaitingApproval> = [...actions.values()]
    .filter((t) => t.ended === null && t.awaiting !== null && t.decidedAt === null)
    .map((t) => {
      const p = payload<{ agent: string; actionId: string; kind: string }>(t.requested)
      return {
        agent: p.agent,
        actionId: p.actionId,
        kind: p.kind,
        parametersHash: t.awaiting?.parametersHash ?? "",
        reason: t.awaiting?.reason ?? "",
      }
    })

  // The day's checks.
  const checks: Array<DayCheck> = []
  const keys = new Map<string, number>()
  for (const entry of ledger) {
    // Effects the world made itself (a shopper's order) carry the announcing event's id, not a key.
    if (entry.system === "storefront" && entry.operation.startsWith("order.")) continue
    const key = `${entry.system} ${entry.operation} ${entry.key}`
    keys.set(key, (keys.get(key) ?? 0) + 1)
  }
  const twice = [...keys.entries()].filter(([, n]) => n > 1)
  checks.push({
    name: "one external effect per idempotency key",
    ok: twice.length === 0,
    detail:
      twice.length === 0
        ? `${keys.size} keys in the simulators' ledgers`
        : `applied more than once: ${twice
            .slice(0, 3)
            .map(([k]) => k)
            .join("; ")}`,
  })
  const refunds = ledger.filter((e) => e.operation === "refund.created")
  const refundActions = [...actions.values()].filter(
    (t) => payload<{ kind: string }>(t.requested).kind === "payment.refund",
  )
  const unapproved = refundActions.filter((t) => t.ended === "succeeded" && t.approvers.length === 0)
  checks.push({
    name: "no refund without a person's approval",
    ok:
      unapproved.length === 0 && refunds.length <= refundActions.filter((t) => t.approvers.length > 0).length,
    detail: `${refunds.length} refunds paid, each approved by ${[...new Set(refundActions.flatMap((t) => t.approvers))].join(", ") || "no one"}`,
  })
  const traced = [...actions.values()].filter((t) => {
    const p = payload<{
      policy?: { verdict?: unknown }
      cause?: { decisionId: string | null; eventId: string | null }
    }>(t.requested)
    return p.policy?.verdict !== undefined && (p.cause?.decisionId !== null || p.cause?.eventId !== null)
  })
  const decisionIds = new Set(
    ofType("DecisionRecorded").map((e) => payload<{ decisionId?: string }>(e).decisionId ?? e.aggregateId),
  )
  const eventIds = new Set(events.map((e) => e.eventId))
  const dangling = traced.filter((t) => {
    const cause = payload<{ cause: { decisionId: string | null; eventId: string | null } }>(t.requested).cause
    return (
      (cause.decisionId !== null && !decisionIds.has(cause.decisionId)) ||
      (cause.eventId !== null && !eventIds.has(cause.eventId))
    )
  })
  checks.push({
    name: "every action traces to its decision and policy verdict",
    ok: traced.length === actions.size && dangling.length === 0,
    detail: `${actions.size} actions, ${actions.size - traced.length} without a cause or verdict, ${dangling.length} whose cause is not in the log`,
  })
  // Each message handled once, each decision made once, whatever was redelivered or restarted.
  const timesEach = (items: ReadonlyArray<string>) => {
    const counts = new Map<string, number>()
    for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1)
    return [...counts.entries()].filter(([, n]) => n > 1).map(([item]) => item)
  }
  const triagedTwice = timesEach(
    ofType("TicketTriaged").map(
      (e) => `${e.aggregateId}/${payload<{ messageId?: string }>(e).messageId ?? e.eventId}`,
    ),
  )
  const routedTwice = timesEach(ofType("ReplyRouted").map((e) => payload<{ draftId: string }>(e).draftId))
  const decidedTwice = timesEach(
    ofType("DecisionRecorded").map((e) => payload<{ decisionId?: string }>(e).decisionId ?? e.aggregateId),
  )
  // Once, and not never: a message the mesh gave up on (dead-lettered) was not handled at all.
  const received = [
    ...ofType("TicketOpened").map(
      (e) => `${e.aggregateId}/${payload<{ messageId?: string }>(e).messageId ?? "first"}`,
    ),
    ...ofType("TicketMessageReceived").map(
      (e) => `${e.aggregateId}/${payload<{ messageId: string }>(e).messageId}`,
    ),
  ]
  const untriaged = received.filter((key) => !handled.has(key))
  const neverTriaged = untriaged.length
  const handledTwice = triagedTwice.length + routedTwice.length + decidedTwice.length
  checks.push({
    name: "each message handled once",
    ok: handledTwice === 0 && neverTriaged === 0,
    detail:
      handledTwice === 0 && neverTriaged === 0
        ? `${ofType("TicketTriaged").length} messages triaged once, ${ofType("ReplyRouted").length} replies routed once, ${ofType("DecisionRecorded").length} decisions recorded once`
        : [
            ...(neverTriaged === 0
              ? []
              : [
                  `${neverTriaged} of ${messages} messages never triaged (${untriaged.slice(0, 3).join(", ")}; a dead letter? \`mesh dead-letters\`)`,
                ]),
            ...(handledTwice === 0
              ? []
              : [
                  `triaged twice: ${triagedTwice.slice(0, 3).join(", ")}; routed twice: ${routedTwice.slice(0, 3).join(", ")}; decided twice: ${decidedTwice.slice(0, 3).join(", ")}`,
                ]),
          ].join("; "),
  })
  // The causal tree: every causation names an event or a recorded outside request of this log.
  const requestIds = new Set(
    ofType("RequestReceived").map((e) => payload<{ requestId: string }>(e).requestId),
  )
  const orphans = events.filter(
    (e) => e.causationId !== null && !eventIds.has(e.causationId) && !requestIds.has(e.causationId),
  )
  checks.push({
    name: "every causation resolves in the log",
    ok: orphans.length === 0,
    detail:
      orphans.length === 0
        ? `${events.filter((e) => e.causationId !== null).length} caused events, ${requestIds.size} outside requests at their roots`
        : `${orphans.length} name nothing in the log, such as ${orphans[0]?.type} ${orphans[0]?.eventId} caused by ${orphans[0]?.causationId}`,
  })
  // No SKU shipped more than it had: opening stock, deliveries and returns.
  const units = new Map<string, number>(openingStock)
  const add = (sku: string, by: number) => units.set(sku, (units.get(sku) ?? 0) + by)
  for (const e of ofType("PurchaseOrderReceived"))
    add(payload<{ sku: string }>(e).sku, payload<{ quantity: number }>(e).quantity)
  for (const e of ofType("OrderStockReturned"))
    add(payload<{ sku: string }>(e).sku, payload<{ quantity: number }>(e).quantity)
  for (const e of ofType("OrderStockShipped"))
    add(payload<{ sku: string }>(e).sku, -payload<{ quantity: number }>(e).quantity)
  const oversold = [...units.entries()].filter(([, n]) => n < 0)
  const unreserved = ofType("OrderStockShipped").filter(
    (e) => payload<{ unreserved?: boolean }>(e).unreserved === true,
  )
  checks.push({
    name: "no stock oversold",
    ok: oversold.length === 0 && unreserved.length === 0,
    detail:
      oversold.length === 0 && unreserved.length === 0
        ? `${ofType("OrderStockShipped").length} lines shipped across ${units.size} SKUs, none beyond the units there were`
        : `oversold: ${oversold.map(([sku, n]) => `${sku} by ${-n}`).join(", ")}; shipped unreserved: ${unreserved.length}`,
  })
  const unresolved = ofType("InvariantViolated").filter(
    (e) => payload<{ resolution?: { _tag?: string } }>(e).resolution?._tag === "Escalate",
  )
  checks.push({
    name: "every declared invariant holds or its violation was resolved",
    ok: true,
    detail: `${ofType("InvariantViolated").length} violations recorded, each with the resolution its owner declared${unresolved.length > 0 ? ` (${unresolved.length} put to a person)` : ""}`,
  })

  // Hops between agents, by the pair of agents. An event's agent is its business domain's owner; on
  // a platform stream (actions, decisions, requests) the aggregate type names the agent; a
  // register's change is its writer's.
  const owners: Readonly<Record<string, string>> = {
    customer: "customer-ops",
    procurement: "procurement",
    content: "content-ops",
  }
  const agentOf = (w: WatchedEvent): string =>
    owners[w.domain] ?? (w.domain === "registers" ? w.event.actor.id : w.event.aggregateType)
  const byId = new Map(watched.map((w) => [w.event.eventId, w]))
  // The decisions each event caused: the model time a reaction spent before its next event.
  const decisionsByCause = new Map<
    string,
    Array<{ readonly at: number; readonly call: string; readonly ms: number }>
  >()
  for (const d of ofType("DecisionRecorded")) {
    if (d.causationId === null) continue
    const decided = payload<{
      readonly decisionId: string
      readonly latencyMs: number
      readonly batch?: { readonly id: string }
    }>(d)
    append(decisionsByCause, d.causationId, {
      at: at(d),
      // A batch's decisions share one model call, and each records the whole call's time.
      call: decided.batch?.id ?? decided.decisionId,
      ms: decided.latencyMs,
    })
  }
  const modelMsBefore = (causeId: string, until: number) => {
    const calls = new Map<string, number>()
    for (const d of decisionsByCause.get(causeId) ?? []) if (d.at <= until) calls.set(d.call, d.ms)
    let total = 0
    for (const ms of calls.values()) total += ms
    return total
  }
  const hopTimes: Array<number> = []
  const hopOverheads: Array<number> = []
  const pairTimes = new Map<string, Array<number>>()
  const pairOverheads = new Map<string, Array<number>>()
  for (const w of watched) {
    const cause = w.event.causationId === null ? undefined : byId.get(w.event.causationId)
    if (cause === undefined) continue
    const [from, to] = [agentOf(cause), agentOf(w)]
    if (from === to) continue
    const ms = at(w.event) - at(cause.event)
    // A reaction that embedded text records the call's time on the event it wrote (a noted
    // question's `embedding`): model time too.
    const embeddedMs = payload<{ embedding?: { latencyMs?: number } }>(w.event).embedding?.latencyMs ?? 0
    const overhead = Math.max(0, ms - modelMsBefore(cause.event.eventId, at(w.event)) - embeddedMs)
    hopTimes.push(ms)
    hopOverheads.push(overhead)
    const pair = `${from} → ${to}`
    append(pairTimes, pair, ms)
    append(pairOverheads, pair, overhead)
  }
  const delayNotices = ledger.filter(
    (e) => e.operation === "message.sent" && String(e.params.subject ?? "").includes("delayed"),
  )
  return {
    events: events.length,
    tickets: {
      opened: ofType("TicketOpened").length,
      messages,
      autoReplied: dispositions["auto-send"] ?? 0,
      repliedOwnerTold: dispositions["send-and-notify"] ?? 0,
      awaitingApproval: dispositions["await-approval"] ?? 0,
      escalated: escalatedMessages.size,
      escalationReasons,
      waiting: Math.max(0, messages - handled.size),
      byIntent,
      guardrailsTripped: ofType("GuardrailTripped").length,
      stockTold,
    },
    shop: {
      ordersPlaced: ofType("OrderPlaced").length,
      linesReserved: ofType("OrderStockReserved").length,
      linesBackordered: ofType("OrderStockBackordered").length,
      refundsIssued: ofType("RefundIssued").length,
      refundsRejected: ofType("RefundRejected").length,
      listingsPublished: ofType("ListingPublished").length,
      listingsMarkedOutOfStock: ofType("ListingMarkedOutOfStock").length,
      listingsBackInStock: ofType("ListingBackInStock").length,
      purchaseOrdersPlaced: ofType("PurchaseOrderPlaced").length,
      purchaseOrdersLate: ofType("PurchaseOrderLate").length,
      deliveriesReceived: ofType("PurchaseOrderReceived").length,
      delayNoticesSent: delayNotices.length,
      articlesProposed: ofType("KnowledgeArticleProposed").length,
      conflictsResolved:
        ofType("RegisterConflictResolved").length +
        ofType("RegisterChanged").filter(
          (e) => (e.payload as { change?: { _tag?: string } }).change?._tag === "Merge",
        ).length,
      invariantViolations: ofType("InvariantViolated").length,
    },
    outcomes,
    approvalsWaiting,
    traceExample:
      ofType("ActionAwaitingApproval")[0]?.correlationId ?? ofType("TicketOpened")[0]?.correlationId ?? null,
    workflows,
    hops: {
      count: hopTimes.length,
      latencyMs: percentiles(hopTimes),
      overheadMs: percentiles(hopOverheads),
      byPair: Object.fromEntries(
        [...pairTimes.entries()].map(([pair, times]) => [
          pair,
          {
            count: times.length,
            latencyMs: percentiles(times),
            overheadMs: percentiles(pairOverheads.get(pair) ?? []),
          },
        ]),
      ),
    },
    checks,
  }
}
