import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findRepoRoot, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, describe, expect, it } from "vitest"
import type { ShopDayOutcome } from "./shopDay.ts"

// `pnpm demo` is the README's first command: a shop's day with every agent in its own process. This
// plays a small day twice with one seed, on this file's private NATS server and a data folder of its
// own, and asserts what the day must come to, never its printed lines: counts, the checks over the
// log and the simulators' ledgers, and the same triage and policy outcome for every message both times.

const nats = useNatsServer()
const dataDir = mkdtempSync(join(tmpdir(), "shop-day-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const size = { tickets: 60, orders: 30, products: 12 }

const playDay = (seed: number) =>
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
        ...["--seed", String(seed), "--speed", "2", "--json"],
      ],
      {
        env: { ...process.env, MESH_NATS_URL: nats.url, MESH_DATA_DIR: dataDir },
        timeout: 240_000,
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
  }, 300_000)

  it("gives every message the same triage and policy outcome when the same seed plays again", async () => {
    expect(first).toBeDefined()
    const { outcome, stderr } = await playDay(11)
    expect(outcome, stderr).toBeDefined()
    const again = outcome as ShopDayOutcome
    expect(again.summary.checks.filter((c) => !c.ok)).toEqual([])
    // Triage reads only the message and the customer's history: the same every time. The reply
    // policy's disposition follows from triage and the facts the draft could cite; where those
    // facts were the same (an order the shop had heard of, an article approved by then), so is it.
    const before = first?.summary.outcomes ?? {}
    const after = again.summary.outcomes
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort())
    // Whether the draft had a record or article to cite at all; how many (a shipment's fact once the
    // parcel left) is the warehouse's timing.
    const cited = (o: { factsCited: number } | undefined) => (o?.factsCited ?? 0) > 0
    const sameFacts = Object.keys(after).filter((id) => cited(after[id]) === cited(before[id]))
    for (const id of Object.keys(after)) {
      expect({ id, intent: after[id]?.intent, sentiment: after[id]?.sentiment }).toEqual({
        id,
        intent: before[id]?.intent,
        sentiment: before[id]?.sentiment,
      })
    }
    for (const id of sameFacts)
      expect({ id, disposition: after[id]?.disposition }).toEqual({
        id,
        disposition: before[id]?.disposition,
      })
    // A race decides little of it: which order got the last unit, whether an article was approved in time.
    expect(sameFacts.length / Object.keys(after).length).toBeGreaterThan(0.85)
    expect(again.summary.tickets.opened).toBe(first?.summary.tickets.opened)
    expect(again.summary.shop.listingsPublished).toBe(first?.summary.shop.listingsPublished)
  }, 300_000)
})
