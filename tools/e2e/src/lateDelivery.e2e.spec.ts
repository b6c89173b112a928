import type { EventEnvelope } from "@mesh/contracts"
import { storefront } from "@mesh/customer-ops/testing"
import type { OrderSnapshot } from "@mesh/simulators"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ShopFloor, startShopFloor } from "./testing/shopFloor.ts"

// A late delivery told to the customers it keeps waiting: shoppers pay at the storefront for a SKU
// with nothing on the shelf; procurement back-orders them and orders from a supplier who promises
// the goods at once and does not deliver; its late mark names the orders waiting, and customer ops
// writes to each of those customers once, through its policy. Both agents in their own processes,
// in one namespace, cooperating through the log alone.

const nats = useNatsServer()
let floor: ShopFloor | undefined

const sku = "LATE-1"

beforeAll(async () => {
  floor = await startShopFloor(nats.url, "late")
}, 180_000)

afterAll(async () => {
  await floor?.stop()
})

const agents = () => {
  if (floor === undefined) throw new Error("the shop's floor did not start")
  return floor
}

const ofType = (events: ReadonlyArray<EventEnvelope>, type: string) => events.filter((e) => e.type === type)

/** The delay notices the mailbox sent, by recipient. */
const noticesSent = () =>
  agents()
    .simulators.mailbox.ledger()
    .filter((e) => e.operation === "message.sent" && String(e.params.subject).includes("is delayed"))

/** The drafted replies of a ticket, as its events hold them. */
const draftedReplies = async (ticketId: string) =>
  ofType(await agents().shop.everything(), "ReplyDrafted")
    .filter((e) => e.aggregateId === ticketId)
    .map((e) => e.payload as { body: string; citedFactIds: ReadonlyArray<string> })

describe("a late delivery", () => {
  it("is told once to each customer whose paid order waits on it, through the policy, and to no one else", async () => {
    const { procurement, shop, admin } = agents()
    await admin("/_admin/catalogue", {
      products: [
        {
          sku,
          name: "Linen tablecloth",
          category: "home",
          attributes: [{ name: "material", value: "linen" }],
          highlights: ["Machine washable"],
          priceMinor: 4_500,
          currency: "EUR",
        },
      ],
    })
    // Nothing on the shelf: the reorder opens at once and, its supplier being new, waits for a buyer.
    const setUp = await procurement.call(`/stock-items/${sku}`, {
      method: "PUT",
      body: {
        tenantId: storefront.tenant,
        name: "Linen tablecloth",
        reorderPoint: 0,
        reorderQuantity: 5,
        neededWithinDays: 7,
        suppliers: [
          {
            supplierId: "slowco",
            name: "Slow & Co",
            unitCost: { amountMinor: 2_000, currency: "EUR" },
            leadTimeDays: 0,
            minOrderQuantity: 1,
          },
        ],
      },
    })
    expect(setUp.status).toBeLessThan(300)

    // Two shoppers pay and are back-ordered; a third places an order and never pays.
    const paidOrders: Array<OrderSnapshot> = []
    for (const i of [1, 2]) {
      const order = await admin<OrderSnapshot>("/_admin/orders", {
        customerId: `linen-${i}`,
        email: `linen-${i}@example.com`,
        lines: [{ sku, quantity: i }],
      })
      await admin(`/_admin/orders/${order.id}/pay`)
      paidOrders.push(order)
    }
    await admin<OrderSnapshot>("/_admin/orders", {
      customerId: "linen-3",
      email: "linen-3@example.com",
      lines: [{ sku, quantity: 1 }],
    })
    await procurement.until("both paid orders are back-ordered", async () =>
      ofType(await procurement.everything(), "OrderStockBackordered").length === 2 ? true : undefined,
    )

    // The buyer approves the purchase order; the supplier promised it for today and it does not come.
    const purchaseOrder = await procurement.until("the purchase order waits for the buyer", async () => {
      const { purchaseOrders } = await procurement.json<{
        purchaseOrders: ReadonlyArray<{ purchaseOrderId: string; actionId: string | null; status: string }>
      }>(`/purchase-orders?sku=${sku}`)
      const [order] = purchaseOrders
      if (order?.actionId === null || order === undefined) return undefined
      const { queue } = await procurement.json<{
        queue: ReadonlyArray<{ actionId: string; parametersHash: string }>
      }>("/approvals")
      const waiting = queue.find((a) => a.actionId === order.actionId)
      return waiting === undefined ? undefined : { ...order, parametersHash: waiting.parametersHash }
    })
    const approved = await procurement.call(`/approvals/procurement/${purchaseOrder.actionId}/approve`, {
      method: "POST",
      body: { parametersHash: purchaseOrder.parametersHash },
    })
    expect(approved.status).toBeLessThan(300)
    const late = await procurement.until("the delivery is marked late", async () => {
      const [event] = ofType(await procurement.everything(), "PurchaseOrderLate")
      return event
    })
    expect((late.payload as { waiting: ReadonlyArray<unknown> }).waiting).toHaveLength(2)

    // Each waiting customer hears once, at the address the storefront gave; the one who never paid does not.
    const sent = await shop.until("both customers are told", async () => {
      const notices = noticesSent()
      return notices.length >= 2 ? notices : undefined
    })
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(noticesSent()).toHaveLength(2)
    expect(sent.map((n) => n.params.to).sort()).toEqual(["linen-1@example.com", "linen-2@example.com"])
    for (const order of paidOrders) {
      const notice = sent.find((n) => n.params.to === `${order.customerId}@example.com`)
      expect(String(notice?.params.subject)).toBe(`Your order ${order.id} is delayed`)
      expect(String(notice?.params.body)).toContain("Linen tablecloth")
    }

    // A waiting customer asks when the order comes: the reply says the line waits for new stock and
    // that the supplier's delivery is late, from the registers procurement keeps, and promises no date.
    const [first] = paidOrders as [OrderSnapshot]
    const question = await shop.send({
      messageId: `where-${first.id}`,
      customerId: first.customerId,
      replyTo: `${first.customerId}@example.com`,
      subject: "Where is my order?",
      body: `Hello, when will my order ${first.id} arrive?`,
      orderId: first.id,
    })
    expect(question.status).toBe(202)
    const { ticketId } = (await question.json()) as { ticketId: string }
    const [reply] = await shop.until("the question is answered", async () => {
      const drafted = await draftedReplies(ticketId)
      return drafted.length > 0 ? drafted : undefined
    })
    expect(reply?.citedFactIds).toContain(`restock-${first.id}-${sku}`)
    expect(reply?.body).toContain(`Linen tablecloth in your order ${first.id} is waiting for new stock`)
    expect(reply?.body).toContain("is late, and we do not have a new date yet")

    // Each notice is an action of customer ops caused by the late mark, through its policy: with no
    // model's confidence or reading of the customer's mood, the shipped policy sends it and tells a person.
    const events = await shop.everything()
    const asked = ofType(events, "ActionRequested").filter(
      (e) => (e.payload as { skill: string }).skill === "lateDeliveryNotice",
    )
    expect(asked).toHaveLength(2)
    for (const action of asked) {
      expect(action.causationId).toBe(late.eventId)
      expect(action.payload).toMatchObject({
        kind: "mailbox.send-message",
        cause: { decisionId: null, eventId: late.eventId },
        policy: { verdict: { mode: "notify" } },
      })
    }
  })
})
