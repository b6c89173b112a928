import {
  failWith,
  idMinter,
  intField,
  invalid,
  type Json,
  type JsonObject,
  type Route,
  type RouteResult,
  type SimulatedSystem,
  stringField,
} from "./simulator.ts"
import { storefrontCommerce } from "./storefront/commerce.ts"

const currencyPattern = /^[A-Z]{3}$/

const notFound = (what: string, id: string): RouteResult => failWith(404, "not_found", `no ${what} ${id}`)

const found = (body: JsonObject): RouteResult => ({ status: 200, body })

/**
 * The payment provider: refunds of orders and their cancellation. A refund of an order whose id
 * starts with `declined` is refused (402, not retryable), as a provider refuses a closed card.
 */
export const paymentSystem = (): SimulatedSystem => {
  interface Refund {
    id: string
    orderId: string
    amountMinor: number
    currency: string
    reason: string
    status: "succeeded" | "cancelled"
  }
  const refunds = new Map<string, Refund>()
  const ids = idMinter("re")
  const view = (r: Refund): JsonObject => ({ ...r })
  const routes: ReadonlyArray<Route> = [
    {
      method: "POST",
      path: "/v1/refunds",
      mutating: true,
      handle: ({ body }) => {
        const orderId = stringField(body, "orderId")
        const amountMinor = intField(body, "amountMinor")
        const currency = stringField(body, "currency")
        if (orderId === undefined || amountMinor === undefined || amountMinor <= 0 || currency === undefined)
          return invalid("a refund needs orderId, a positive integer amountMinor and a currency")
        if (!currencyPattern.test(currency)) return invalid("currency must be an ISO-4217 code")
        if (orderId.startsWith("declined")) {
          return failWith(402, "refund_declined", `the card of order ${orderId} cannot take refunds`)
        }
        const refund: Refund = {
          id: ids.mint(),
          orderId,
          amountMinor,
          currency,
          reason: stringField(body, "reason") ?? "requested_by_customer",
          status: "succeeded",
        }
        refunds.set(refund.id, refund)
        return {
          status: 200,
          body: view(refund),
          effect: { operation: "refund.created", resource: refund.id },
        }
      },
    },
    {
      method: "POST",
      path: "/v1/refunds/:id/cancel",
      mutating: true,
      handle: ({ params }) => {
        const refund = refunds.get(params.id ?? "")
        if (refund === undefined) return notFound("refund", params.id ?? "")
        if (refund.status === "cancelled") return found(view(refund))
        refund.status = "cancelled"
        return {
          status: 200,
          body: view(refund),
          effect: { operation: "refund.cancelled", resource: refund.id },
        }
      },
    },
    {
      method: "GET",
      path: "/v1/refunds/:id",
      mutating: false,
      handle: ({ params }) => {
        const refund = refunds.get(params.id ?? "")
        return refund === undefined ? notFound("refund", params.id ?? "") : found(view(refund))
      },
    },
  ]
  return {
    name: "payment",
    routes,
    state: () => {
      const refunded: Record<string, number> = {}
      for (const r of refunds.values()) {
        if (r.status === "succeeded") refunded[r.orderId] = (refunded[r.orderId] ?? 0) + r.amountMinor
      }
      return { refunds: [...refunds.values()].map(view), refundedByOrder: refunded }
    },
    reset: () => {
      refunds.clear()
      ids.reset()
    },
  }
}

/**
 * The supplier: purchase orders and their cancellation. An order to a supplier whose id starts
 * with `unknown` is refused (422, not retryable).
 */
export const supplierSystem = (): SimulatedSystem => {
  interface PurchaseOrder {
    id: string
    supplierId: string
    sku: string
    quantity: number
    unitCostMinor: number
    currency: string
    status: "placed" | "cancelled"
  }
  const orders = new Map<string, PurchaseOrder>()
  const ids = idMinter("po")
  const view = (o: PurchaseOrder): JsonObject => ({ ...o })
  const routes: ReadonlyArray<Route> = [
    {
      method: "POST",
      path: "/v1/purchase-orders",
      mutating: true,
      handle: ({ body }) => {
        const supplierId = stringField(body, "supplierId")
        const sku = stringField(body, "sku")
        const quantity = intField(body, "quantity")
        const unitCostMinor = intField(body, "unitCostMinor")
        const currency = stringField(body, "currency")
        if (
          supplierId === undefined ||
          sku === undefined ||
          quantity === undefined ||
          quantity < 1 ||
          unitCostMinor === undefined ||
          unitCostMinor < 0 ||
          currency === undefined ||
          !currencyPattern.test(currency)
        ) {
          return invalid("a purchase order needs supplierId, sku, quantity >= 1, unitCostMinor and currency")
        }
        if (supplierId.startsWith("unknown")) {
          return failWith(422, "unknown_supplier", `supplier ${supplierId} does not trade with this shop`)
        }
        const order: PurchaseOrder = {
          id: ids.mint(),
          supplierId,
          sku,
          quantity,
          unitCostMinor,
          currency,
          status: "placed",
        }
        orders.set(order.id, order)
        return {
          status: 200,
          body: view(order),
          effect: { operation: "purchase-order.placed", resource: order.id },
        }
      },
    },
    {
      method: "POST",
      path: "/v1/purchase-orders/:id/cancel",
      mutating: true,
      handle: ({ params }) => {
        const order = orders.get(params.id ?? "")
        if (order === undefined) return notFound("purchase order", params.id ?? "")
        if (order.status === "cancelled") return found(view(order))
        order.status = "cancelled"
        return {
          status: 200,
          body: view(order),
          effect: { operation: "purchase-order.cancelled", resource: order.id },
        }
      },
    },
    {
      method: "GET",
      path: "/v1/purchase-orders/:id",
      mutating: false,
      handle: ({ params }) => {
        const order = orders.get(params.id ?? "")
        return order === undefined ? notFound("purchase order", params.id ?? "") : found(view(order))
      },
    },
  ]
  return {
    name: "supplier",
    routes,
    state: () => ({
      purchaseOrders: [...orders.values()].map(view),
      openOrders: [...orders.values()].filter((o) => o.status === "placed").length,
    }),
    reset: () => {
      orders.clear()
      ids.reset()
    },
  }
}

/**
 * The storefront: stock levels (adjusted by deltas, revertible) and product listings (publish,
 * unpublish); stock never goes below zero (422). Its shop side (storefront/) adds a catalogue,
 * shoppers' orders, their event feed and the webhooks that announce it.
 */
export const storefrontSystem = (): SimulatedSystem => {
  interface Adjustment {
    id: string
    sku: string
    delta: number
    reason: string
    status: "applied" | "reverted"
  }
  interface Listing {
    id: string
    sku: string
    title: string
    priceMinor: number
    currency: string
    status: "published" | "unpublished"
    /** Whether the storefront shows it as available to order. */
    inStock: boolean
  }
  /** A change of a listing's availability, revertible like a stock adjustment. */
  interface AvailabilityChange {
    id: string
    sku: string
    inStock: boolean
    previous: boolean
    status: "applied" | "reverted"
  }
  const availabilityChanges = new Map<string, AvailabilityChange>()
  // Availability is the SKU's: a listing published later shows what was last set.
  const availability = new Map<string, boolean>()
  const availabilityIds = idMinter("avl")
  const listingOfSku = (sku: string) =>
    [...listings.values()].filter((l) => l.sku === sku && l.status === "published").at(-1)
  const stock = new Map<string, number>()
  const adjustments = new Map<string, Adjustment>()
  const listings = new Map<string, Listing>()
  const adjustmentIds = idMinter("adj")
  const listingIds = idMinter("lst")
  const stockView = (sku: string): JsonObject => ({ sku, onHand: stock.get(sku) ?? 0 })
  const commerce = storefrontCommerce()
  const routes: ReadonlyArray<Route> = [
    {
      method: "POST",
      path: "/v1/stock-adjustments",
      mutating: true,
      handle: ({ body }) => {
        const sku = stringField(body, "sku")
        const delta = intField(body, "delta")
        if (sku === undefined || delta === undefined || delta === 0) {
          return invalid("a stock adjustment needs a sku and a non-zero integer delta")
        }
        const onHand = stock.get(sku) ?? 0
        if (onHand + delta < 0) {
          return failWith(422, "insufficient_stock", `${sku} has ${onHand} on hand; cannot apply ${delta}`)
        }
        stock.set(sku, onHand + delta)
        const adjustment: Adjustment = {
          id: adjustmentIds.mint(),
          sku,
          delta,
          reason: stringField(body, "reason") ?? "adjustment",
          status: "applied",
        }
        adjustments.set(adjustment.id, adjustment)
        return {
          status: 200,
          body: { ...adjustment, onHand: onHand + delta },
          effect: { operation: "stock.adjusted", resource: adjustment.id },
        }
      },
    },
    {
      method: "POST",
      path: "/v1/stock-adjustments/:id/revert",
      mutating: true,
      handle: ({ params }) => {
        const adjustment = adjustments.get(params.id ?? "")
        if (adjustment === undefined) return notFound("stock adjustment", params.id ?? "")
        const onHand = stock.get(adjustment.sku) ?? 0
        if (adjustment.status === "reverted") return found({ ...adjustment, onHand })
        if (onHand - adjustment.delta < 0) {
          return failWith(422, "insufficient_stock", `${adjustment.sku} has ${onHand} on hand; cannot revert`)
        }
        stock.set(adjustment.sku, onHand - adjustment.delta)
        adjustment.status = "reverted"
        return {
          status: 200,
          body: { ...adjustment, onHand: onHand - adjustment.delta },
          effect: { operation: "stock.reverted", resource: adjustment.id },
        }
      },
    },
    {
      method: "GET",
      path: "/v1/stock/:sku",
      mutating: false,
      handle: ({ params }) => found(stockView(params.sku ?? "")),
    },
    {
      method: "POST",
      path: "/v1/listings",
      mutating: true,
      handle: ({ body }) => {
        const sku = stringField(body, "sku")
        const title = stringField(body, "title")
        const priceMinor = intField(body, "priceMinor")
        const currency = stringField(body, "currency")
        if (
          sku === undefined ||
          title === undefined ||
          priceMinor === undefined ||
          priceMinor < 0 ||
          currency === undefined
        ) {
          return invalid("a listing needs sku, title, priceMinor and currency")
        }
        if (sku.startsWith("discontinued")) {
          return failWith(422, "discontinued", `${sku} is discontinued and cannot be listed`)
        }
        const listing: Listing = {
          id: listingIds.mint(),
          sku,
          title,
          priceMinor,
          currency,
          status: "published",
          inStock: availability.get(sku) ?? true,
        }
        listings.set(listing.id, listing)
        return {
          status: 200,
          body: { ...listing },
          effect: { operation: "listing.published", resource: listing.id },
        }
      },
    },
    {
      // Out of stock and back: the listing stays up, shown as not available to order.
      method: "POST",
      path: "/v1/listing-availability",
      mutating: true,
      handle: ({ body }) => {
        const sku = stringField(body, "sku")
        const inStock = body.inStock
        if (sku === undefined || typeof inStock !== "boolean")
          return invalid("an availability change needs a sku and inStock (true or false)")
        if (sku.startsWith("discontinued")) {
          return failWith(422, "discontinued", `${sku} is discontinued and has no availability`)
        }
        const change: AvailabilityChange = {
          id: availabilityIds.mint(),
          sku,
          inStock,
          previous: availability.get(sku) ?? true,
          status: "applied",
        }
        availability.set(sku, inStock)
        const listing = listingOfSku(sku)
        if (listing !== undefined) listing.inStock = inStock
        availabilityChanges.set(change.id, change)
        return {
          status: 200,
          body: { ...change },
          effect: { operation: inStock ? "listing.in-stock" : "listing.out-of-stock", resource: change.id },
        }
      },
    },
    {
      method: "POST",
      path: "/v1/listing-availability/:id/revert",
      mutating: true,
      handle: ({ params }) => {
        const change = availabilityChanges.get(params.id ?? "")
        if (change === undefined) return notFound("availability change", params.id ?? "")
        if (change.status === "reverted") return found({ ...change })
        availability.set(change.sku, change.previous)
        const listing = listingOfSku(change.sku)
        if (listing !== undefined) listing.inStock = change.previous
        change.status = "reverted"
        return {
          status: 200,
          body: { ...change },
          effect: { operation: "listing.availability-reverted", resource: change.id },
        }
      },
    },
    {
      method: "POST",
      path: "/v1/listings/:id/unpublish",
      mutating: true,
      handle: ({ params }) => {
        const listing = listings.get(params.id ?? "")
        if (listing === undefined) return notFound("listing", params.id ?? "")
        if (listing.status === "unpublished") return found({ ...listing })
        listing.status = "unpublished"
        return {
          status: 200,
          body: { ...listing },
          effect: { operation: "listing.unpublished", resource: listing.id },
        }
      },
    },
  ]
  const adminRoutes: ReadonlyArray<Route> = [
    {
      // Seeds stock levels without an effect in the ledger: the world as it was before the agents.
      method: "POST",
      path: "/_admin/stock",
      mutating: false,
      handle: ({ body }) => {
        for (const [sku, onHand] of Object.entries(body)) {
          if (typeof onHand === "number" && Number.isInteger(onHand) && onHand >= 0) stock.set(sku, onHand)
        }
        return found({ stock: Object.fromEntries(stock) })
      },
    },
  ]
  return {
    name: "storefront",
    routes: [...routes, ...commerce.routes],
    adminRoutes: [...adminRoutes, ...commerce.adminRoutes],
    state: () => ({
      stock: Object.fromEntries(stock) as { [sku: string]: Json },
      adjustments: [...adjustments.values()].map((a) => ({ ...a })),
      listings: [...listings.values()].map((l) => ({ ...l })),
      publishedListings: [...listings.values()].filter((l) => l.status === "published").length,
      ...commerce.state(),
    }),
    stop: commerce.stop,
    reset: () => {
      commerce.reset()
      stock.clear()
      adjustments.clear()
      listings.clear()
      adjustmentIds.reset()
      listingIds.reset()
      availabilityChanges.clear()
      availability.clear()
      availabilityIds.reset()
    },
  }
}

/**
 * The mailbox: outgoing messages and retractions (a follow-up that withdraws a message, since mail
 * cannot be unsent). A message to an address at `bounce.invalid` is refused (422, not retryable).
 */
export const mailboxSystem = (): SimulatedSystem => {
  interface Message {
    id: string
    to: string
    subject: string
    body: string
    inReplyTo: string | null
    status: "sent" | "retracted"
  }
  const messages = new Map<string, Message>()
  const ids = idMinter("msg")
  const routes: ReadonlyArray<Route> = [
    {
      method: "POST",
      path: "/v1/messages",
      mutating: true,
      handle: ({ body }) => {
        const to = stringField(body, "to")
        const subject = stringField(body, "subject")
        const text = stringField(body, "body")
        if (to === undefined || !to.includes("@") || subject === undefined || text === undefined) {
          return invalid("a message needs to (an address), subject and body")
        }
        if (to.endsWith("@bounce.invalid")) {
          return failWith(422, "mailbox_unavailable", `${to} does not accept mail`)
        }
        const inReplyTo = body.inReplyTo
        const message: Message = {
          id: ids.mint(),
          to,
          subject,
          body: text,
          inReplyTo: typeof inReplyTo === "string" ? inReplyTo : null,
          status: "sent",
        }
        messages.set(message.id, message)
        return {
          status: 200,
          body: { ...message },
          effect: { operation: "message.sent", resource: message.id },
        }
      },
    },
    {
      method: "POST",
      path: "/v1/messages/:id/retract",
      mutating: true,
      handle: ({ params }) => {
        const message = messages.get(params.id ?? "")
        if (message === undefined) return notFound("message", params.id ?? "")
        if (message.status === "retracted") return found({ ...message })
        message.status = "retracted"
        return {
          status: 200,
          body: { ...message },
          effect: { operation: "message.retracted", resource: message.id },
        }
      },
    },
    {
      method: "GET",
      path: "/v1/messages/:id",
      mutating: false,
      handle: ({ params }) => {
        const message = messages.get(params.id ?? "")
        return message === undefined ? notFound("message", params.id ?? "") : found({ ...message })
      },
    },
  ]
  return {
    name: "mailbox",
    routes,
    state: () => ({
      messages: [...messages.values()].map((m) => ({ ...m })),
      standingMessages: [...messages.values()].filter((m) => m.status === "sent").length,
    }),
    reset: () => {
      messages.clear()
      ids.reset()
    },
  }
}
