import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { owner, type ProcurementProcess, startProcurement } from "@mesh/procurement/testing"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { closedUrl, withCannedServer } from "./testing/httpStubs.ts"
import { linesOf, runMesh } from "./testing/runMesh.ts"

// `mesh stock` and `mesh purchase-orders` against the procurement agent in its own process, over
// real NATS and Postgres with the supplier simulator behind its connector (started as the agent's
// own e2e spec starts it): the CLI sees only the agent's HTTP API.

const nats = useNatsServer()
let agent: ProcurementProcess

beforeAll(async () => {
  agent = await startProcurement(nats.url, { prefix: "clipo" })
}, 150_000)

afterAll(async () => {
  await agent?.stop()
})

/** The token of one of the shop's people: the agent serves stock and orders to no one else. */
const token = { MESH_APPROVER_TOKEN: owner.token }

const mesh = (args: ReadonlyArray<string>) => runMesh([...args, "--url", agent.url], token)

const files = mkdtempSync(join(tmpdir(), "mesh-procurement-"))
const file = (name: string, content: string) => {
  const path = join(files, name)
  writeFileSync(path, content)
  return path
}

const sku = "CLI-LAMP"
// Two on hand against a reorder point of three: the agent orders at once, from a supplier new to
// the shop (so the order waits for a buyer's approval) that promises delivery the same day (so a
// placed order is late at once).
const settings = {
  tenantId: "shop",
  name: "Desk lamp",
  reorderPoint: 3,
  reorderQuantity: 4,
  neededWithinDays: 7,
  suppliers: [
    {
      supplierId: "acme",
      name: "Acme Lighting",
      unitCost: { amountMinor: 800, currency: "EUR" },
      leadTimeDays: 0,
      minOrderQuantity: 1,
    },
  ],
  openingStock: 2,
}

interface PurchaseOrderView {
  readonly purchaseOrderId: string
  readonly status: string
  readonly decisionId: string
  readonly reason: string
  readonly actionId: string | null
  readonly received: number
  readonly late: boolean
  readonly cancelReason: string | null
}

/** A purchase order as the agent's API shows it, once `ready` says it is. */
const orderOnceIt = (id: string, what: string, ready: (order: PurchaseOrderView) => boolean) =>
  agent.until(`${id} ${what}`, async () => {
    const response = await agent.call(`/purchase-orders/${id}`)
    const order = response.ok ? ((await response.json()) as PurchaseOrderView) : undefined
    return order !== undefined && ready(order) ? order : undefined
  })

/** The owner's decision on an order's action, through the approvals API, once it waits for one. */
const decide = async (actionId: string, decision: "approve" | "reject", body: Record<string, unknown>) => {
  const waiting = await agent.until(`${actionId} waits for approval`, async () =>
    (
      await agent.json<{ queue: ReadonlyArray<{ actionId: string; parametersHash: string }> }>("/approvals")
    ).queue.find((a) => a.actionId === actionId),
  )
  const response = await agent.call(`/approvals/procurement/${actionId}/${decision}`, {
    method: "POST",
    body: { parametersHash: waiting.parametersHash, ...body },
  })
  expect(response.status, await response.text()).toBeLessThan(300)
}

describe("mesh stock and mesh purchase-orders", () => {
  let reorder: PurchaseOrderView

  it("sets a stock item from a file, and lists and shows it with its live levels", async () => {
    const path = file("lamp.json", JSON.stringify(settings))
    const set = await mesh(["stock", "set", sku, "--file", path])
    expect(set.code, set.stderr).toBe(0)
    expect(set.stdout).toMatch(new RegExp(`^${sku} set;`))
    const again = await mesh(["stock", "set", sku, "--file", path, "--json"])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toEqual({ tenantId: "shop", sku, changed: false })

    const opened = await agent.until(`${sku}'s reorder is open`, async () => {
      const response = await agent.call(`/stock-items/${sku}`)
      const item = response.ok ? ((await response.json()) as { openPurchaseOrder: string | null }) : undefined
      return item?.openPurchaseOrder ?? undefined
    })

    const json = await mesh(["stock", "--json"])
    expect(json.code, json.stderr).toBe(0)
    expect(linesOf(json.stdout).map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        sku,
        name: "Desk lamp",
        reorderPoint: 3,
        openPurchaseOrder: opened,
        stock: { onHand: 2, available: 2, held: 0, confirmed: 0 },
      }),
    ])

    const text = await mesh(["stock"])
    expect(text.code, text.stderr).toBe(0)
    expect(linesOf(text.stdout)).toEqual([
      "TENANT  SKU       NAME       ON HAND  AVAILABLE  HELD  REORDER POINT  OPEN PO",
      `shop    ${sku}  Desk lamp        2          2     0              3  ${opened}`,
      "1 stock item",
    ])

    const shown = await mesh(["stock", "show", sku])
    expect(shown.code, shown.stderr).toBe(0)
    expect(linesOf(shown.stdout)).toEqual([
      `stock item ${sku} (Desk lamp) of shop`,
      "  stock         on hand 2, available 2, held 0, confirmed 0",
      expect.stringMatching(/^ {2}reorder point 3, below it since \d{4}-/),
      "  reorder       4 more, needed within 7 days",
      `  open order    ${opened}`,
      "  suppliers     1",
      "    SUPPLIER  NAME           UNIT COST  LEAD TIME DAYS  MIN ORDER",
      "    acme      Acme Lighting  8.00 EUR                0          1",
    ])
  })

  it("lists and shows the order the agent drafted, with its decision and the action waiting for a buyer", async () => {
    const [listed] = await agent
      .json<{ purchaseOrders: ReadonlyArray<PurchaseOrderView> }>(`/purchase-orders?sku=${sku}`)
      .then((r) => r.purchaseOrders)
    reorder = await orderOnceIt(
      listed?.purchaseOrderId ?? "",
      "waits for approval",
      (o) => o.status === "requested",
    )
    const id = reorder.purchaseOrderId

    const json = await mesh(["purchase-orders", "--sku", sku, "--json"])
    expect(json.code, json.stderr).toBe(0)
    expect(linesOf(json.stdout).map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ purchaseOrderId: id, supplierId: "acme", quantity: 5, status: "requested" }),
    ])

    const text = await mesh(["purchase-orders", "--status", "requested", "--sku", sku])
    expect(text.code, text.stderr).toBe(0)
    expect(linesOf(text.stdout)).toEqual([
      `${"ID".padEnd(id.length)}  TENANT  SKU       SUPPLIER  STATUS     QUANTITY  RECEIVED  LATE  EXPECTED BY  TOTAL`,
      `${id}  shop    ${sku}  acme      requested         5         0  -     -            40.00 EUR`,
      "1 purchase order",
    ])
    const none = await mesh(["purchase-orders", "--status", "cancelled", "--sku", sku])
    expect(none.stdout).toBe("0 purchase orders\n")

    const shown = await mesh(["purchase-orders", "show", id])
    expect(shown.code, shown.stderr).toBe(0)
    expect(linesOf(shown.stdout)).toEqual([
      `purchase order ${id} requested, ${sku} of shop`,
      "  supplier      acme (its first order with the shop)",
      "  quantity      5, received 0, outstanding 5",
      "  cost          8.00 EUR a unit, 40.00 EUR in all",
      "  expected by   -",
      "  late          no",
      `  decision      ${reorder.decisionId}: ${reorder.reason}`,
      `  action        ${reorder.actionId}`,
      expect.stringMatching(/^ {2}created {7}\d{4}-.*, updated \d{4}-/),
    ])
  })

  it("records goods received against a placed order once per delivery note, and shows it late", async () => {
    const id = reorder.purchaseOrderId
    await decide(reorder.actionId as string, "approve", {})
    await orderOnceIt(id, "is placed", (o) => o.status === "placed")

    const receive = ["purchase-orders", "receive", id, "--quantity", "2", "--delivery", "dn-cli-1"]
    const received = await mesh(receive)
    expect(received.code, received.stderr).toBe(0)
    expect(received.stdout).toBe(`2 received on ${id} (delivery dn-cli-1)\n`)
    const again = await mesh([...receive, "--json"])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toEqual({ purchaseOrderId: id, received: 2 })

    await orderOnceIt(id, "shows the delivery and is late", (o) => o.received === 2 && o.late)
    const shown = await mesh(["purchase-orders", "show", id])
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain(`purchase order ${id} placed, ${sku} of shop\n`)
    expect(shown.stdout).toContain("  quantity      5, received 2, outstanding 3\n")
    expect(shown.stdout).toMatch(/^ {2}expected by {3}\d{4}-/m)
    expect(shown.stdout).toContain("  late          yes\n")
    expect(shown.stdout).toMatch(/^ {2}supplier ref {2}\S+$/m)
    const stock = await mesh(["stock", "show", sku, "--json"])
    expect(JSON.parse(stock.stdout)).toMatchObject({ stock: { onHand: 4 } })

    const refused = await mesh([
      "purchase-orders",
      "receive",
      "po-none",
      "--quantity",
      "1",
      "--delivery",
      "x",
    ])
    expect(refused.code).toBe(1)
    expect(linesOf(refused.stderr)).toEqual([
      expect.stringMatching(/^mesh: procurement refused the receipt for po-none \(field purchaseOrderId\): /),
    ])
  })

  it("places a buyer's order once per reference, and shows why a rejected one was cancelled", async () => {
    const place = [
      "purchase-orders",
      "place",
      "--reference",
      "cli-rush-1",
      "--tenant",
      "shop",
      "--sku",
      sku,
      "--supplier",
      "globex",
      "--quantity",
      "3",
      "--unit-cost",
      "12.5",
      "--currency",
      "EUR",
      "--lead-time-days",
      "2",
    ]
    const placed = await mesh(place)
    expect(placed.code, placed.stderr).toBe(0)
    expect(linesOf(placed.stdout)).toEqual([expect.stringMatching(/^po-\S+$/)])
    const id = placed.stdout.trim()
    const again = await mesh([...place, "--json"])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toEqual({ purchaseOrderId: id })
    expect(again.stderr).toContain("the reference was taken before; this is the same order")

    const requested = await orderOnceIt(id, "waits for approval", (o) => o.status === "requested")
    await decide(requested.actionId as string, "reject", { reason: "too dear" })
    await orderOnceIt(id, "is cancelled", (o) => o.status === "cancelled")
    const json = await mesh(["purchase-orders", "show", id, "--json"])
    expect(JSON.parse(json.stdout)).toMatchObject({
      purchaseOrderId: id,
      supplierId: "globex",
      quantity: 3,
      unitCost: { amountMinor: 1250, currency: "EUR" },
      total: { amountMinor: 3750, currency: "EUR" },
      status: "cancelled",
    })
    const shown = await mesh(["purchase-orders", "show", id])
    expect(shown.stdout).toContain("  cost          12.50 EUR a unit, 37.50 EUR in all\n")
    expect(shown.stdout).toContain(`  cancelled     refused by ${owner.name}: too dear\n`)
  })

  it("fails with the agent's reason and field for what it refuses, and for what it does not have", async () => {
    const bad = file("bad.json", JSON.stringify({ ...settings, reorderPoint: -1 }))
    const [refused, noStock, noOrder, noToken] = await Promise.all([
      mesh(["stock", "set", "CLI-CHAIR", "--file", bad]),
      mesh(["stock", "show", "CLI-NONE"]),
      mesh(["purchase-orders", "show", "po-none"]),
      runMesh(["stock", "--url", agent.url]),
    ])
    expect(refused.code).toBe(1)
    expect(linesOf(refused.stderr)).toEqual([
      expect.stringMatching(
        /^mesh: procurement refused the settings of CLI-CHAIR \(field reorderPoint\): reorderPoint: /,
      ),
    ])
    expect(noStock.code).toBe(1)
    expect(noStock.stderr).toBe(`mesh: no stock item CLI-NONE at procurement ${agent.url}\n`)
    expect(noOrder.code).toBe(1)
    expect(noOrder.stderr).toBe(`mesh: no purchase order po-none at procurement ${agent.url}\n`)
    expect(noToken.code).toBe(1)
    expect(noToken.stderr).toBe(
      "mesh: procurement refused GET /stock-items (field authorization): a bearer token of a known approver is required; set MESH_APPROVER_TOKEN\n",
    )
  })

  it("is a usage error, attempting nothing, without a URL, for a bad file, amount or currency", async () => {
    const order = (cost: string, currency: string) => [
      "purchase-orders",
      "place",
      "--reference",
      "r1",
      "--tenant",
      "shop",
      "--sku",
      sku,
      "--supplier",
      "acme",
      "--quantity",
      "1",
      "--unit-cost",
      cost,
      "--currency",
      currency,
      "--lead-time-days",
      "1",
    ]
    const [noUrl, missing, notJson, decimals, currency, status, fromEnv] = await Promise.all([
      runMesh(["stock"], token),
      mesh(["stock", "set", sku, "--file", join(files, "missing.json")]),
      mesh(["stock", "set", sku, "--file", file("not.json", "reorderPoint: 3")]),
      mesh(order("12.505", "EUR")),
      mesh(order("12.50", "eur")),
      mesh(["purchase-orders", "--status", "lost"]),
      runMesh(["purchase-orders", "--sku", sku, "--json"], { ...token, MESH_PROCUREMENT_URL: agent.url }),
    ])
    expect(noUrl.code).toBe(2)
    expect(noUrl.stderr).toBe(
      "mesh: no procurement agent to talk to: pass --url <base> or set MESH_PROCUREMENT_URL\n",
    )
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^mesh: --file \S+missing\.json cannot be read: .*ENOENT/)
    expect(notJson.code).toBe(2)
    expect(notJson.stderr).toMatch(/^mesh: --file \S+not\.json is not JSON: /)
    expect(decimals.code).toBe(2)
    expect(decimals.stderr).toContain("mesh: --unit-cost 12.505 is not an amount in EUR")
    expect(currency.code).toBe(2)
    expect(currency.stderr).toContain("mesh: --currency eur is not an ISO-4217 code such as EUR")
    expect(status.code).toBe(2)
    expect(fromEnv.code, fromEnv.stderr).toBe(0)
    expect(linesOf(fromEnv.stdout)).toHaveLength(2)
  })

  it("asks which shop a SKU two shops stock is meant in, and shows each shop's with --tenant", async () => {
    for (const [tenantId, openingStock] of [
      ["shop", 3],
      ["corner", 5],
    ] as const) {
      const path = file(
        `mug-${tenantId}.json`,
        JSON.stringify({ ...settings, tenantId, name: `${tenantId} mug`, reorderPoint: 1, openingStock }),
      )
      const set = await mesh(["stock", "set", "CLI-MUG", "--file", path])
      expect(set.code, set.stderr).toBe(0)
      await agent.until(`${tenantId}'s CLI-MUG has its opening stock`, async () => {
        const response = await agent.call(`/stock-items/CLI-MUG?tenantId=${tenantId}`)
        const item = response.ok ? ((await response.json()) as { stock: { onHand: number } }) : undefined
        return item?.stock.onHand === openingStock ? true : undefined
      })
    }
    const [bare, corner, listed, orders, cornerOrders] = await Promise.all([
      mesh(["stock", "show", "CLI-MUG"]),
      mesh(["stock", "show", "CLI-MUG", "--tenant", "corner", "--json"]),
      mesh(["stock", "--tenant", "corner"]),
      mesh(["purchase-orders", "--sku", "CLI-MUG"]),
      mesh(["purchase-orders", "--sku", "CLI-MUG", "--tenant", "corner"]),
    ])
    const ambiguous = (route: string) =>
      `mesh: procurement refused ${route} (field tenantId): more than one tenant stocks CLI-MUG: name one with ?tenantId=; name the tenant with --tenant\n`
    expect(bare.code).toBe(1)
    expect(bare.stderr).toBe(ambiguous("GET /stock-items/CLI-MUG"))
    expect(orders.code).toBe(1)
    expect(orders.stderr).toBe(ambiguous("GET /purchase-orders?sku=CLI-MUG"))
    expect(corner.code, corner.stderr).toBe(0)
    expect(JSON.parse(corner.stdout)).toMatchObject({
      tenantId: "corner",
      sku: "CLI-MUG",
      name: "corner mug",
      stock: { onHand: 5, available: 5, held: 0 },
    })
    expect(listed.code, listed.stderr).toBe(0)
    expect(linesOf(listed.stdout)).toEqual([
      "TENANT  SKU      NAME        ON HAND  AVAILABLE  HELD  REORDER POINT  OPEN PO",
      "corner  CLI-MUG  corner mug        5          5     0              1  -",
      "1 stock item",
    ])
    expect(cornerOrders.code, cornerOrders.stderr).toBe(0)
    expect(cornerOrders.stdout).toBe("0 purchase orders\n")
  })

  it("exits 4 naming the URL when nothing answers or the agent cannot serve, 1 for an answer of another shape", async () => {
    const down = await closedUrl()
    const [listed, placed] = await Promise.all([
      runMesh(["stock", "--url", down], token),
      runMesh(
        [
          "purchase-orders",
          "place",
          "--reference",
          "r1",
          "--tenant",
          "shop",
          "--sku",
          sku,
          "--supplier",
          "acme",
          "--quantity",
          "1",
          "--unit-cost",
          "1",
          "--currency",
          "EUR",
          "--lead-time-days",
          "1",
          "--url",
          down,
        ],
        token,
      ),
    ])
    expect(listed.code).toBe(4)
    expect(listed.stderr).toBe(`mesh: cannot reach procurement at ${down}: fetch failed (ECONNREFUSED)\n`)
    expect(placed.code).toBe(4)
    expect(placed.stderr).toContain("; sending it again with --reference r1 places it once")

    const answers = {
      "/stock-items": { status: 200, body: JSON.stringify({ stockItems: [{ sku: 7 }] }) },
      "/purchase-orders/po-1": { status: 503, body: JSON.stringify({ error: "the read model is down" }) },
    }
    await withCannedServer(answers, async (other) => {
      const [stock, order] = await Promise.all([
        runMesh(["stock", "--url", other], token),
        runMesh(["purchase-orders", "show", "po-1", "--url", other], token),
      ])
      expect(stock.code).toBe(1)
      expect(stock.stderr).toContain(
        `procurement at ${other} answered GET /stock-items (HTTP 200) with an unexpected body`,
      )
      expect(order.code).toBe(4)
      expect(order.stderr).toBe(
        `mesh: cannot reach procurement at ${other}: it cannot serve GET /purchase-orders/po-1 now (HTTP 503): the read model is down\n`,
      )
    })
  })
})
