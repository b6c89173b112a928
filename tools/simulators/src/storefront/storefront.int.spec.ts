import { createHmac, timingSafeEqual } from "node:crypto"
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type SimulatorHandle, serveSimulator } from "../simulator.ts"
import { storefrontSystem } from "../systems.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await serveSimulator(storefrontSystem())
})
afterAll(async () => {
  await sim?.stop()
})
beforeEach(() => sim.reset())

type Body = Record<string, unknown>

const call = async (method: "GET" | "POST", path: string, body?: unknown, base = sim.url) => {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  })
  return { status: response.status, body: (await response.json()) as Body }
}
const post = (path: string, body: unknown = {}, base?: string) => call("POST", path, body, base)
const get = (path: string) => call("GET", path)

const products = [
  {
    sku: "lamp",
    name: "Oak desk lamp",
    brand: "Lumen",
    category: "lighting",
    attributes: [{ name: "colour", value: "oak" }],
    highlights: ["Dimmable", "Warm light"],
    priceMinor: 4900,
    currency: "EUR",
  },
  {
    sku: "mug",
    name: "Stoneware mug",
    category: "kitchen",
    attributes: [],
    highlights: [],
    priceMinor: 1500,
    currency: "EUR",
  },
]
const seedCatalogue = (base?: string) => post("/_admin/catalogue", { products }, base)

const placeOrder = (extra: Body = {}, base?: string) =>
  post(
    "/_admin/orders",
    {
      customerId: "c-1",
      lines: [
        { sku: "lamp", quantity: 2 },
        { sku: "mug", quantity: 3 },
      ],
      ...extra,
    },
    base,
  )

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly raw: Buffer
  readonly event: { readonly id: string; readonly seq: number; readonly topic: string }
}

/** How a test receiver answers a request: a status, a dropped connection, or never. */
type Answer = number | "destroy" | "hang"

const receivers: Array<{ close(): Promise<void> }> = []

/** A real webhook receiver on a local port; `answer` decides each reply from the requests so far. */
const receiver = async (answer: (received: ReadonlyArray<Received>) => Answer = () => 200) => {
  const received: Array<Received> = []
  const hanging: Array<ServerResponse> = []
  const closedHanging: Array<ServerResponse> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const raw = Buffer.concat(chunks)
      received.push({
        headers: req.headers,
        raw,
        event: JSON.parse(raw.toString("utf8")) as Received["event"],
      })
      const reply = answer(received)
      if (reply === "destroy") return req.socket.destroy()
      if (reply === "hang") {
        hanging.push(res)
        res.on("close", () => closedHanging.push(res))
        return
      }
      res.writeHead(reply).end()
    })
  })
  // Every connection the sender opened, and whether it is still open.
  const connections: Array<{ open: boolean }> = []
  server.on("connection", (socket) => {
    const connection = { open: true }
    connections.push(connection)
    socket.on("close", () => {
      connection.open = false
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const handle = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    hanging,
    closedHanging,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  receivers.push(handle)
  return handle
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()))
})

const subscribe = async (url: string, secret = "shh", base?: string) =>
  (await post("/_admin/webhooks", { url, secret }, base)).body.id as string

interface Attempt {
  readonly subscription: string
  readonly eventId: string
  readonly attempt: number
  readonly status?: number
  readonly error?: string
  readonly at: string
}

const deliveries = async (base = sim.url) =>
  (await call("GET", "/_admin/webhooks/deliveries", undefined, base)).body as {
    deliveries: Array<Attempt>
    pending: number
  }

/** Waits until no delivery waits on a timer or an answer. */
const settled = async (base = sim.url) => {
  const deadline = Date.now() + 10_000
  for (;;) {
    const listing = await deliveries(base)
    if (listing.pending === 0) return listing.deliveries
    if (Date.now() > deadline) throw new Error(`deliveries still pending: ${listing.pending}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("the catalogue", () => {
  it("upserts products and serves them, one by SKU or all", async () => {
    const seeded = await seedCatalogue()
    expect(seeded).toStrictEqual({ status: 200, body: { products } })
    expect((await get("/v1/products")).body).toStrictEqual({ products })
    expect((await get("/v1/products/lamp")).body).toStrictEqual(products[0])
    expect((await get("/v1/products/nope")).status).toBe(404)
    await post("/_admin/catalogue", { products: [{ ...products[1], priceMinor: 1700 }] })
    expect((await get("/v1/products/mug")).body).toMatchObject({ priceMinor: 1700 })
    expect((await get("/v1/products")).body.products).toHaveLength(2)
  })

  it("refuses a bad product naming its index and field, and stores none of the request", async () => {
    const bad = await post("/_admin/catalogue", {
      products: [products[0], { ...products[1], priceMinor: 12.5 }],
    })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ error: { type: "invalid_request" } })
    expect(JSON.stringify(bad.body)).toContain("products[1].priceMinor")
    const attribute = await post("/_admin/catalogue", {
      products: [{ ...products[0], attributes: [{ name: "colour" }] }],
    })
    expect(JSON.stringify(attribute.body)).toContain("products[0].attributes[0]")
    expect((await get("/v1/products")).body).toStrictEqual({ products: [] })
  })
})

describe("orders", () => {
  beforeEach(async () => {
    await seedCatalogue()
  })

  it("places an order priced and named from the catalogue, with its event and ledger entry", async () => {
    const placed = await placeOrder({ email: "ana@example.com", at: "2025-03-01T09:30:00Z" })
    const snapshot = {
      id: "ord_1",
      customerId: "c-1",
      email: "ana@example.com",
      status: "placed",
      lines: [
        { sku: "lamp", name: "Oak desk lamp", quantity: 2, unitPriceMinor: 4900 },
        { sku: "mug", name: "Stoneware mug", quantity: 3, unitPriceMinor: 1500 },
      ],
      currency: "EUR",
      totalMinor: 14300,
      placedAt: "2025-03-01T09:30:00.000Z",
      paidAt: null,
      shipment: null,
      shippedAt: null,
      deliveredAt: null,
      cancelledAt: null,
      cancelReason: null,
      returnedAt: null,
      returnedLines: [],
      version: 1,
      updatedAt: "2025-03-01T09:30:00.000Z",
    }
    expect(placed).toStrictEqual({ status: 200, body: snapshot })
    expect((await get("/v1/orders/ord_1")).body).toStrictEqual(snapshot)
    expect((await get("/v1/orders/ord_9")).status).toBe(404)
    expect((await get("/v1/order-events")).body).toStrictEqual({
      events: [
        {
          id: "evt_1",
          seq: 1,
          topic: "orders/created",
          occurredAt: "2025-03-01T09:30:00.000Z",
          order: snapshot,
        },
      ],
      next: 1,
      more: false,
    })
    expect(sim.ledger()).toMatchObject([
      {
        system: "storefront",
        key: "evt_1",
        operation: "order.created",
        resource: "ord_1",
        params: { lines: snapshot.lines, status: "placed" },
      },
    ])
    expect((await placeOrder({ orderId: "web-7" })).body).toMatchObject({ id: "web-7", email: null })
    expect((await placeOrder()).body).toMatchObject({ id: "ord_2" })
  })

  it("refuses an unknown SKU naming it, and a duplicate order id with 409", async () => {
    const unknown = await placeOrder({
      lines: [
        { sku: "lamp", quantity: 1 },
        { sku: "sofa-9", quantity: 1 },
      ],
    })
    expect(unknown.status).toBe(400)
    expect(unknown.body).toMatchObject({ error: { type: "unknown_sku", sku: "sofa-9" } })
    expect(JSON.stringify(unknown.body)).toContain("sofa-9")
    expect((await placeOrder({ lines: [{ sku: "lamp", quantity: 0 }] })).status).toBe(400)
    expect((await placeOrder({ orderId: "o-1" })).status).toBe(200)
    const duplicate = await placeOrder({ orderId: "o-1" })
    expect(duplicate.status).toBe(409)
    expect(duplicate.body).toMatchObject({ error: { type: "duplicate_order" } })
    expect((await get("/v1/order-events")).body.events).toHaveLength(1)
  })

  it("walks an order through payment, shipping, delivery and a partial return", async () => {
    await placeOrder({ at: "2025-03-01T09:00:00Z" })
    const paid = await post("/_admin/orders/ord_1/pay", { at: "2025-03-01T09:05:00Z" })
    expect(paid.body).toMatchObject({ status: "paid", paidAt: "2025-03-01T09:05:00.000Z", version: 2 })
    const shipment = { carrier: "DHL", trackingNumber: "JD0001", expectedDelivery: "2025-03-04" }
    const shipped = await post("/_admin/orders/ord_1/ship", shipment)
    expect(shipped.body).toMatchObject({ status: "shipped", shipment, version: 3 })
    expect((await post("/_admin/orders/ord_1/deliver")).body).toMatchObject({
      status: "delivered",
      version: 4,
    })
    const returned = await post("/_admin/orders/ord_1/return", {
      lines: [{ sku: "mug", quantity: 1 }],
      at: "2025-03-10T12:00:00+01:00",
    })
    expect(returned.body).toMatchObject({
      status: "returned",
      returnedAt: "2025-03-10T11:00:00.000Z",
      returnedLines: [{ sku: "mug", quantity: 1 }],
      version: 5,
      updatedAt: "2025-03-10T11:00:00.000Z",
    })
    const events = (await get("/v1/order-events")).body.events as Array<{
      topic: string
      order: { version: number }
    }>
    expect(events.map((e) => [e.topic, e.order.version])).toStrictEqual([
      ["orders/created", 1],
      ["orders/paid", 2],
      ["orders/shipped", 3],
      ["orders/delivered", 4],
      ["orders/returned", 5],
    ])
    expect(sim.ledger().map((e) => [e.operation, e.key])).toStrictEqual([
      ["order.created", "evt_1"],
      ["order.paid", "evt_2"],
      ["order.shipped", "evt_3"],
      ["order.delivered", "evt_4"],
      ["order.returned", "evt_5"],
    ])
  })

  it("refuses a transition the order's status does not allow with 409 naming from and to", async () => {
    await placeOrder()
    const early = await post("/_admin/orders/ord_1/ship", { carrier: "DHL", trackingNumber: "1" })
    expect(early.status).toBe(409)
    expect(early.body).toMatchObject({ error: { type: "invalid_transition", from: "placed", to: "shipped" } })
    expect(JSON.stringify(early.body)).toMatch(/placed.*shipped/)
    await post("/_admin/orders/ord_1/cancel", { reason: "changed mind" })
    const late = await post("/_admin/orders/ord_1/pay")
    expect(late.body).toMatchObject({ error: { type: "invalid_transition", from: "cancelled", to: "paid" } })
    expect((await post("/_admin/orders/ord_1/return")).body).toMatchObject({
      error: { from: "cancelled", to: "returned" },
    })
    expect((await post("/_admin/orders/ord_9/pay")).status).toBe(404)
    expect((await get("/v1/orders/ord_1")).body).toMatchObject({
      status: "cancelled",
      cancelReason: "changed mind",
      version: 2,
    })
  })

  it("refuses bad action bodies with 400", async () => {
    await placeOrder()
    await post("/_admin/orders/ord_1/pay")
    expect((await post("/_admin/orders/ord_1/ship", { carrier: "DHL" })).status).toBe(400)
    const badDate = { carrier: "DHL", trackingNumber: "1", expectedDelivery: "2025-02-30" }
    expect((await post("/_admin/orders/ord_1/ship", badDate)).status).toBe(400)
    expect(
      (await post("/_admin/orders/ord_1/ship", { carrier: "DHL", trackingNumber: "1", at: "soon" })).status,
    ).toBe(400)
    await post("/_admin/orders/ord_1/ship", { carrier: "DHL", trackingNumber: "1" })
    const tooMany = await post("/_admin/orders/ord_1/return", { lines: [{ sku: "mug", quantity: 4 }] })
    expect(tooMany.status).toBe(400)
    expect(JSON.stringify(tooMany.body)).toContain("lines[0].quantity")
    expect((await get("/v1/orders/ord_1")).body).toMatchObject({ status: "shipped", version: 3 })
  })

  it("counts units sold for paid orders, less cancellations and returns", async () => {
    await placeOrder() // ord_1: 2 lamps, 3 mugs, paid and kept
    await post("/_admin/orders/ord_1/pay")
    await placeOrder() // ord_2: placed, never paid
    await placeOrder() // ord_3: paid, then cancelled
    await post("/_admin/orders/ord_3/pay")
    await post("/_admin/orders/ord_3/cancel")
    await placeOrder() // ord_4: delivered, then one mug returned
    await post("/_admin/orders/ord_4/pay")
    await post("/_admin/orders/ord_4/ship", { carrier: "DHL", trackingNumber: "1" })
    await post("/_admin/orders/ord_4/deliver")
    await post("/_admin/orders/ord_4/return", { lines: [{ sku: "mug", quantity: 1 }] })
    await placeOrder({ lines: [{ sku: "lamp", quantity: 1 }] }) // ord_5: shipped, returned whole
    await post("/_admin/orders/ord_5/pay")
    await post("/_admin/orders/ord_5/ship", { carrier: "DHL", trackingNumber: "2" })
    await post("/_admin/orders/ord_5/return")
    const state = sim.state()
    expect(state.unitsSold).toStrictEqual({ lamp: 4, mug: 5 })
    expect(state.unitsReturned).toStrictEqual({ mug: 1, lamp: 1 })
    expect(state.orders).toHaveLength(5)
  })

  it("pages the order-event feed with after, limit and more", async () => {
    for (let i = 0; i < 5; i++) await placeOrder()
    const first = (await get("/v1/order-events?limit=2")).body as { events: Array<{ seq: number }> } & Body
    expect(first.events.map((e) => e.seq)).toStrictEqual([1, 2])
    expect(first).toMatchObject({ next: 2, more: true })
    const second = (await get("/v1/order-events?after=2&limit=2")).body as {
      events: Array<{ seq: number }>
    } & Body
    expect(second.events.map((e) => e.seq)).toStrictEqual([3, 4])
    expect(second).toMatchObject({ next: 4, more: true })
    const last = (await get("/v1/order-events?after=4&limit=2")).body as {
      events: Array<{ id: string }>
    } & Body
    expect(last.events.map((e) => e.id)).toStrictEqual(["evt_5"])
    expect(last).toMatchObject({ next: 5, more: false })
    expect((await get("/v1/order-events?after=5")).body).toStrictEqual({ events: [], next: 5, more: false })
    expect((await get("/v1/order-events?after=9")).body).toStrictEqual({ events: [], next: 9, more: false })
    expect((await get("/v1/order-events")).body.events).toHaveLength(5)
    expect((await get("/v1/order-events?limit=0")).status).toBe(400)
    expect((await get("/v1/order-events?limit=501")).status).toBe(400)
    expect((await get("/v1/order-events?after=-1")).status).toBe(400)
  })

  it("keeps the stock and listing routes as they were", async () => {
    await post("/_admin/stock", { lamp: 5 })
    await placeOrder()
    expect(sim.state()).toMatchObject({ stock: { lamp: 5 }, listings: [], orders: [{ id: "ord_1" }] })
  })
})

describe("webhooks", () => {
  beforeEach(async () => {
    await seedCatalogue()
  })

  it("signs the feed event's exact bytes with the subscription's secret", async () => {
    const hooks = await receiver()
    expect(await subscribe(hooks.url, "s3cret")).toBe("wh_1")
    await placeOrder()
    await settled()
    expect(hooks.received).toHaveLength(1)
    const [delivery] = hooks.received
    if (delivery === undefined) throw new Error("no delivery")
    const event = ((await get("/v1/order-events")).body.events as Array<unknown>)[0]
    expect(JSON.parse(delivery.raw.toString("utf8"))).toStrictEqual(event)
    expect(delivery.headers).toMatchObject({
      "content-type": "application/json",
      "x-storefront-event-id": "evt_1",
      "x-storefront-topic": "orders/created",
      "x-storefront-delivery-attempt": "1",
    })
    const verifies = (secret: string) => {
      const expected = Buffer.from(
        `sha256=${createHmac("sha256", secret).update(delivery.raw).digest("hex")}`,
      )
      const given = Buffer.from(String(delivery.headers["x-storefront-signature"]))
      return expected.length === given.length && timingSafeEqual(expected, given)
    }
    expect(verifies("s3cret")).toBe(true)
    expect(verifies("other")).toBe(false)
  })

  it("delivers over connections it keeps and reuses, at most 16 at once, and closes them on reset", async () => {
    const hooks = await receiver()
    await subscribe(hooks.url)
    // A burst: forty orders placed at once, forty deliveries in flight together.
    await Promise.all(Array.from({ length: 40 }, (_, i) => placeOrder({ customerId: `c-${i}` })))
    await settled()
    expect(hooks.received).toHaveLength(40)
    const opened = hooks.connections.length
    expect(opened).toBeGreaterThan(0)
    expect(opened).toBeLessThanOrEqual(16)
    // Later deliveries go over the connections kept open, not new ones.
    await placeOrder({ customerId: "c-late" })
    await settled()
    expect(hooks.received).toHaveLength(41)
    expect(hooks.connections).toHaveLength(opened)
    // A reset leaves no idle connection of ours open on the receiver.
    sim.reset()
    const deadline = Date.now() + 2_000
    while (hooks.connections.some((c) => c.open) && Date.now() < deadline) await sleep(5)
    expect(hooks.connections.filter((c) => c.open)).toHaveLength(0)
  })

  it("retries a failing receiver with backoff until it answers 2xx", async () => {
    await post("/_admin/webhook-faults", { retryBaseMs: 5 })
    const hooks = await receiver((received) => (received.length <= 2 ? 503 : 200))
    await subscribe(hooks.url)
    await placeOrder()
    const attempts = await settled()
    expect(hooks.received.map((r) => r.headers["x-storefront-delivery-attempt"])).toStrictEqual([
      "1",
      "2",
      "3",
    ])
    expect(new Set(hooks.received.map((r) => r.event.id))).toStrictEqual(new Set(["evt_1"]))
    expect(attempts.map(({ attempt, status, eventId }) => ({ attempt, status, eventId }))).toStrictEqual([
      { attempt: 1, status: 503, eventId: "evt_1" },
      { attempt: 2, status: 503, eventId: "evt_1" },
      { attempt: 3, status: 200, eventId: "evt_1" },
    ])
    expect(attempts.filter((a) => a.status === 200)).toHaveLength(1)
  })

  it("retries network errors and gives up after maxAttempts, leaving the event in the feed", async () => {
    await post("/_admin/webhook-faults", { retryBaseMs: 2, maxAttempts: 3 })
    const hooks = await receiver(() => "destroy")
    await subscribe(hooks.url)
    await placeOrder()
    const attempts = await settled()
    expect(attempts.map((a) => a.attempt)).toStrictEqual([1, 2, 3])
    for (const a of attempts) {
      expect(a.status).toBeUndefined()
      expect(a.error).toEqual(expect.any(String))
    }
    await sleep(30)
    expect(hooks.received).toHaveLength(3)
    expect((await get("/v1/order-events")).body.events).toHaveLength(1)
  })

  it("delivers duplicates as independent deliveries of the same event id", async () => {
    await post("/_admin/webhook-faults", { duplicateRate: 1 })
    const hooks = await receiver()
    await subscribe(hooks.url)
    await placeOrder()
    await post("/_admin/orders/ord_1/pay")
    await settled()
    const ids = hooks.received.map((r) => r.headers["x-storefront-event-id"]).sort()
    expect(ids).toStrictEqual(["evt_1", "evt_1", "evt_2", "evt_2"])
    expect(hooks.received.every((r) => r.headers["x-storefront-delivery-attempt"] === "1")).toBe(true)
    const twins = hooks.received.filter((r) => r.event.id === "evt_1").map((r) => r.raw.toString("utf8"))
    expect(twins[0]).toBe(twins[1])
  })

  it("drops events that only the reconciliation listing then has", async () => {
    await post("/_admin/webhook-faults", { dropRate: 1 })
    const hooks = await receiver()
    await subscribe(hooks.url)
    await placeOrder()
    await sleep(30)
    expect(await settled()).toStrictEqual([])
    expect(hooks.received).toHaveLength(0)
    expect((await get("/v1/order-events")).body.events).toMatchObject([
      { id: "evt_1", topic: "orders/created" },
    ])
  })

  it("reorders events under delays, and makes the same choices again under the same seed", async () => {
    const run = async () => {
      sim.reset()
      await seedCatalogue()
      await post("/_admin/webhook-faults", { dropRate: 0.3, duplicateRate: 0.3, maxDelayMs: 100, seed: 7 })
      const hooks = await receiver()
      await subscribe(hooks.url)
      // Placed at once, so that even a slow machine places them well within the delays' spread.
      await Promise.all(Array.from({ length: 15 }, () => placeOrder()))
      await settled()
      return hooks.received.map((r) => r.event.seq)
    }
    const first = await run()
    const second = await run()
    const counts = (seqs: ReadonlyArray<number>) => [...seqs].sort((a, b) => a - b)
    expect(counts(second)).toStrictEqual(counts(first))
    expect(first.length).toBeGreaterThan(0)
    expect(new Set(first).size).toBeLessThan(15) // some dropped
    expect(new Set(first).size).toBeLessThan(first.length) // some duplicated
    expect(first).not.toStrictEqual(counts(first)) // not in feed order
  })

  it("sends a subscription only the events appended after it was made", async () => {
    await placeOrder()
    const hooks = await receiver()
    await subscribe(hooks.url)
    await post("/_admin/orders/ord_1/pay")
    await settled()
    expect(hooks.received.map((r) => r.event.topic)).toStrictEqual(["orders/paid"])
  })

  it("refuses bad subscriptions and fault plans with 400", async () => {
    expect((await post("/_admin/webhooks", { url: "not a url", secret: "s" })).status).toBe(400)
    expect((await post("/_admin/webhooks", { url: "http://127.0.0.1:1/x" })).status).toBe(400)
    const rate = await post("/_admin/webhook-faults", { dropRate: 2 })
    expect(rate.status).toBe(400)
    expect(JSON.stringify(rate.body)).toContain("dropRate")
    expect((await post("/_admin/webhook-faults", { maxAttempts: 0 })).status).toBe(400)
  })
})

describe("background work", () => {
  const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length

  it("reset cancels scheduled retries: nothing more is sent or recorded", async () => {
    await seedCatalogue()
    // Attempt 2 would follow attempt 1 by 125..375 ms: time to reset first, and to see it not come.
    await post("/_admin/webhook-faults", { retryBaseMs: 250, maxAttempts: 8 })
    const hooks = await receiver(() => 503)
    await subscribe(hooks.url)
    await placeOrder()
    const deadline = Date.now() + 5_000
    while ((await deliveries()).deliveries.length === 0 && Date.now() < deadline) await sleep(5)
    sim.reset()
    expect(await deliveries()).toStrictEqual({ deliveries: [], pending: 0 })
    await sleep(600)
    expect(hooks.received).toHaveLength(1)
    expect(await deliveries()).toStrictEqual({ deliveries: [], pending: 0 })
  })

  it("stop cancels scheduled retries and in-flight requests and leaves no timer behind", async () => {
    const failing = await receiver(() => 503)
    const silent = await receiver(() => "hang")
    const before = timeouts()
    const own = await serveSimulator(storefrontSystem())
    try {
      await seedCatalogue(own.url)
      await post("/_admin/webhook-faults", { retryBaseMs: 60_000 }, own.url)
      await subscribe(failing.url, "a", own.url)
      await subscribe(silent.url, "b", own.url)
      await placeOrder({}, own.url)
      const deadline = Date.now() + 5_000
      while ((failing.received.length === 0 || silent.hanging.length === 0) && Date.now() < deadline)
        await sleep(5)
      expect((await deliveries(own.url)).pending).toBe(2)
      expect(timeouts()).toBeGreaterThan(before)
    } finally {
      const stopping = Date.now()
      await own.stop()
      // The silent receiver's request is aborted, not waited on until its 5 s timeout.
      expect(Date.now() - stopping).toBeLessThan(1_000)
    }
    await sleep(20)
    expect(silent.closedHanging).toHaveLength(1)
    expect(timeouts()).toBeLessThanOrEqual(before)
    expect(failing.received).toHaveLength(1)
  })
})
