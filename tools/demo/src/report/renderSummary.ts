import type { WorldTally } from "../play/player.ts"
import type { DaySummary, Percentiles, WorkflowMetrics } from "./daySummary.ts"

const bold = (s: string, tty: boolean) => (tty ? `\x1b[1m${s}\x1b[0m` : s)
const percent = (rate: number | null) => (rate === null ? "–" : `${Math.round(rate * 100)}%`)
const ms = (p: Percentiles | null) => (p === null ? "–" : `${p.p50} / ${p.p95} / ${p.p99} ms`)
const usd = (amount: number | null) => (amount === null ? "–" : `$${amount.toFixed(5)}`)
const seconds = (value: number | null) => (value === null ? "–" : `${(value / 1000).toFixed(1)} s`)
const list = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name.replaceAll("_", " ")} ${n}`)
    .join(", ")

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? []
  return rows.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  "),
  )
}

const workflowRows = (workflows: ReadonlyArray<WorkflowMetrics>) =>
  table([
    [
      "workflow",
      "asked",
      "done",
      "waiting",
      "success",
      "human",
      "latency p50/p95/p99",
      "cost/action",
      "MTTR",
    ],
    ...workflows.map((w) => [
      w.workflow,
      String(w.requested),
      String(w.succeeded),
      String(w.waiting),
      percent(w.successRate),
      percent(w.interventionRate),
      ms(w.latencyMs),
      usd(w.costPerExecutedActionUsd),
      w.recoveredFromFailure === 0 ? "–" : `${seconds(w.meanTimeToRepairMs)} (${w.recoveredFromFailure})`,
    ]),
  ])

/** The end-of-day summary, in a shop owner's words, with the commands for a second look. */
export const renderSummary = (options: {
  readonly summary: DaySummary
  readonly world: WorldTally
  readonly namespace: string
  readonly natsUrl: string
  readonly kept: boolean
  readonly dayMs: number
  readonly startMs: number
  readonly tty: boolean
}): string => {
  const { summary: s, world: w, tty } = options
  const t = s.tickets
  const lines: Array<string> = []
  const section = (title: string) => lines.push("", bold(title, tty))
  lines.push(
    bold(`The shop's day: ${s.events} events in ${(options.dayMs / 1000).toFixed(1)} s`, tty) +
      ` (the mesh took ${(options.startMs / 1000).toFixed(1)} s to start)`,
  )

  section("Customer care")
  lines.push(
    `  ${t.opened} tickets from ${t.messages} messages (${w.redeliveries} delivered twice by the gateway, counted once)`,
    `  auto-replied ${t.autoReplied}, replied with the owner told ${t.repliedOwnerTold}, waiting for approval ${t.awaitingApproval}, escalated to a person ${t.escalated}, not handled yet ${t.waiting}`,
    `  escalated because: ${list(t.escalationReasons) || "nothing"}`,
    `  intents: ${list(t.byIntent)}; guardrails tripped ${t.guardrailsTripped}`,
    `  replies that told how a product stands in stock (procurement's records: in stock, or when new stock is due): ${t.stockTold}`,
    `  product questions no record answered, which the owner answered herself: ${w.questionsAnsweredByOwner}`,
  )
  if (w.messagesRefused.length > 0)
    lines.push(`  refused at the door: ${w.messagesRefused.length} (${w.messagesRefused[0]})`)

  section("The shop")
  const shop = s.shop
  lines.push(
    `  orders ${shop.ordersPlaced} (${w.ordersPaid} paid, ${w.ordersCancelled} cancelled, ${w.ordersShipped} shipped, ${w.ordersReturned} returned, ${w.ordersWaitingForStock} waiting for stock)`,
    `  order lines reserved ${shop.linesReserved}, back-ordered ${shop.linesBackordered}`,
    `  refunds paid ${shop.refundsIssued}, refused ${shop.refundsRejected} (the owner approved ${w.approvalsGiven} actions and rejected ${w.approvalsRejected})`,
    `  listings published ${shop.listingsPublished}, marked out of stock ${shop.listingsMarkedOutOfStock}, back in stock ${shop.listingsBackInStock}`,
    `  purchase orders placed ${shop.purchaseOrdersPlaced}, deliveries ${shop.deliveriesReceived} (${w.deliveriesPartial} in part), late ${shop.purchaseOrdersLate}, delay notices sent ${shop.delayNoticesSent}`,
    `  knowledge articles proposed ${shop.articlesProposed}; register conflicts resolved ${shop.conflictsResolved}, invariant violations recorded ${shop.invariantViolations}`,
    `  the outside world's faults: ${w.faultsInjected} switched on; calls that failed for good: ${w.errors.length}`,
  )

  section("Per workflow (from the log)")
  lines.push(...workflowRows(s.workflows).map((l) => `  ${l}`))

  if (s.hops.latencyMs !== null)
    lines.push(
      "",
      `  ${s.hops.count} hops between agents (an event caused by another agent's), each ${ms(s.hops.latencyMs)} from cause to effect${s.hops.overheadMs === null ? "" : `; the mesh's part, model time aside: ${ms(s.hops.overheadMs)}`}`,
    )

  section("Checks")
  for (const check of s.checks) lines.push(`  ${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.detail}`)

  section(`Approvals waiting: ${s.approvalsWaiting.length}`)
  const first = s.approvalsWaiting[0]
  for (const a of s.approvalsWaiting.slice(0, 5))
    lines.push(`  ${a.agent} ${a.kind} ${a.actionId}: ${a.reason}`)
  if (s.approvalsWaiting.length > 5) lines.push(`  … and ${s.approvalsWaiting.length - 5} more`)

  section("Where to look next")
  const env = `MESH_NATS_URL=${options.natsUrl} MESH_NAMESPACE=${options.namespace}`
  if (options.kept) {
    lines.push(`  export ${env}`)
    if (first !== undefined)
      lines.push(
        `  pnpm mesh approve ${first.agent} ${first.actionId} --hash ${first.parametersHash} --as owner`,
      )
    lines.push(
      "  pnpm mesh approvals            # everything waiting for a person",
      ...(s.traceExample === null
        ? []
        : [`  pnpm mesh trace ${s.traceExample}   # one chain's causal tree, across agents`]),
      "  pnpm mesh tail customer --no-follow",
      "  pnpm mesh history customer ticket <ticket-id>",
      "  pnpm mesh cost                 # model cost per executed action, per agent",
      "  pnpm mesh conflicts",
      "  pnpm mesh projections          # each agent's read models and how far behind they are",
      "  pnpm mesh reactors             # each agent's reactors: backlog, and where a reaction's time went",
      "  pnpm mesh export --out day.jsonl.gz   # the day as a history file, personal data redacted: mesh sandbox day.jsonl.gz replays it, mesh fork --from day.jsonl.gz --at <event-id> branches it",
      "The mesh keeps running; Ctrl-C stops it.",
    )
  } else {
    lines.push(
      "  pnpm demo --keep               # the same day, left running for `pnpm mesh approvals`, `trace`, `history`, `cost`, `export`, `fork`",
      "  then, with the exported variables it prints: pnpm mesh approve <agent> <action-id> --hash <hash> --as owner",
    )
  }
  return lines.join("\n")
}
