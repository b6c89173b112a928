import { type EventEnvelope, parseTenantScopedId } from "@mesh/contracts"
import { storefront } from "@mesh/customer-ops/testing"
import type { StockItemView } from "@mesh/procurement/testing"
import type { OrderSnapshot } from "@mesh/simulators"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ShopFloor, startShopFloor } from "./testing/shopFloor.ts"

// The shop end to end: shoppers order and pay at the storefront simulator, whose webhooks come
// twice, late and out of order or never (its listing has those); the customer-ops agent records
// them on the customer stream, and the procurement agent reserves, ships and restocks from it.
// Both agents in their own processes, in one namespace on one NATS server, against one storefront
// whose own state and ledger say what the agents must have made of it.

const nats = useNatsServer()
let floor: ShopFloor | undefined

const sku = "MUG-1"
const openingStock = 10
const shoppers = 50

beforeAll(async () => {
  floor = await startShopFloor(nats.url, "shop")
}, 180_000)

afterAll(async () => {
  await floor?.stop()
})

const agents = () => {
  if (floor === undefined) throw new Error("the shop's floor did not start")
  return floor
}
const admin = <A>(path: string, body: unknown = {}) => agents().admin<A>(path, body)
const storefrontGet = <A>(path: string) => agents().storefrontGet<A>(path)

const stockOf = async () => (await agents().procurement.json<StockItemView>(`/stock-items/${sku}`)).stock

const ofType = (events: ReadonlyArray<EventEnvelope>, type: string) => events.filter((e) => e.type === type)

/** The storefront's id of the order an event is about: its aggregate id is the order's in its tenant. */
const storefrontIdOf = (event: EventEnvelope): string => {
  const order = parseTenantScopedId(event.aggregateId)
  expect(order?.tenantId).toBe(storefront.tenant)
  return order?.ownId ?? event.aggregateId
}

/** The orders of the log as `<order> <status>`, one per event: `placed` for its OrderPlaced. */
const orderStatusesInLog = (events: ReadonlyArray<EventEnvelope>): ReadonlyArray<string> =>
  events
    .filter((e) => e.type === "OrderPlaced" || e.type === "OrderStatusChanged")
    .map(
      (e) =>
        `${storefrontIdOf(e)} ${e.type === "OrderPlaced" ? "placed" : (e.payload as { status: string }).status}`,
    )
    .sort()

/** The storefront's order events as `<order> <status>`, one per entry of its ledger. */
const orderStatusesInLedger = (): ReadonlyArray<string> =>
  agents()
    .simulators.storefront.ledger()
    .filter((e) => e.operation.startsWith("order."))
    .map((e) => `${e.resource} ${String(e.params.status)}`)
    .sort()

/**
 * What the log must hold of the storefront's ledger: each of its order events once, and nothing it
 * did not say (a parcel returned without a delivery records none).
 */
const orderStatusesExpected = (): ReadonlyArray<string> => [...orderStatusesInLedger()].sort()

/** What customer-ops' /status shows of its reconciliation with the storefront's listing. */
interface Reconciliation {
  readonly cursor: number | null
  /** Events the listing brought that recorded something (the rest had come by webhook). */
  readonly recorded: number
  readonly skipped: number
  readonly lastError: string | null
}

/**
 * Waits until the storefront has nothing left to tell customer-ops: no webhook delivery pending, and
 * the reconciliation has applied the listing to its last event; what the reconciliation then shows.
 */
const storefrontHeard = () =>
  agents().shop.until("every storefront event is delivered or reconciled", async () => {
    const { pending } = await storefrontGet<{ pending: number }>("/_admin/webhooks/deliveries")
    const { next } = await storefrontGet<{ next: number }>("/v1/order-events?after=0&limit=500")
    const status = (await (await fetch(`${agents().shop.url}/status`)).json()) as {
      workers: ReadonlyArray<{ name: string; status: Reconciliation }>
    }
    const reconciliation = status.workers.find((w) => w.name === "storefront-reconciliation")?.status
    return pending === 0 && reconciliation?.cursor === next ? reconciliation : undefined
  })

const orders: Array<string> = []
let reserved: ReadonlyArray<string> = []

describe("no overselling across the storefront, customer-ops and procurement", () => {
  it(`reserves ${openingStock} units for ${openingStock} of ${shoppers} orders paid at once, and back-orders the rest`, async () => {
    const { procurement } = agents()
    await admin("/_admin/catalogue", {
      products: [
        {
          sku,
          name: "Stoneware mug",
          category: "kitchen",
          attributes: [{ name: "colour", value: "slate" }],
          highlights: ["Dishwasher safe"],
          priceMinor: 1_800,
          currency: "EUR",
        },
      ],
    })
    const setUp = await procurement.call(`/stock-items/${sku}`, {
      method: "PUT",
      body: {
        tenantId: storefront.tenant,
        name: "Stoneware mug",
        reorderPoint: 3,
        reorderQuantity: 20,
        neededWithinDays: 7,
        suppliers: [
          {
            supplierId: "acme",
            name: "Acme Ceramics",
            unitCost: { amountMinor: 600, currency: "EUR" },
            leadTimeDays: 3,
            minOrderQuantity: 1,
          },
        ],
        openingStock,
      },
    })
    expect(setUp.status).toBeLessThan(300)
    await procurement.until("the opening stock is free to promise", async () => {
      const response = await procurement.call(`/stock-items/${sku}`)
      if (!response.ok) return undefined
      const { stock } = (await response.json()) as StockItemView
      return stock.onHand === openingStock && stock.available === openingStock ? true : undefined
    })

    // A storefront having a bad day: a third of its webhooks twice, all up to 200 ms late (so out
    // of order), one in ten never sent.
    await admin("/_admin/webhook-faults", { duplicateRate: 0.3, dropRate: 0.1, maxDelayMs: 200, seed: 13 })
    orders.push(
      ...(await Promise.all(
        Array.from({ length: shoppers }, async (_, i) => {
          const order = await admin<OrderSnapshot>("/_admin/orders", {
            customerId: `shopper-${i}`,
            email: `shopper-${i}@example.com`,
            lines: [{ sku, quantity: 1 }],
          })
          await admin(`/_admin/orders/${order.id}/pay`)
          return order.id
        }),
      )),
    )

    // The reservations register is read while the orders are allocated: it never holds more than there is.
    let mostHeld = 0
    await procurement.until(
      "every paid order is reserved or back-ordered",
      async () => {
        const stock = await stockOf()
        mostHeld = Math.max(mostHeld, stock.held + stock.confirmed)
        const events = await procurement.everything()
        const outcomes = [...ofType(events, "OrderStockReserved"), ...ofType(events, "OrderStockBackordered")]
        return new Set(outcomes.map(storefrontIdOf)).size === shoppers ? true : undefined
      },
      45_000,
    )
    const reconciliation = await storefrontHeard()
    const deliveries = await storefrontGet<{
      deliveries: ReadonlyArray<{ eventId: string; attempt: number }>
    }>("/_admin/webhooks/deliveries")
    const events = await procurement.everything()

    // The faults happened: some events came twice by webhook, some only through the listing.
    const firstAttempts = deliveries.deliveries.filter((d) => d.attempt === 1).map((d) => d.eventId)
    const feed = await storefrontGet<{ events: ReadonlyArray<{ id: string }> }>(
      "/v1/order-events?after=0&limit=500",
    )
    expect(feed.events).toHaveLength(2 * shoppers)
    expect(firstAttempts.length).toBeGreaterThan(new Set(firstAttempts).size)
    expect(feed.events.filter((e) => !firstAttempts.includes(e.id)).length).toBeGreaterThan(0)
    expect(reconciliation).toMatchObject({ skipped: 0, lastError: null })
    expect(reconciliation.recorded).toBeGreaterThan(0)

    // Every event of the storefront reached the log once: one OrderPlaced and one paid per order.
    expect(orderStatusesInLog(events)).toEqual(orderStatusesInLedger())
    expect(orderStatusesInLog(events)).toEqual(orders.flatMap((id) => [`${id} paid`, `${id} placed`]).sort())

    // Ten reserved, forty back-ordered, each order once, and never more held than there was.
    const reservedEvents = ofType(events, "OrderStockReserved")
    const backordered = ofType(events, "OrderStockBackordered")
    expect(reservedEvents).toHaveLength(openingStock)
    expect(backordered).toHaveLength(shoppers - openingStock)
    expect(new Set([...reservedEvents, ...backordered].map(storefrontIdOf))).toEqual(new Set(orders))
    expect(mostHeld).toBeLessThanOrEqual(openingStock)
    expect(await stockOf()).toMatchObject({ onHand: openingStock, held: openingStock, available: 0 })
    reserved = reservedEvents.map(storefrontIdOf)
  })

  it("takes shipped units off the shelf and puts returned ones back, as the storefront's own books count them", async () => {
    const { procurement } = agents()
    expect(reserved).toHaveLength(openingStock)
    await Promise.all(
      reserved.map((id, i) =>
        admin(`/_admin/orders/${id}/ship`, { carrier: "DHL", trackingNumber: `JD-${i}` }),
      ),
    )
    const returned = reserved.slice(0, 2)
    await Promise.all(returned.map((id) => admin(`/_admin/orders/${id}/return`)))

    // What the storefront says left and came back: units of orders that shipped, less units returned.
    const state = agents().simulators.storefront.state() as unknown as {
      orders: ReadonlyArray<OrderSnapshot>
      unitsReturned: Readonly<Record<string, number>>
    }
    const unitsOf = (lines: ReadonlyArray<{ sku: string; quantity: number }>) =>
      lines.filter((l) => l.sku === sku).reduce((n, l) => n + l.quantity, 0)
    const shippedOrders = state.orders.filter((o) => o.shipment !== null)
    const unitsShipped = shippedOrders.reduce((n, o) => n + unitsOf(o.lines), 0)
    const unitsReturned = shippedOrders.reduce((n, o) => n + unitsOf(o.returnedLines), 0)
    expect(unitsReturned).toBe(state.unitsReturned[sku])
    const expectedOnHand = openingStock - unitsShipped + unitsReturned
    expect(expectedOnHand).toBe(2)

    await storefrontHeard()
    const stock = await procurement.until("the shipments and returns are counted", async () => {
      const events = await procurement.everything()
      const done =
        ofType(events, "OrderStockShipped").length === reserved.length &&
        ofType(events, "OrderStockReturned").length === returned.length
      return done ? await stockOf() : undefined
    })
    expect(stock.onHand).toBe(expectedOnHand)
    // The returned units go to the oldest back-orders: held for them, none left free.
    const refilled = await procurement.until("the returned units fill back-orders", async () => {
      const s = await stockOf()
      return s.held === unitsReturned ? s : undefined
    })
    expect(refilled).toMatchObject({ onHand: expectedOnHand, confirmed: unitsShipped, available: 0 })

    const events = await procurement.everything()
    expect(orderStatusesInLog(events)).toEqual(orderStatusesExpected())
    expect(ofType(events, "OrderStockShipped").map(storefrontIdOf).sort()).toEqual([...reserved].sort())
    expect(ofType(events, "OrderStockReturned").map(storefrontIdOf).sort()).toEqual([...returned].sort())
    // Of the forty back-ordered orders, as many as units came back were reserved since; the rest wait.
    expect(ofType(events, "OrderStockReserved")).toHaveLength(openingStock + unitsReturned)
  })
})
