import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
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
