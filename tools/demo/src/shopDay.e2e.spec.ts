import { execFile, execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findRepoRoot, workspaceNode } from "@mesh/stack"
import { useNatsServer, useQuietLane } from "@mesh/stack/vitest"
import { afterAll, describe, expect, it } from "vitest"
import type { ShopDayOutcome } from "./shopDay.ts"

interface TraceNodeJson {
  readonly stream: string
  readonly sequence: number
  readonly event: {
    readonly type: string
    readonly eventId: string
    readonly correlationId: string
    readonly causationId: string | null
    readonly aggregateId: string
    readonly payload: Record<string, unknown>
  }
  readonly by: string
  readonly children: ReadonlyArray<TraceNodeJson>
}
interface TraceJson {
  readonly correlationId: string
  readonly events: number
  readonly writers: ReadonlyArray<string>
  readonly causesOutside: number
  readonly roots: ReadonlyArray<TraceNodeJson>
}
const flatten = (nodes: ReadonlyArray<TraceNodeJson>): ReadonlyArray<TraceNodeJson> =>
  nodes.flatMap((n) => [n, ...flatten(n.children)])

// `pnpm demo` is the README's first command: a shop's day with every agent in its own process. This
// plays a small day twice with one seed and once more with agents killed, on this file's private
// NATS server and a data folder of its own, and asserts what the day must come to, never its printed
// lines: counts, the checks over the log and the simulators' ledgers, the same triage and policy
// outcome for every message both calm times, and the same totals after the kills.

// Timed: one such file at a time (vitest.config.ts).
useQuietLane()
const nats = useNatsServer()
const dataDir = mkdtempSync(join(tmpdir(), "shop-day-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const size = { tickets: 60, orders: 30, products: 12 }

const hasTmux = (() => {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const playDay = (
  seed: number,
  options: { readonly kills?: number; readonly speed?: number; readonly timeoutMs?: number } = {},
) =>
  new Promise<{ code: number; outcome: ShopDayOutcome | undefined; stderr: string }>((resolve) =>
    execFile(
      workspaceNode(),
      [
        join(findRepoRoot(), "tools", "demo", "src", "main.ts"),
        ...[
          "--tickets",
          String(size.tickets),
          "--orders",
          String(size.orders),
          "--products",
          String(size.products),
        ],
        ...["--seed", String(seed), "--speed", String(options.speed ?? 2), "--json"],
        ...(options.kills === undefined ? [] : ["--kills", String(options.kills)]),
      ],
      {
        env: { ...process.env, MESH_NATS_URL: nats.url, MESH_DATA_DIR: dataDir },
        // A bound for a hang: a play takes 40-60 s here, and its agents' start alone can triple under load.
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const last = stdout.trim().split("\n").at(-1) ?? ""
        resolve({
          code: error === null ? 0 : Number(error.code ?? 1),
          outcome: last.startsWith("{") ? (JSON.parse(last) as ShopDayOutcome) : undefined,
          stderr: `${stderr.slice(-3000)}\n${stdout.slice(-2000)}`,
        })
      },
    ),
  )

/** `mesh <args>` by its path, on this file's NATS and the day's namespace, as an SRE runs it after the day. */
const mesh = (namespace: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      workspaceNode(),
      [join(findRepoRoot(), "tools", "mesh", "src", "main.ts"), ...args],
      {
        env: { ...process.env, MESH_NATS_URL: nats.url, MESH_NAMESPACE: namespace, MESH_DATA_DIR: dataDir },
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    ),
  )

describe("pnpm demo: the shop's day", () => {
  let first: ShopDayOutcome | undefined

  it("ends with every message handled, every check passing, and the shop's work done", async () => {
    const { code, outcome, stderr } = await playDay(11)
    expect(outcome, stderr).toBeDefined()
    const day = outcome as ShopDayOutcome
    first = day
    expect(
      day.summary.checks.filter((c) => !c.ok),
      stderr,
    ).toEqual([])
    expect(code, stderr).toBe(0)
    expect(day.unsettled).toEqual([])
    const { tickets, shop, workflows } = day.summary
    // Every ticket opened once, however often the gateway delivered its first message.
    expect(tickets.opened).toBe(size.tickets)
    expect(tickets.messages).toBe(day.world.messagesSent)
    expect(tickets.waiting).toBe(0)
    expect(Object.keys(day.summary.outcomes)).toHaveLength(tickets.messages)
    expect(
      tickets.autoReplied + tickets.repliedOwnerTold + tickets.awaitingApproval + tickets.escalated,
    ).toBeGreaterThanOrEqual(tickets.messages)
    // Every order the storefront took is in the log once, every paid one's lines reserved or back-ordered.
    expect(shop.ordersPlaced).toBe(day.world.ordersPlaced)
    expect(shop.linesReserved + shop.linesBackordered).toBeGreaterThanOrEqual(day.world.ordersPaid)
    // Every product's listing published; what ran out was marked, and came back when restocked.
    expect(shop.listingsPublished).toBe(size.products)
    expect(shop.listingsBackInStock).toBeLessThanOrEqual(shop.listingsMarkedOutOfStock)
    expect(shop.purchaseOrdersPlaced).toBeGreaterThan(0)
    // A refund is paid only for what came back, as the owner approves.
    expect(shop.refundsIssued).toBeLessThanOrEqual(day.world.ordersReturned + day.world.ordersCancelled)
    const sent = workflows.find((w) => w.workflow === "customer messages sent")
    expect(sent?.succeeded).toBeGreaterThan(0)
    expect(day.world.errors).toEqual([])
    // Where the reactions spent their time, from every agent's /metrics: each message answered
    // once at least, and the hops between agents split into the mesh's part and the agents' work.
    const times = day.reactionTimes
    expect(times).not.toBeNull()
    const answer = times?.byReactor.find((r) => r.reactor === "customer-ops-answer")
    expect(answer?.work?.count).toBeGreaterThanOrEqual(tickets.messages)
    // (The resolver watches the registers with a worker of its own, not a reactor.)
    expect(new Set(times?.byReactor.map((r) => r.agent))).toEqual(
      new Set(["customer-ops", "procurement", "content-ops"]),
    )
    const between = times?.betweenAgents
    expect(between?.mesh?.count).toBeGreaterThan(size.orders)
    expect(between?.queue?.p50).toBeLessThanOrEqual(between?.delivery?.p50 ?? 0)
  }, 300_000)

  it("is traced by `mesh trace`: a message's chain and an order's, from the outside request across agents", async () => {
    const day = first as ShopDayOutcome
    expect(day).toBeDefined()
    const tail = await mesh(day.namespace, ["tail", "customer", "--no-follow", "--json"])
    expect(tail.code, tail.stderr).toBe(0)
    const customer = tail.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as TraceNodeJson["event"])
    // A message whose reply was sent in its own chain (a ticket's later message starts a chain of
    // its own), and a paid order.
    const repliedChains = new Set(customer.filter((e) => e.type === "ReplySent").map((e) => e.correlationId))
    const opened = customer.find((e) => e.type === "TicketOpened" && repliedChains.has(e.correlationId))
    const paid = customer.find((e) => e.type === "OrderStatusChanged" && e.payload.status === "paid")
    if (opened === undefined || paid === undefined)
      throw new Error("the day sent no reply or took no payment")

    const ticketTrace = await mesh(day.namespace, ["trace", opened.correlationId, "--json"])
    expect(ticketTrace.code, ticketTrace.stderr).toBe(0)
    const ticket = JSON.parse(ticketTrace.stdout) as TraceJson
    const nodes = flatten(ticket.roots)
    expect(nodes).toHaveLength(ticket.events)
    // One chain: the gateway's request at its root, every event under its cause, all of one correlation.
    expect(ticket.causesOutside).toBe(0)
    expect(ticket.roots.map((r) => [r.event.type, r.event.payload.origin])).toEqual([
      ["RequestReceived", "http"],
    ])
    expect(new Set(nodes.map((n) => n.event.correlationId))).toEqual(new Set([opened.correlationId]))
    const types = nodes.map((n) => n.event.type)
    for (const type of [
      "TicketOpened",
      "TicketTriaged",
      "ReplyDrafted",
      "ReplyRouted",
      "ActionRequested",
      "ActionSucceeded",
      "ReplySent",
    ])
      expect(types, type).toContain(type)
    // The decisions with what they were given, and the policy's verdict on the reply.
    const skills = nodes.filter((n) => n.event.type === "DecisionRecorded").map((n) => n.event.payload.skill)
    expect(skills).toEqual(expect.arrayContaining(["triageTicket", "draftReply"]))
    // The request for the send that the ticket's reply went out by (a ticket may ask for more: a
    // refund, another message's reply).
    const replySent = nodes.find((n) => n.event.type === "ReplySent")
    const asked = nodes.find(
      (n) =>
        n.event.type === "ActionRequested" && n.event.payload.actionId === replySent?.event.payload.actionId,
    )
    expect(asked?.event.payload).toMatchObject({
      kind: "mailbox.send-message",
      policy: { verdict: { mode: expect.any(String) } },
    })
    // The send's outcome hangs under the commit that requested it: under the request, or, when the
    // policy made it wait, under the wait for approval written with it (through the person's approval).
    const requestCommit = nodes.filter((n) => n.stream === asked?.stream && n.sequence === asked?.sequence)
    expect(requestCommit.map((n) => n.event.type)).toContain("ActionRequested")
    const outcomes = flatten(requestCommit.flatMap((n) => n.children)).filter(
      (n) => n.event.type === "ActionSucceeded",
    )
    expect(outcomes.map((n) => n.event.aggregateId)).toContain(replySent?.event.payload.actionId)

    // An order's payment crosses agents: the storefront's webhook to customer ops, its stock to procurement.
    const orderTrace = await mesh(day.namespace, ["trace", paid.correlationId, "--json"])
    expect(orderTrace.code, orderTrace.stderr).toBe(0)
    const order = JSON.parse(orderTrace.stdout) as TraceJson
    expect(order.causesOutside).toBe(0)
    expect(order.writers).toContain("agent:procurement")
    // Its payment's webhook reaches customer ops, and procurement reserves or back-orders its lines.
    const orderTypes = flatten(order.roots).map((n) => n.event.type)
    expect(orderTypes).toEqual(expect.arrayContaining(["RequestReceived", "OrderStatusChanged"]))
    expect(orderTypes.some((t) => t === "OrderStockReserved" || t === "OrderStockBackordered")).toBe(true)

    // The same chain as a tree for the terminal and as a mermaid diagram; an unknown id says so.
    const tree = await mesh(day.namespace, ["trace", opened.correlationId])
    expect(tree.stdout.split("\n")[0]).toMatch(
      new RegExp(`^trace ${opened.correlationId}: ${ticket.events} events`),
    )
    expect(tree.stdout).toContain("└─ +0 ms RequestReceived")
    const mermaid = await mesh(day.namespace, ["trace", opened.correlationId, "--format", "mermaid"])
    expect(mermaid.stdout.split("\n").slice(0, 1)).toEqual(["sequenceDiagram"])
    const unknown = await mesh(day.namespace, ["trace", "no-such-chain"])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("no event of namespace")
    expect(unknown.stderr).toContain("no-such-chain")
  }, 120_000)

  it("is replayed by `mesh replay` through the agents' deciders: the same bytes twice, nothing appended", async () => {
    const day = first as ShopDayOutcome
    expect(day).toBeDefined()
    const lastSequence = async (domain: string) => {
      const tail = await mesh(day.namespace, ["tail", domain, "--no-follow", "--json"])
      const last = tail.stdout.trim().split("\n").at(-1) ?? "{}"
      return (JSON.parse(last) as { sequence?: number }).sequence ?? 0
    }
    for (const domain of ["customer", "procurement", "actions"]) {
      const before = await lastSequence(domain)
      const once = await mesh(day.namespace, ["replay", domain, "--json"])
      const twice = await mesh(day.namespace, ["replay", domain, "--json"])
      expect(once.code, once.stderr).toBe(0)
      expect(twice.stdout).toBe(once.stdout)
      expect(await lastSequence(domain)).toBe(before)
      const replayed = once.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { sequence: number; aggregate: string; version: number; state: unknown })
      expect(replayed.at(-1)?.sequence).toBe(before)
      // Each aggregate's versions count up from 1, and every event of the agents' aggregates has a state.
      const versions = new Map<string, number>()
      for (const r of replayed) {
        expect(r.version, r.aggregate).toBe((versions.get(r.aggregate) ?? 0) + 1)
        versions.set(r.aggregate, r.version)
        expect(r.state, r.aggregate).not.toBeNull()
      }
    }
    // One aggregate's history with its whole state after each event.
    const tickets = await mesh(day.namespace, ["replay", "customer", "--json"])
    const ticket = (JSON.parse(tickets.stdout.split("\n")[0] ?? "{}") as { aggregate: string }).aggregate
    const one = await mesh(day.namespace, ["replay", "customer", "--aggregate", ticket])
    const lines = one.stdout.trim().split("\n")
    expect(lines.slice(0, -1).every((l) => l.includes(` ${ticket} v`))).toBe(true)
    expect(lines.at(-1)).toMatch(
      /^replayed \d+ events of \d+ aggregates up to #\d+ \(\d+ shown\); nothing was appended/,
    )
    // One chain's events, each with its aggregate's true state (everything before is still folded).
    const all = tickets.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { correlationId: string; sequence: number; state: unknown })
    const chain = all.at(-1)?.correlationId ?? ""
    const ofChain = await mesh(day.namespace, ["replay", "customer", "--correlation", chain, "--json"])
    expect(
      ofChain.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual(all.filter((r) => r.correlationId === chain))
    const bad = await mesh(day.namespace, ["replay", "customer", "--until", "yesterday-ish"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--until takes a stream sequence")
  }, 120_000)

  // The step mode is a terminal's: it is driven here as a person would, through tmux. Skipped only
  // where tmux is not installed (Debian's `tmux`); these machines and CI have it.
  it.skipIf(!hasTmux)(
    "steps through the replay on a terminal: forward, back, to a sequence, with a decision's inputs",
    async () => {
      const day = first as ShopDayOutcome
      expect(day).toBeDefined()
      const tail = await mesh(day.namespace, ["tail", "customer", "--no-follow", "--json"])
      // A commit whose first event is a triage: `g <its sequence>` lands on it.
      const events = tail.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { sequence: number; type: string })
      const triaged = events.find(
        (e, i) => e.type === "TicketTriaged" && (i === 0 || events[i - 1]?.sequence !== e.sequence),
      )
      if (triaged === undefined) throw new Error("the day triaged nothing")
      const session = `replay-${process.pid}`
      const tmux = (...args: ReadonlyArray<string>) => execFileSync("tmux", args, { encoding: "utf8" })
      const screen = () => tmux("capture-pane", "-p", "-t", session)
      const until = async (what: string, test: (text: string) => boolean) => {
        const deadline = Date.now() + 30_000
        while (Date.now() < deadline) {
          const text = screen()
          if (test(text)) return text
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        throw new Error(`the terminal never showed ${what}:\n${screen()}`)
      }
      const command = [
        `MESH_NATS_URL=${nats.url}`,
        `MESH_NAMESPACE=${day.namespace}`,
        `MESH_DATA_DIR=${dataDir}`,
        workspaceNode(),
        join(findRepoRoot(), "tools", "mesh", "src", "main.ts"),
        "replay customer --step; echo replay-exited-$?; sleep 60",
      ].join(" ")
      tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", command)
      try {
        await until("the first step", (t) => t.includes("step 1 of "))
        tmux("send-keys", "-t", session, "n")
        await until("the second step", (t) => t.includes("step 2 of "))
        tmux("send-keys", "-t", session, "Left")
        await until("the first step again", (t) => t.includes("step 1 of "))
        tmux("send-keys", "-t", session, "g", ...String(triaged.sequence).split(""), "Enter")
        const decided = await until(
          "the triage's step",
          (t) => t.includes(`#${triaged.sequence} `) && t.includes("TicketTriaged"),
        )
        expect(decided).toMatch(/decision triageTicket-\S+: triageTicket, prompt /)
        expect(decided).toContain("  input {")
        expect(decided).toContain("state changes:")
        tmux("send-keys", "-t", session, "q")
        await until("the replay to end", (t) => t.includes("replay-exited-0"))
      } finally {
        tmux("kill-session", "-t", session)
      }
    },
    120_000,
  )

  it("gives every message the same triage and policy outcome when the same seed plays again", async () => {
    expect(first).toBeDefined()
    const { outcome, stderr } = await playDay(11)
    expect(outcome, stderr).toBeDefined()
    const again = outcome as ShopDayOutcome
    expect(again.summary.checks.filter((c) => !c.ok)).toEqual([])
    // Every message is triaged alike. Its reply policy's outcome is a function of what its triage
    // and its draft were given (the message, the customer's earlier contacts and order value, the
    // records and articles to cite): where both runs gave a message the same inputs, it has the same
    // disposition and reasons. Customer ops reads them as they stood when the message came, however
    // late its reaction runs, so what is left to a race is the day itself: an article approved
    // before a message or after it, which order took the last unit (and so the stock a question
    // about a product finds), whether procurement reserved an order's stock in time for its parcel
    // to leave before the customer wrote, and whether the shop's reply to a first message went out
    // before its follow-up was answered. Such messages are named with both outcomes if too many are
    // (64 of 67 matched here in two pairs of runs, with no disposition apart; 60 and 61 while a
    // message about no order could overtake the customer's orders and another product's article
    // could be cited; 48 to 53 when a reaction read the present, and under 40 in one CI run).
    const before = first?.summary.outcomes ?? {}
    const after = again.summary.outcomes
    const ids = Object.keys(after).sort()
    expect(ids).toEqual(Object.keys(before).sort())
    for (const id of ids)
      expect({ id, intent: after[id]?.intent, sentiment: after[id]?.sentiment }).toEqual({
        id,
        intent: before[id]?.intent,
        sentiment: before[id]?.sentiment,
      })
    const sameInputs = ids.filter((id) => after[id]?.inputs === before[id]?.inputs)
    for (const id of sameInputs)
      expect({ id, disposition: after[id]?.disposition, reasons: after[id]?.reasons }).toEqual({
        id,
        disposition: before[id]?.disposition,
        reasons: before[id]?.reasons,
      })
    const raced = ids
      .filter((id) => !sameInputs.includes(id))
      .map((id) => ({ id, before: before[id], after: after[id] }))
    expect(sameInputs.length / ids.length, JSON.stringify(raced)).toBeGreaterThan(0.6)
    expect(again.summary.tickets.opened).toBe(first?.summary.tickets.opened)
    expect(again.summary.shop.listingsPublished).toBe(first?.summary.shop.listingsPublished)
  }, 300_000)

  // The day survives its agents being killed: the first play's seed again, with ten SIGKILLs of
  // agent processes at seeded moments (the demo restarts each on the same port and store, as
  // Kubernetes restarts a pod). It must pass every check the undisturbed day passes (each message
  // handled once, one effect per key, no refund without a person, nothing oversold, every
  // causation in the log) and reach the same totals wherever no race decides. Each kill leaves the
  // messages the dead process held to the consumer's ack deadline.
  it("passes every check with ten agent processes killed, and reaches the undisturbed day's totals", async () => {
    const before = first as ShopDayOutcome
    expect(before).toBeDefined()
    // At the day's own pace (30 s), so that the kills fall about 2.4 s apart, not half that.
    // Its bound lets the demo's own (four minutes for the mesh to settle) end first, so that a day
    // that does not settle still reports what was left.
    const { outcome, stderr } = await playDay(11, { kills: 10, speed: 1, timeoutMs: 540_000 })
    expect(outcome, stderr).toBeDefined()
    const after = outcome as ShopDayOutcome

    // The kills happened, across more than one agent, and every process came back.
    expect(after.kills).toHaveLength(10)
    expect(new Set(after.kills.map((k) => k.agent)).size).toBeGreaterThan(1)
    expect(Object.values(after.restarts).reduce((a, b) => a + b, 0)).toBe(10)
    expect(after.unsettled).toEqual([])

    // Every check of the undisturbed day holds.
    expect(after.summary.checks.filter((c) => !c.ok)).toEqual([])
    expect(after.summary.checks.map((c) => c.name)).toEqual(before.summary.checks.map((c) => c.name))

    // The same totals where no race decides: every ticket opened and every message handled once,
    // triaged alike; every order in the log; every listing published.
    expect(after.summary.tickets.opened).toBe(before.summary.tickets.opened)
    expect(after.summary.tickets.messages).toBe(before.summary.tickets.messages)
    expect(after.summary.tickets.waiting).toBe(0)
    expect(Object.keys(after.summary.outcomes).sort()).toEqual(Object.keys(before.summary.outcomes).sort())
    for (const [id, outcome] of Object.entries(after.summary.outcomes))
      expect({ id, intent: outcome.intent }).toEqual({ id, intent: before.summary.outcomes[id]?.intent })
    expect(after.summary.shop.ordersPlaced).toBe(before.summary.shop.ordersPlaced)
    expect(after.world.ordersPaid).toBe(before.world.ordersPaid)
    expect(after.summary.shop.listingsPublished).toBe(before.summary.shop.listingsPublished)
    expect(after.world.errors).toEqual([])
  }, 600_000)
})
