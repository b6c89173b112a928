import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { EventEnvelope } from "@mesh/contracts"
import { readModelSchemaOf } from "@mesh/kernel"
import { postgresTestUrl } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { customerOpsName } from "../config.ts"
import { orderIdOf } from "../order/order.ts"
import {
  type CustomerOpsProcess,
  cornerGateway,
  cornerStorefront,
  gateway,
  startCustomerOps,
  storefront,
  storefrontSignature,
} from "../testing/customerOpsProcess.ts"
import { MAX_WEBHOOK_BYTES, storefrontRequestIdOf } from "./storefrontOrder.ts"

// The storefront's orders reaching the log, with the agent in its own process over real NATS and
// Postgres: signed webhooks that come twice and out of order, and the storefront's listing (served
// here by a small HTTP server, as the storefront would answer it) for the events no webhook brought.

const nats = useNatsServer()
let agent: CustomerOpsProcess

/** The storefront's `GET /v1/order-events`: what it lists, and the `after` of every request it got. */
const listing = { events: [] as Array<StorefrontEvent>, asked: [] as Array<number>, down: false }
let listingServer: Server

beforeAll(async () => {
  listingServer = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost")
    if (request.method !== "GET" || url.pathname !== "/v1/order-events") {
      response.writeHead(404).end()
      return
    }
    if (listing.down) {
      response.writeHead(503).end("down for maintenance")
      return
    }
    const after = Number(url.searchParams.get("after"))
    listing.asked.push(after)
    // Two a page, whatever the limit asked, so that the agent must follow `more`.
    const rest = listing.events.filter((e) => e.seq > after)
    const page = rest.slice(0, Math.min(2, Number(url.searchParams.get("limit"))))
    response
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ events: page, next: page.at(-1)?.seq ?? after, more: rest.length > page.length }))
  })
  await new Promise<void>((resolve) => listingServer.listen(0, "127.0.0.1", resolve))
  const { port } = listingServer.address() as AddressInfo
  agent = await startCustomerOps(nats.url, {
    prefix: "sfront",
    env: { MESH_STOREFRONT_URL: `http://127.0.0.1:${port}`, MESH_STOREFRONT_RECONCILE_MS: "200" },
  })
}, 150_000)

afterAll(async () => {
  await agent?.stop()
  await new Promise((resolve) => listingServer?.close(resolve))
})

type StorefrontEvent = ReturnType<typeof orderEvent>

let seq = 0
/** The next event of the storefront's feed: the order's whole snapshot at `version`. */
const orderEvent = (
  orderId: string,
  version: number,
  status: "placed" | "paid" | "shipped" | "delivered" | "cancelled" | "returned",
  changes: Record<string, unknown> = {},
) => {
  seq += 1
  const updatedAt = new Date(Date.parse("2026-11-28T10:00:00.000Z") + version * 3_600_000).toISOString()
  return {
    id: `evt_${seq}`,
    seq,
    topic: `orders/${status === "placed" ? "created" : status}`,
    occurredAt: updatedAt,
    order: {
      id: orderId,
      customerId: `c-${orderId}`,
      email: `c-${orderId}@example.com`,
      status,
      lines: [
        { sku: "LAMP-1", name: "Desk lamp", quantity: 2, unitPriceMinor: 2_495 },
        { sku: "BULB-4", name: "Bulb", quantity: 4, unitPriceMinor: 300 },
      ],
      currency: "EUR",
      totalMinor: 6_190,
      placedAt: "2026-11-28T10:00:00.000Z",
      paidAt: version >= 2 ? "2026-11-28T12:00:00.000Z" : null,
      shipment:
        version >= 3 && status !== "cancelled"
          ? { carrier: "DHL", trackingNumber: `JD-${orderId}`, expectedDelivery: "2026-12-04" }
          : null,
      cancelledAt: null,
      cancelReason: null,
      returnedAt: null,
      returnedLines: [],
      version,
      updatedAt,
      ...changes,
    },
  }
}

const post = (
  event: StorefrontEvent,
  options: Parameters<CustomerOpsProcess["postStorefrontEvent"]>[1] = {},
) => agent.postStorefrontEvent(event, options)

// An order's events are under its id in its tenant: the spec's storefront is the shop's.
const ofOrder = (events: ReadonlyArray<EventEnvelope>, orderId: string, tenantId = "shop") =>
  events.filter((e) => e.aggregateType === "order" && e.aggregateId === orderIdOf(tenantId, orderId))

const statusesOf = (events: ReadonlyArray<EventEnvelope>) =>
  events.map((e) => (e.type === "OrderPlaced" ? "placed" : (e.payload as { status: string }).status))

const requestsOf = (events: ReadonlyArray<EventEnvelope>, feed: ReadonlyArray<StorefrontEvent>) => {
  const ids = new Set(feed.map((e) => storefrontRequestIdOf("shop", e.id)))
  return events.filter((e) => e.type === "RequestReceived" && ids.has(e.aggregateId))
}

const orderInHistory = async (orderId: string, status: string, tenant = "shop") => {
  const history = (await (await agent.read(`/customers/c-${orderId}?tenant=${tenant}`)).json()) as {
    orders: ReadonlyArray<{ orderId: string; status: string; trackingNumber: string | null }>
  }
  const order = history.orders.find((o) => o.orderId === orderId)
  return order?.status === status ? order : undefined
}

// One order's life, delivered by webhook: created, paid, shipped, delivered.
const w1 = [
  orderEvent("W-1", 1, "placed"),
  orderEvent("W-1", 2, "paid"),
  orderEvent("W-1", 3, "shipped"),
  orderEvent("W-1", 4, "delivered"),
]
// Paid, then cancelled with a reason.
const w2 = [
  orderEvent("W-2", 2, "paid"),
  orderEvent("W-2", 3, "cancelled", {
    cancelledAt: "2026-11-28T13:30:00.000Z",
    cancelReason: "customer asked",
  }),
]

describe("the storefront's webhooks", () => {
  it("make one OrderPlaced and one change per status, in order, of webhooks duplicated and out of order", async () => {
    const [created, paid, shipped, delivered] = w1 as [
      StorefrontEvent,
      StorefrontEvent,
      StorefrontEvent,
      StorefrontEvent,
    ]
    const first = await post(shipped)
    expect(first.status).toBe(200)
    expect(await first.json()).toMatchObject({
      eventId: shipped.id,
      orderId: "W-1",
      duplicate: false,
      recorded: ["placed", "paid", "shipped"],
    })
    // The same webhook retried, then the older ones arriving late: all answered 200, none recording.
    const again = await post(shipped, { attempt: 2 })
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ duplicate: true, recorded: [] })
    for (const late of [paid, created]) {
      const response = await post(late)
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ duplicate: false, recorded: [] })
    }
    expect(await (await post(delivered)).json()).toMatchObject({ recorded: ["delivered"] })

    const events = await agent.everything()
    const order = ofOrder(events, "W-1")
    expect(statusesOf(order)).toEqual(["placed", "paid", "shipped", "delivered"])
    expect(order[0]?.payload).toMatchObject({
      tenantId: "shop",
      customerId: "c-W-1",
      total: { amountMinor: 6_190, currency: "EUR" },
      lines: [
        { sku: "LAMP-1", quantity: 2, unitPrice: { amountMinor: 2_495, currency: "EUR" } },
        { sku: "BULB-4" },
      ],
    })
    expect(order[2]?.payload).toMatchObject({ status: "shipped", carrier: "DHL", trackingNumber: "JD-W-1" })
    // Each event is one request, however often it came; its order's events descend from it.
    const requests = requestsOf(events, w1)
    expect(requests).toHaveLength(4)
    const placedBy = requests.find((r) => r.aggregateId === storefrontRequestIdOf("shop", shipped.id))
    expect(order[0]?.causationId).toBe(placedBy?.eventId)
    expect(
      await agent.until("the order is delivered in the customer's history", () =>
        orderInHistory("W-1", "delivered"),
      ),
    ).toMatchObject({ trackingNumber: "JD-W-1" })
  })

  it("keeps two shops' orders of the same number apart: each tenant's webhook makes its own order", async () => {
    const ours = orderEvent("1001", 1, "placed")
    const theirs = orderEvent("1001", 2, "paid", { totalMinor: 7_000 })
    expect(await (await post(ours)).json()).toMatchObject({ orderId: "1001", recorded: ["placed"] })
    // The corner shop's webhook is signed with its own secret: its tenant is the corner shop.
    expect(await (await post(theirs, { secret: cornerStorefront.secret })).json()).toMatchObject({
      orderId: "1001",
      recorded: ["placed", "paid"],
    })
    const events = await agent.everything()
    expect(statusesOf(ofOrder(events, "1001", "shop"))).toEqual(["placed"])
    expect(statusesOf(ofOrder(events, "1001", "corner"))).toEqual(["placed", "paid"])
    expect(ofOrder(events, "1001", "shop")[0]?.payload).toMatchObject({
      tenantId: "shop",
      orderId: "1001",
      total: { amountMinor: 6_190 },
    })
    expect(ofOrder(events, "1001", "corner")[0]?.payload).toMatchObject({
      tenantId: "corner",
      orderId: "1001",
      total: { amountMinor: 7_000 },
    })
    // Each shop's history shows its own order 1001 only, though the customer id is the same.
    await agent.until("the shop's order is in its history", () => orderInHistory("1001", "placed"))
    expect(
      await agent.until("the corner shop's order is in its history", () =>
        orderInHistory("1001", "paid", "corner"),
      ),
    ).toMatchObject({ orderId: "1001" })
    expect(await orderInHistory("1001", "placed")).toBeDefined()
  })

  it("answers each shop's customer asking about order 1001 from that shop's order only", async () => {
    // Both shops shipped their order 1001 to a customer both call c-1001, with other parcels.
    const shipped = (tracking: string, changes: Record<string, unknown> = {}) =>
      orderEvent("1001", 3, "shipped", {
        shipment: { carrier: "DHL", trackingNumber: tracking, expectedDelivery: "2026-12-04" },
        ...changes,
      })
    expect((await post(shipped("JD-SHOP-1001"))).status).toBe(200)
    expect(
      (await post(shipped("JD-CORNER-1001", { totalMinor: 7_000 }), { secret: cornerStorefront.secret }))
        .status,
    ).toBe(200)
    await agent.until("the shop's order has shipped", () => orderInHistory("1001", "shipped"))
    await agent.until("the corner shop's order has shipped", () =>
      orderInHistory("1001", "shipped", "corner"),
    )

    const ask = async (through: typeof gateway | typeof cornerGateway, replyTo: string, orderId: string) => {
      const response = await agent.send(
        {
          messageId: `m-1001-${through.tenant}`,
          customerId: "c-1001",
          replyTo,
          subject: "Where is my order?",
          body: "Hello, could you tell me where my order #1001 is? Thanks",
          orderId,
        },
        through,
      )
      expect(response.status).toBe(202)
      const { ticketId } = (await response.json()) as { ticketId: string }
      await agent.until(`the ${through.tenant} ticket's reply is sent`, async () => {
        const view = await agent.ticket(ticketId)
        return view?.replySent === true ? view : undefined
      })
      const mail = agent.simulators.mailbox.ledger().filter((entry) => entry.params.to === replyTo)
      expect(mail).toHaveLength(1)
      return String(mail[0]?.params.body)
    }
    // The customer names the shop's own number, bare or as they write it.
    const ourReply = await ask(gateway, "ana@shop.example", "1001")
    expect(ourReply).toContain("JD-SHOP-1001")
    expect(ourReply).not.toContain("JD-CORNER-1001")
    const theirReply = await ask(cornerGateway, "ana@corner.example", "#1001")
    expect(theirReply).toContain("JD-CORNER-1001")
    expect(theirReply).not.toContain("JD-SHOP-1001")
  })

  it("refuses an order id too long to name the order in its tenant with 400 naming it, and writes nothing", async () => {
    const tooLong = "L".repeat(64)
    const event = orderEvent(tooLong, 1, "placed")
    const response = await post(event)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      field: "order.id",
      error: expect.stringContaining(`order id "${tooLong}" must be 1-63 characters`),
    })
    const events = await agent.everything()
    expect(events.filter((e) => e.aggregateType === "order" && e.aggregateId.includes(tooLong))).toEqual([])
    expect(requestsOf(events, [event])).toEqual([])
  })

  it("cancels a paid order with the storefront's reason", async () => {
    for (const event of w2) expect((await post(event)).status).toBe(200)
    const order = ofOrder(await agent.everything(), "W-2")
    expect(statusesOf(order)).toEqual(["placed", "paid", "cancelled"])
    expect(order[2]?.payload).toMatchObject({
      reason: "customer asked",
      changedAt: "2026-11-28T13:30:00.000Z",
    })
    await agent.until("the order is cancelled in the customer's history", () =>
      orderInHistory("W-2", "cancelled"),
    )
  })

  it("refuses a webhook without the tenant's signature with 401, and writes nothing", async () => {
    const event = orderEvent("W-3", 1, "placed")
    const forged = await post(event, { secret: "not-the-storefront-secret-0000" })
    expect(forged.status).toBe(401)
    expect(await forged.json()).toMatchObject({ field: "x-storefront-signature" })
    const headers = { "content-type": "application/json", "x-storefront-event-id": event.id }
    const unsigned = await fetch(`${agent.url}/storefront/webhooks`, {
      method: "POST",
      headers,
      body: JSON.stringify(event),
    })
    expect(unsigned.status).toBe(401)
    // Signed by the storefront, but not the body that arrives.
    const altered = await fetch(`${agent.url}/storefront/webhooks`, {
      method: "POST",
      headers: {
        ...headers,
        "x-storefront-signature": storefrontSignature(storefront.secret, JSON.stringify(event)),
      },
      body: JSON.stringify({ ...event, order: { ...event.order, customerId: "c-someone-else" } }),
    })
    expect(altered.status).toBe(401)
    const events = await agent.everything()
    expect(ofOrder(events, "W-3")).toEqual([])
    expect(requestsOf(events, [event])).toEqual([])
  })

  it("refuses a body that is not an event with 400 naming the field, an oversized one with 413, and writes nothing", async () => {
    const event = orderEvent("W-4", 1, "placed")
    const cases = [
      [{ ...event, order: { ...event.order, status: "lost" } }, "order.status"],
      [{ ...event, order: { ...event.order, lines: [] } }, "order.lines"],
      [{ ...event, order: { ...event.order, placedAt: "yesterday" } }, "order.placedAt"],
      [{ ...event, topic: "orders/teleported" }, "topic"],
    ] as const
    for (const [body, field] of cases) {
      const response = await post(event, { body: JSON.stringify(body) })
      expect(response.status, field).toBe(400)
      expect(await response.json(), field).toMatchObject({ field })
    }
    const badId = await post(event, {
      body: JSON.stringify({ ...event, order: { ...event.order, id: "W.4" } }),
    })
    expect(badId.status).toBe(400)
    expect(await badId.json()).toMatchObject({
      field: "order.id",
      error: expect.stringContaining(`order id "W.4" must be 1-63 characters`),
    })
    const notJson = await post(event, { body: "{ not json" })
    expect(notJson.status).toBe(400)
    const huge = await post(event, {
      body: JSON.stringify({ ...event, padding: "x".repeat(MAX_WEBHOOK_BYTES) }),
    })
    expect(huge.status).toBe(413)
    const events = await agent.everything()
    expect(ofOrder(events, "W-4")).toEqual([])
    expect(requestsOf(events, [event])).toEqual([])
  })

  it("refuses with 422 a snapshot whose lines are not those the order was placed with", async () => {
    const changed = orderEvent("W-1", 5, "delivered", {
      lines: [{ sku: "LAMP-1", name: "Desk lamp", quantity: 3, unitPriceMinor: 2_495 }],
    })
    const response = await post(changed)
    expect(response.status).toBe(422)
    expect(await response.json()).toMatchObject({ error: expect.stringMatching(/other lines.*LAMP-1 × 3/) })
    expect(statusesOf(ofOrder(await agent.everything(), "W-1"))).toEqual([
      "placed",
      "paid",
      "shipped",
      "delivered",
    ])
  })
})

describe("reconciliation with the storefront's listing", () => {
  // An order no webhook ever brought, listed after the orders that came by webhook.
  const r1 = [orderEvent("R-1", 1, "placed"), orderEvent("R-1", 2, "paid"), orderEvent("R-1", 3, "shipped")]
  const cursorOf = async (): Promise<number | undefined> => {
    const client = new pg.Client({ connectionString: postgresTestUrl() })
    await client.connect()
    try {
      const { rows } = await client.query<{ seq: string }>(
        `select seq from "${readModelSchemaOf(agent.namespace, customerOpsName)}".storefront_cursors where tenant_id = 'shop'`,
      )
      return rows[0] === undefined ? undefined : Number(rows[0].seq)
    } finally {
      await client.end()
    }
  }

  it("lands an event no webhook brought, once, and records nothing again for those that came by webhook", async () => {
    listing.events.push(...w1, ...w2, ...r1)
    const last = r1.at(-1)!.seq
    await agent.until("the listing is applied to its end", async () =>
      (await cursorOf()) === last ? true : undefined,
    )
    // A few more polls find nothing new.
    const asked = listing.asked.length
    await agent.until("the listing is polled again", async () =>
      listing.asked.length >= asked + 3 ? true : undefined,
    )
    expect(listing.asked.slice(asked).every((after) => after === last)).toBe(true)
    const events = await agent.everything()
    expect(statusesOf(ofOrder(events, "R-1"))).toEqual(["placed", "paid", "shipped"])
    expect(statusesOf(ofOrder(events, "W-1"))).toEqual(["placed", "paid", "shipped", "delivered"])
    expect(statusesOf(ofOrder(events, "W-2"))).toEqual(["placed", "paid", "cancelled"])
    expect(requestsOf(events, r1)).toHaveLength(3)
    expect(requestsOf(events, r1).every((r) => (r.payload as { origin: string }).origin === "schedule")).toBe(
      true,
    )
    // The webhooks' events were received before: their first records stand.
    expect(
      requestsOf(events, [...w1, ...w2]).every((r) => (r.payload as { origin: string }).origin === "http"),
    ).toBe(true)
    await agent.until("the listed order is in the customer's history", () => orderInHistory("R-1", "shipped"))
    const status = (await (await fetch(`${agent.url}/status`)).json()) as {
      workers: ReadonlyArray<{ name: string; status: unknown }>
    }
    expect(status.workers.find((w) => w.name === "storefront-reconciliation")?.status).toMatchObject({
      tenantId: "shop",
      cursor: last,
      lastError: null,
    })
  })

  it("rides out the storefront being away, retrying with backoff while the agent stays ready", async () => {
    const paid = orderEvent("R-2", 2, "paid")
    listing.down = true
    try {
      const retrying = await agent.until("the reconciliation retries", async () => {
        const status = (await (await fetch(`${agent.url}/status`)).json()) as {
          parts: ReadonlyArray<{ name: string; state: string; error?: string }>
        }
        const part = status.parts.find((p) => p.name === "storefront-reconciliation")
        return part?.state === "retrying" ? part : undefined
      })
      expect(retrying.error).toContain("HTTP 503")
      // Ready throughout: its webhooks and tickets do not wait on the storefront's listing.
      for (let probe = 0; probe < 10; probe += 1) {
        expect((await fetch(`${agent.url}/readyz`)).status).toBe(200)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      listing.events.push(paid)
    } finally {
      listing.down = false
    }
    await agent.until("the listing is applied again", async () =>
      (await cursorOf()) === paid.seq ? true : undefined,
    )
    expect(statusesOf(ofOrder(await agent.everything(), "R-2"))).toEqual(["placed", "paid"])
  })

  it("resumes from its cursor after a restart, and applies what was listed since", async () => {
    const applied = (await cursorOf())!
    const asked = listing.asked.length
    await agent.restart()
    const delivered = orderEvent("R-1", 4, "delivered")
    listing.events.push(delivered)
    await agent.until("the new event is applied", async () =>
      (await cursorOf()) === delivered.seq ? true : undefined,
    )
    // Neither the old process nor the new one asked for the listing again from before the cursor.
    expect(Math.min(...listing.asked.slice(asked))).toBe(applied)
    const events = await agent.everything()
    expect(statusesOf(ofOrder(events, "R-1"))).toEqual(["placed", "paid", "shipped", "delivered"])
    expect(requestsOf(events, [...r1, delivered])).toHaveLength(4)
  })

  it("skips a listed event whose order id is too long, and lands the events around it", async () => {
    const skipped = async () => {
      const status = (await (await fetch(`${agent.url}/status`)).json()) as {
        workers: ReadonlyArray<{ name: string; status: { skipped: number } }>
      }
      return status.workers.find((w) => w.name === "storefront-reconciliation")?.status.skipped ?? 0
    }
    const before = await skipped()
    const tooLong = orderEvent("L".repeat(64), 1, "placed")
    const around = [orderEvent("R-3", 1, "placed"), tooLong, orderEvent("R-3", 2, "paid")]
    listing.events.push(...around)
    await agent.until("the listing is applied past the bad event", async () =>
      (await cursorOf()) === around.at(-1)!.seq ? true : undefined,
    )
    const events = await agent.everything()
    expect(statusesOf(ofOrder(events, "R-3"))).toEqual(["placed", "paid"])
    expect(
      events.filter((e) => e.aggregateType === "order" && e.aggregateId.includes("L".repeat(64))),
    ).toEqual([])
    expect(requestsOf(events, [tooLong])).toEqual([])
    expect(await skipped()).toBe(before + 1)
  })
})
