import { formatMoney } from "@mesh/contracts"
import type { CustomerOrder } from "../projections/customerCare.ts"
import type { ReplyFact } from "../skills/tasks.ts"

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
