import { createHash } from "node:crypto"
import { ActionGate } from "@mesh/actions"
import { parseTenantScopedId } from "@mesh/contracts"
import type { ReactorDefinition } from "@mesh/kernel"
import { Effect } from "effect"
import type { OrderState } from "../order/order.ts"
import { OrderBook } from "../order/orderBook.ts"
import type { CustomerOpsDefs } from "./catalog.ts"

/** What the policy's allow-list calls the agent's own delay notices (no model writes them). */
export const lateDeliveryNoticeSkill = "lateDeliveryNotice"

/**
 * The notice action of one order for one late purchase order: derived from both, so a redelivery of
 * the late mark, or a second replica, asks for the same action and the customer hears once.
 */
export const lateNoticeActionId = (purchaseOrderId: string, orderId: string): string =>
  `late-${createHash("sha256").update(`${purchaseOrderId}\u0000${orderId}`, "utf8").digest("hex").slice(0, 32)}`

/** A day as a customer reads it, e.g. `4 December 2026`. */
const dayOf = (instant: string): string =>
  new Date(instant).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  })

/**
 * The message telling a customer that part of their order waits on a late delivery: what waits,
 * since when it was due, and what happens next. Written from the order's facts alone (no model), so
 * it can promise nothing the shop does not know: no new date, since the supplier gave none.
 */
export const lateDeliveryNotice = (options: {
  readonly orderId: string
  readonly items: ReadonlyArray<{ readonly name: string; readonly quantity: number }>
  readonly expectedBy: string
}): { readonly subject: string; readonly body: string } => {
  const items = options.items.map((i) => (i.quantity === 1 ? i.name : `${i.quantity} × ${i.name}`)).join(", ")
  return {
    subject: `Your order ${options.orderId} is delayed`,
    body: [
      "Hello,",
      "",
      `We are sorry: part of your order ${options.orderId} (${items}) is waiting for a delivery from our supplier, which was due by ${dayOf(options.expectedBy)} and has not arrived yet.`,
      "We will send it as soon as the goods are in, and write to you when it ships. If you would rather cancel that part of the order, reply to this message and we will refund it.",
      "",
      "Kind regards",
    ].join("\n"),
  }
}

/** Whether an order still waits for its goods: paid, not yet shipped, cancelled or returned. */
const waitsForGoods = (order: OrderState): order is Exclude<OrderState, { status: "none" }> =>
  order.status === "paid"

/**
 * Tells the customers whose orders wait on a late purchase order: procurement's late mark names the
 * orders back-ordered on its SKU; each that still waits for its goods, and whose customer the
 * storefront gave an address for, gets one delay notice, asked of the action gate like any message
 * the agent sends (the policy may hold it for a person). An order of another tenant than the
 * purchase order's is never told.
 */
export const noticeLateDeliveries = (options: {
  readonly agent: string
}): ReactorDefinition<CustomerOpsDefs, unknown, OrderBook | ActionGate> => ({
  name: "customer-ops-late-deliveries",
  consumes: { domain: "procurement" },
  eventTypes: ["PurchaseOrderLate"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "PurchaseOrderLate") return []
      const { tenantId, sku, expectedBy, waiting = [] } = event.payload
      const book = yield* OrderBook
      const gate = yield* ActionGate
      for (const backorder of waiting) {
        if (parseTenantScopedId(backorder.orderId)?.tenantId !== tenantId) continue
        const order = yield* book.order(backorder.orderId)
        if (!waitsForGoods(order)) continue
        if (order.email === null) {
          yield* Effect.logWarning(
            `order ${order.orderId} is delayed, but the storefront gave no address to tell`,
          )
          continue
        }
        const items = order.lines
          .filter((line) => line.sku === sku)
          .map((line) => ({ name: line.name, quantity: line.quantity }))
        const notice = lateDeliveryNotice({
          orderId: order.orderId,
          items: items.length > 0 ? items : [{ name: sku, quantity: backorder.quantity }],
          expectedBy,
        })
        yield* gate.request({
          actionId: lateNoticeActionId(event.aggregateId, backorder.orderId),
          agent: options.agent,
          skill: lateDeliveryNoticeSkill,
          kind: "mailbox.send-message",
          parameters: { to: order.email, subject: notice.subject, body: notice.body },
          cause: { decisionId: null, eventId: event.eventId },
          confidence: null,
          sentiment: null,
          firstTimeSupplier: null,
          correlationId: event.correlationId,
          causationId: event.eventId,
        })
      }
      return []
    }),
})
