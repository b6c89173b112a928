import { formatMoney } from "@mesh/contracts"
import type { CustomerOrder } from "../projections/customerCare.ts"
import type { ReplyFact } from "../skills/tasks.ts"

const isIdCharacter = (character: string | undefined): boolean =>
  character !== undefined && /[A-Za-z0-9_-]/.test(character)

/**
 * Whether a customer's text ("where is order #1001?") or the order field of their message ("#1001")
 * names the storefront's order id as a whole: a shop's own order numbers are short and bare, so
 * order 1001 is not named by "10012" or "O-1001".
 */
export const namesOrder = (text: string, storefrontOrderId: string): boolean => {
  for (let at = text.indexOf(storefrontOrderId); at >= 0; at = text.indexOf(storefrontOrderId, at + 1))
    if (!isIdCharacter(text[at - 1]) && !isIdCharacter(text[at + storefrontOrderId.length])) return true
  return false
}

const itemsOf = (order: CustomerOrder): string =>
  order.lines.map((line) => `${line.quantity} × ${line.name}`).join(", ")

/**
 * An order as the facts a reply may cite: what was ordered and where it stands, and, once it is on
 * its way, the carrier, tracking number and expected delivery. Each fact is a sentence from the
 * shop's records, so a reply that repeats it promises nothing the records do not say.
 */
export const orderFacts = (order: CustomerOrder): ReadonlyArray<ReplyFact> => {
  const facts: Array<ReplyFact> = [
    {
      id: `order-${order.orderId}`,
      kind: "order",
      text: `Your order ${order.orderId} (${itemsOf(order)}, ${formatMoney(order.total)}) was placed on ${order.placedAt.slice(0, 10)} and is ${order.status}.`,
    },
  ]
  if ((order.status === "shipped" || order.status === "delivered") && order.carrier !== null) {
    const tracking = order.trackingNumber === null ? "" : ` with tracking number ${order.trackingNumber}`
    const expected =
      order.status === "delivered"
        ? " It has been delivered."
        : order.expectedDelivery === null
          ? ""
          : ` The carrier expects to deliver it on ${order.expectedDelivery}.`
    facts.push({
      id: `shipment-${order.orderId}`,
      kind: "shipment",
      text: `It was shipped with ${order.carrier}${tracking}.${expected}`,
    })
  }
  return facts
}

/** What the shop knows of new stock for a line waiting for it: the supplier's promised date, if any. */
export type RestockOutlook =
  | { readonly _tag: "Expected"; readonly by: string }
  | { readonly _tag: "Overdue"; readonly wasDueBy: string }
  | { readonly _tag: "Unknown" }

/** A day as a customer reads it, e.g. `4 December 2026`. */
const dayOf = (instant: string): string =>
  new Date(instant).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  })

/**
 * A back-ordered line of an order, as the fact a reply cites: it waits for new stock, and when the
 * supplier promised it (from the open purchase order's date), or that the promise is overdue, or
 * that there is no date. It promises nothing the shop's records do not say.
 */
export const restockFact = (
  order: CustomerOrder,
  line: { readonly sku: string; readonly name: string },
  outlook: RestockOutlook,
): ReplyFact => {
  const waits = `${line.name} in your order ${order.orderId} is waiting for new stock`
  const text =
    outlook._tag === "Expected"
      ? `${waits}: our supplier is due to deliver it by ${dayOf(outlook.by)}, and it ships to you once it is in.`
      : outlook._tag === "Overdue"
        ? `${waits}: our supplier's delivery was due by ${dayOf(outlook.wasDueBy)} and is late, and we do not have a new date yet.`
        : `${waits}, and our supplier has not given a delivery date yet.`
  return { id: `restock-${order.orderId}-${line.sku}`, kind: "restock", text }
}

/** How a product stands in the shop's stock, as the shared registers say: units free, or new stock's outlook. */
export type ProductStock = { readonly _tag: "InStock" } | RestockOutlook

/**
 * A product's stock as the fact a reply cites when a customer asks whether it is in stock or when it
 * will be again: in stock, or out of stock with the open purchase order's promised date, the date
 * that has passed, or no date. Like every fact it promises nothing the records do not say: no count
 * of units (they may be gone in a minute) and no delivery date to the customer.
 */
export const productStockFact = (
  product: { readonly sku: string; readonly name: string },
  stock: ProductStock,
): ReplyFact => {
  const text =
    stock._tag === "InStock"
      ? `The ${product.name} is in stock at the moment.`
      : stock._tag === "Expected"
        ? `The ${product.name} is out of stock: our supplier is due to deliver new stock by ${dayOf(stock.by)}.`
        : stock._tag === "Overdue"
          ? `The ${product.name} is out of stock: our supplier's delivery was due by ${dayOf(stock.wasDueBy)} and is late, and we do not have a new date yet.`
          : `The ${product.name} is out of stock, and our supplier has not given a delivery date yet.`
  return { id: `stock-${product.sku}`, kind: "stock", text }
}

/** A refund the shop issued, as the fact its confirmation cites. */
export const refundFact = (
  orderId: string,
  amount: { readonly amountMinor: number; readonly currency: string },
  reference: string,
): ReplyFact => ({
  id: `refund-${orderId}`,
  kind: "refund",
  text: `Your refund of ${formatMoney(amount)} for order ${orderId} has been issued (reference ${reference}).`,
})
