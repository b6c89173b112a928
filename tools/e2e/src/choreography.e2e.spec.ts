import type { EventEnvelope } from "@mesh/contracts"
import { owner, storefront } from "@mesh/customer-ops/testing"
import type { StockItemView } from "@mesh/procurement/testing"
import type { OrderSnapshot } from "@mesh/simulators"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ShopFloor, startShopFloor } from "./testing/shopFloor.ts"

// The choreography of the shop across its three agents, each in its own process, one namespace on
// one NATS server, cooperating only through the log and the shared registers:
// - a stock-out (procurement's reservations) marks the listing out of stock (content ops), a
//   customer asking when it is back is told the open purchase order's date (customer ops, from
//   procurement's registers and content ops' catalogue), and the delivery brings the listing back;
// - a refund for a returned order: the parcel's return puts the unit back on the shelf
//   (procurement, from customer ops' order events), and the refund is paid once, after a person.
// What the specs assert is what the agents' read models, the registers and the simulators' ledgers
// hold, never a line of output.

const nats = useNatsServer()
let floor: ShopFloor | undefined

const sku = "TEAPOT-1"
const productName = "Green earthenware teapot"
const priceMinor = 3_900

beforeAll(async () => {
  floor = await startShopFloor(nats.url, "chor", { withContentOps: true })
}, 240_000)

afterAll(async () => {
  await floor?.stop()
})

const agents = () => {
  if (floor === undefined) throw new Error("the shop's floor did not start")
  return floor
}

const ofType = (events: ReadonlyArray<EventEnvelope>, type: string) => events.filter((e) => e.type === type)

const stockOf = async () => (await agents().procurement.json<StockItemView>(`/stock-items/${sku}`)).stock

/** What the storefront's ledger recorded of the teapot's listing, in order. */
const listingLedger = () =>
  agents()
    .simulators.storefront.ledger()
    .filter((e) => e.operation.startsWith("listing.") && String(e.params.sku).endsWith(sku))
    .map((e) => e.operation)

/** The messages the mailbox sent to a customer. */
const mailTo = (address: string) =>
  agents()
    .simulators.mailbox.ledger()
    .filter((e) => e.operation === "message.sent" && e.params.to === address)

/** A day as customer ops writes it in a reply, e.g. `9 December 2026`. */
const dayOf = (instant: string) =>
  new Date(instant).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  })

/** Sends a customer's message, waits for its drafted reply, and returns the draft and the ticket. */
const ask = async (customerId: string, subject: string, body: string, orderId?: string) => {
  const { shop } = agents()
  const response = await shop.send({
    messageId: `m-${customerId}-${subject.length}-${body.length}`,
    customerId,
    replyTo: `${customerId}@example.com`,
    subject,
    body,
    ...(orderId === undefined ? {} : { orderId }),
  })
  expect(response.status).toBe(202)
  const { ticketId } = (await response.json()) as { ticketId: string }
  const draft = await shop.until(`${customerId}'s message is drafted an answer`, async () => {
    const drafted = ofType(await shop.everything(), "ReplyDrafted").filter((e) => e.aggregateId === ticketId)
    return drafted[0]?.payload as { body: string; citedFactIds: ReadonlyArray<string> } | undefined
  })
  return { ticketId, draft }
}

/** Waits until a customer has been sent a reply, and returns its body. */
const replySentTo = (address: string) =>
  agents().shop.until(
    `a reply is sent to ${address}`,
    async () => String(mailTo(address)[0]?.params.body ?? "") || undefined,
  )

describe("a stock-out, across procurement, content ops and customer ops", () => {
  let expectedBy = ""

  it("marks the listing out of stock when the last units are promised, with a purchase order opened", async () => {
    const { procurement, content, admin } = agents()
    if (content === undefined) throw new Error("content ops did not start")
    await admin("/_admin/catalogue", {
      products: [
        {
          sku,
          name: productName,
          category: "kitchen",
          attributes: [{ name: "capacity", value: "1200 ml" }],
          highlights: ["Hand glazed"],
          priceMinor,
          currency: "EUR",
        },
      ],
    })
    const setUp = await procurement.call(`/stock-items/${sku}`, {
      method: "PUT",
      body: {
        tenantId: storefront.tenant,
        name: productName,
        reorderPoint: 1,
        reorderQuantity: 6,
        neededWithinDays: 7,
        suppliers: [
          {
            supplierId: "potters",
            name: "The Potters",
            unitCost: { amountMinor: 1_400, currency: "EUR" },
            leadTimeDays: 3,
            minOrderQuantity: 1,
          },
        ],
        openingStock: 2,
      },
    })
    expect(setUp.status).toBeLessThan(300)
    await procurement.until("the opening stock is free to promise", async () =>
      (await stockOf()).available === 2 ? true : undefined,
    )
    const facts = await content.call(`/products/${sku}`, {
      method: "PUT",
      body: {
        tenantId: storefront.tenant,
        productName,
        category: "kitchen",
        attributes: [{ name: "Capacity", value: "1200 ml" }],
        highlights: ["Hand glazed"],
        price: { amountMinor: priceMinor, currency: "EUR" },
      },
    })
    expect(facts.status).toBeLessThan(300)
    await content.until("the listing is published on the storefront", async () =>
      listingLedger().includes("listing.published") ? true : undefined,
    )

    // While there is stock, a customer asking is told so, from procurement's registers.
    const before = await ask("early-bird", "Teapot", `Hi, is the ${productName.toLowerCase()} in stock?`)
    expect(before.draft.citedFactIds).toContain(`stock-${sku}`)
    expect(before.draft.body).toContain(`The ${productName} is in stock at the moment.`)

    // Two shoppers pay for the last two units.
    for (const i of [1, 2]) {
      const order = await admin<OrderSnapshot>("/_admin/orders", {
        customerId: `teapot-${i}`,
        email: `teapot-${i}@example.com`,
        lines: [{ sku, quantity: 1 }],
      })
      await admin(`/_admin/orders/${order.id}/pay`)
    }
    await procurement.until("both units are promised", async () => {
      const stock = await stockOf()
      return stock.held === 2 && stock.available === 0 ? true : undefined
    })
    // Content ops hears it from the registers and marks the listing, and the storefront shows it.
    await content.until("the storefront shows the teapot out of stock", async () =>
      listingLedger().includes("listing.out-of-stock") ? true : undefined,
    )
    const contentEvents = await content.everything()
    expect(ofType(contentEvents, "ListingMarkedOutOfStock")).toHaveLength(1)

    // Procurement reorders; the supplier is new, so the buyer approves it, and it promises a date.
    const drafted = await procurement.until("a purchase order waits for the buyer", async () => {
      const { queue } = await procurement.json<{
        queue: ReadonlyArray<{ actionId: string; kind: string; parametersHash: string }>
      }>("/approvals")
      return queue.find((a) => a.kind === "supplier.place-order")
    })
    const approved = await procurement.call(`/approvals/procurement/${drafted.actionId}/approve`, {
      method: "POST",
      body: { parametersHash: drafted.parametersHash },
    })
    expect(approved.status).toBeLessThan(300)
    const placed = await procurement.until(
      "the supplier accepts the purchase order",
      async () => ofType(await procurement.everything(), "PurchaseOrderPlaced")[0],
    )
    expectedBy = String((placed.payload as { expectedBy?: string }).expectedBy)
    expect(Date.parse(expectedBy)).toBeGreaterThan(Date.now())
  })

  it("tells a customer who never ordered it when it is back: the open purchase order's date", async () => {
    expect(expectedBy).not.toBe("")
    const address = "curious@example.com"
    const { ticketId, draft } = await ask(
      "curious",
      `${productName} out of stock`,
      `When will the ${productName.toLowerCase()} be back in stock?`,
    )
    expect(draft.citedFactIds).toEqual([`stock-${sku}`])
    expect(draft.body).toContain(
      `The ${productName} is out of stock: our supplier is due to deliver new stock by ${dayOf(expectedBy)}.`,
    )
    // Grounded in the records, it goes out on its own (the shipped reply policy): no person needed.
    expect(await replySentTo(address)).toContain(dayOf(expectedBy))
    const view = await agents().shop.ticket(ticketId)
    expect(view?.escalated).toBe(false)
    // The draft's decision names what it was given: procurement's stock, as a retrieved record.
    const retrieved = ofType(await agents().shop.everything(), "DecisionRecorded").flatMap(
      (e) => (e.payload as { retrieved: ReadonlyArray<{ memoryId: string; kind: string }> }).retrieved,
    )
    expect(retrieved).toContainEqual(expect.objectContaining({ memoryId: `stock-${sku}`, kind: "stock" }))
  })

  it("brings the listing back with the delivery, and then tells customers it is in stock, in their language", async () => {
    const { procurement, content } = agents()
    if (content === undefined) throw new Error("content ops did not start")
    const [order] = (
      await procurement.json<{
        purchaseOrders: ReadonlyArray<{ purchaseOrderId: string; quantity: number }>
      }>(`/purchase-orders?sku=${sku}`)
    ).purchaseOrders
    if (order === undefined) throw new Error("no purchase order")
    const receipt = await procurement.call(`/purchase-orders/${order.purchaseOrderId}/receipts`, {
      method: "POST",
      body: { quantity: order.quantity, deliveryId: "dn-teapot-1" },
    })
    expect(receipt.status).toBe(202)
    await procurement.until("the delivery is free to promise", async () =>
      (await stockOf()).available === order.quantity ? true : undefined,
    )
    await content.until("the storefront shows the teapot in stock again", async () =>
      listingLedger().at(-1) === "listing.in-stock" ? true : undefined,
    )
    expect(listingLedger()).toEqual(["listing.published", "listing.out-of-stock", "listing.in-stock"])
    expect(ofType(await content.everything(), "ListingBackInStock")).toHaveLength(1)

    const { draft } = await ask(
      "kunde",
      productName,
      `Hallo, das Produkt ${productName} war ausverkauft. Wann ist es wieder verfügbar?`,
    )
    expect(draft.citedFactIds).toEqual([`stock-${sku}`])
    expect(draft.body).toContain(`The ${productName} is in stock at the moment.`)
  })
})

describe("a refund for a returned order, across customer ops and procurement", () => {
  it("puts the returned unit back on the shelf, and pays the refund once, after a person approves it", async () => {
    const { procurement, shop, admin } = agents()
    const before = await stockOf()
    const order = await admin<OrderSnapshot>("/_admin/orders", {
      customerId: "returner",
      email: "returner@example.com",
      lines: [{ sku, quantity: 1 }],
    })
    await admin(`/_admin/orders/${order.id}/pay`)
    await procurement.until("the order's unit is promised", async () =>
      (await stockOf()).held === before.held + 1 ? true : undefined,
    )
    await admin(`/_admin/orders/${order.id}/ship`, { carrier: "DHL", trackingNumber: "JD-TEAPOT" })
    await procurement.until("the shipped unit leaves the shelf", async () =>
      (await stockOf()).onHand === before.onHand - 1 ? true : undefined,
    )
    await admin(`/_admin/orders/${order.id}/return`)
    const back = await procurement.until("the returned unit is back on the shelf", async () => {
      const stock = await stockOf()
      return stock.onHand === before.onHand ? stock : undefined
    })
    expect(back.available).toBe(before.available)
    // Customer ops recorded the storefront's return, and procurement restocked from that event.
    const procurementEvents = await procurement.everything()
    const returned = ofType(procurementEvents, "OrderStatusChanged").find(
      (e) => (e.payload as { status: string }).status === "returned" && e.aggregateId.endsWith(order.id),
    )
    expect(returned).toBeDefined()
    const restocked = ofType(procurementEvents, "OrderStockReturned").filter((e) =>
      e.aggregateId.endsWith(order.id),
    )
    expect(restocked).toHaveLength(1)
    expect(restocked[0]?.causationId).toBe(returned?.eventId)

    // The customer asks for the refund: it waits for a person; nothing is paid before.
    const { ticketId } = await ask(
      "returner",
      "Refund",
      `Hello, I sent order ${order.id} back. Please refund me.`,
      order.id,
    )
    const waiting = await shop.until("the refund waits for a person", async () =>
      (await shop.approvals()).find((e) => String(e.actionId).startsWith(`refund-${ticketId}`)),
    )
    expect(waiting).toMatchObject({
      kind: "payment.refund",
      amount: { amountMinor: priceMinor, currency: "EUR" },
    })
    const refunds = () =>
      agents()
        .simulators.payment.ledger()
        .filter((e) => e.key === waiting.actionId)
    expect(refunds()).toHaveLength(0)
    const approve = () =>
      fetch(`${shop.url}/approvals/customer-ops/${String(waiting.actionId)}/approve`, {
        method: "POST",
        headers: { authorization: `Bearer ${owner.token}`, "content-type": "application/json" },
        body: JSON.stringify({ parametersHash: waiting.parametersHash }),
      })
    expect((await approve()).status).toBeLessThan(300)
    // An approval sent twice (a double click) pays once.
    await approve()
    await shop.until("the refund is paid", async () =>
      (await shop.ticket(ticketId))?.refund?.status === "issued" ? true : undefined,
    )
    expect(refunds()).toHaveLength(1)
    expect(refunds()[0]?.params).toMatchObject({
      orderId: order.id,
      amountMinor: priceMinor,
      currency: "EUR",
    })
    const approval = ofType(await shop.everything(), "ActionApproved").find(
      (e) =>
        (e.payload as { actionId?: string }).actionId === waiting.actionId ||
        e.aggregateId === waiting.actionId,
    )
    expect(approval?.actor).toMatchObject({ kind: "human", id: owner.name })
    // The refund leaves the shelf as it was: the unit came back once, and nothing else moved.
    expect(await stockOf()).toMatchObject({ onHand: before.onHand, available: before.available })
  })
})
