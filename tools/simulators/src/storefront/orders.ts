import { failWith, invalid, type Json, type JsonObject, type Route, type RouteResult } from "../simulator.ts"
import type { Product } from "./catalogue.ts"
import type { Announcement } from "./webhooks.ts"

/** Where an order stands. */
export type OrderStatus = "placed" | "paid" | "shipped" | "delivered" | "cancelled" | "returned"

/** One line of an order, named and priced from the catalogue when it was placed. */
export type OrderLine = {
  readonly sku: string
  readonly name: string
  readonly quantity: number
  readonly unitPriceMinor: number
}

/** Units of one SKU, as returned. */
export type SkuQuantity = { readonly sku: string; readonly quantity: number }

/** An order as every route, event and webhook shows it. */
export type OrderSnapshot = {
  readonly id: string
  readonly customerId: string
  readonly email: string | null
  readonly status: OrderStatus
  readonly lines: ReadonlyArray<OrderLine>
  readonly currency: string
  readonly totalMinor: number
  readonly placedAt: string
  readonly paidAt: string | null
  readonly shipment: {
    readonly carrier: string
    readonly trackingNumber: string
    readonly expectedDelivery: string | null
  } | null
  /** When it was shipped and when the carrier delivered it (null until then). */
  readonly shippedAt: string | null
  readonly deliveredAt: string | null
  readonly cancelledAt: string | null
  readonly cancelReason: string | null
  readonly returnedAt: string | null
  readonly returnedLines: ReadonlyArray<SkuQuantity>
  /** 1 on placement, one more for each change. */
  readonly version: number
  readonly updatedAt: string
}

/** What happened to an order, as the feed lists it and webhooks send it. */
export type OrderTopic =
  | "orders/created"
  | "orders/paid"
  | "orders/shipped"
  | "orders/delivered"
  | "orders/cancelled"
  | "orders/returned"

/** One entry of the store's order-event feed; `order` is the snapshot after the change. */
export type OrderEvent = {
  readonly id: string
  readonly seq: number
  readonly topic: OrderTopic
  readonly occurredAt: string
  readonly order: OrderSnapshot
}

/** The statuses each status may move to; everything else is an invalid transition. */
const transitions: Readonly<Record<OrderStatus, ReadonlyArray<OrderStatus>>> = {
  placed: ["paid", "cancelled"],
  paid: ["shipped", "cancelled"],
  shipped: ["delivered", "returned"],
  delivered: ["returned"],
  cancelled: [],
  returned: [],
}

const instantPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/
const datePattern = /^\d{4}-\d{2}-\d{2}$/

/** The `at` of a body as a normalised ISO instant (now when left out), or what is wrong with it. */
const instantOf = (body: JsonObject): { readonly at: string } | string => {
  const at = body.at
  if (at === undefined) return { at: new Date().toISOString() }
  if (typeof at !== "string" || !instantPattern.test(at) || Number.isNaN(Date.parse(at))) {
    return "at must be an ISO instant such as 2025-03-01T09:30:00Z"
  }
  return { at: new Date(at).toISOString() }
}

const isCalendarDate = (value: string): boolean =>
  datePattern.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const nonEmpty = (value: Json | undefined): value is string => typeof value === "string" && value !== ""

/** Reads `lines` as SKUs and quantities, each SKU once, or says which line is wrong. */
const skuQuantities = (value: Json | undefined): ReadonlyArray<SkuQuantity> | string => {
  if (!Array.isArray(value) || value.length === 0)
    return "lines must be a non-empty array of { sku, quantity }"
  const lines: Array<SkuQuantity> = []
  for (const [i, line] of value.entries()) {
    if (!isObject(line) || !nonEmpty(line.sku)) return `lines[${i}].sku must be a non-empty string`
    const { sku, quantity } = line
    if (typeof quantity !== "number" || !Number.isInteger(quantity) || quantity < 1) {
      return `lines[${i}].quantity must be an integer >= 1`
    }
    if (lines.some((l) => l.sku === sku)) return `lines[${i}].sku repeats ${sku}`
    lines.push({ sku, quantity })
  }
  return lines
}

/** One admin action on a placed order: the status it moves to and how it changes the order. */
interface Action {
  readonly to: OrderStatus
  readonly topic: OrderTopic
  readonly apply: (order: OrderSnapshot, body: JsonObject, at: string) => Partial<OrderSnapshot> | string
}

const actions: Readonly<Record<string, Action>> = {
  pay: { to: "paid", topic: "orders/paid", apply: (_order, _body, at) => ({ paidAt: at }) },
  ship: {
    to: "shipped",
    topic: "orders/shipped",
    apply: (_order, body, at) => {
      const { carrier, trackingNumber, expectedDelivery } = body
      if (!nonEmpty(carrier)) return "carrier must be a non-empty string"
      if (!nonEmpty(trackingNumber)) return "trackingNumber must be a non-empty string"
      if (
        expectedDelivery !== undefined &&
        expectedDelivery !== null &&
        !(typeof expectedDelivery === "string" && isCalendarDate(expectedDelivery))
      ) {
        return "expectedDelivery must be a date YYYY-MM-DD"
      }
      return {
        shipment: {
          carrier,
          trackingNumber,
          expectedDelivery: typeof expectedDelivery === "string" ? expectedDelivery : null,
        },
        shippedAt: at,
      }
    },
  },
  deliver: {
    to: "delivered",
    topic: "orders/delivered",
    apply: (_order, _body, at) => ({ deliveredAt: at }),
  },
  cancel: {
    to: "cancelled",
    topic: "orders/cancelled",
    apply: (_order, body, at) => {
      const reason = body.reason
      if (reason !== undefined && reason !== null && typeof reason !== "string")
        return "reason must be a string"
      return { cancelledAt: at, cancelReason: nonEmpty(reason) ? reason : null }
    },
  },
  return: {
    to: "returned",
    topic: "orders/returned",
    apply: (order, body, at) => {
      if (body.lines === undefined) {
        return { returnedAt: at, returnedLines: order.lines.map(({ sku, quantity }) => ({ sku, quantity })) }
      }
      const lines = skuQuantities(body.lines)
      if (typeof lines === "string") return lines
      for (const [i, line] of lines.entries()) {
        const ordered = order.lines.find((l) => l.sku === line.sku)
        if (ordered === undefined) return `lines[${i}].sku ${line.sku} is not in order ${order.id}`
        if (line.quantity > ordered.quantity) {
          return `lines[${i}].quantity ${line.quantity} is more than the ${ordered.quantity} ordered`
        }
      }
      return { returnedAt: at, returnedLines: lines }
    },
  },
}

const operationOf = (topic: OrderTopic): string => `order.${topic.slice("orders/".length)}`

const addTo = (totals: Record<string, number>, sku: string, quantity: number): void => {
  totals[sku] = (totals[sku] ?? 0) + quantity
}

/**
 * The storefront's orders as shoppers place and the shop fulfils them, and the store-wide feed of
 * their events that webhooks announce and the reconciliation listing serves.
 */
export const orderBook = (deps: {
  readonly product: (sku: string) => Product | undefined
  readonly announce: (event: Announcement) => void
}) => {
  const orders = new Map<string, OrderSnapshot>()
  let events: Array<OrderEvent> = []
  let nextOrder = 1

  /** Stores the order, appends its event, announces it and answers with the snapshot and a ledger effect. */
  const change = (order: OrderSnapshot, topic: OrderTopic, at: string): RouteResult => {
    const seq = events.length + 1
    const event: OrderEvent = { id: `evt_${seq}`, seq, topic, occurredAt: at, order }
    orders.set(order.id, order)
    events.push(event)
    deps.announce({ id: event.id, seq, topic, body: JSON.stringify(event) })
    return {
      status: 200,
      body: order,
      effect: {
        operation: operationOf(topic),
        resource: order.id,
        key: event.id,
        params: { lines: order.lines, status: order.status },
      },
    }
  }

  const place = (body: JsonObject): RouteResult => {
    const { orderId, customerId, email } = body
    if (orderId !== undefined && !nonEmpty(orderId)) return invalid("orderId must be a non-empty string")
    if (!nonEmpty(customerId)) return invalid("customerId must be a non-empty string")
    if (email !== undefined && email !== null && !nonEmpty(email)) {
      return invalid("email must be a non-empty string or null")
    }
    const when = instantOf(body)
    if (typeof when === "string") return invalid(when)
    const wanted = skuQuantities(body.lines)
    if (typeof wanted === "string") return invalid(wanted)
    const lines: Array<OrderLine> = []
    let currency: string | undefined
    for (const [i, { sku, quantity }] of wanted.entries()) {
      const product = deps.product(sku)
      if (product === undefined) {
        return {
          status: 400,
          body: {
            error: {
              type: "unknown_sku",
              message: `no product ${sku} in the catalogue (lines[${i}].sku)`,
              sku,
            },
          },
        }
      }
      if (currency !== undefined && product.currency !== currency) {
        return invalid(`lines[${i}].sku ${sku} is priced in ${product.currency}, the order in ${currency}`)
      }
      currency = product.currency
      lines.push({ sku, name: product.name, quantity, unitPriceMinor: product.priceMinor })
    }
    if (orderId !== undefined && orders.has(orderId)) {
      return failWith(409, "duplicate_order", `order ${orderId} exists already`)
    }
    let id = orderId
    while (id === undefined || orders.has(id)) id = `ord_${nextOrder++}`
    const order: OrderSnapshot = {
      id,
      customerId,
      email: typeof email === "string" ? email : null,
      status: "placed",
      lines,
      currency: currency ?? "EUR",
      totalMinor: lines.reduce((sum, l) => sum + l.quantity * l.unitPriceMinor, 0),
      placedAt: when.at,
      paidAt: null,
      shipment: null,
      shippedAt: null,
      deliveredAt: null,
      cancelledAt: null,
      cancelReason: null,
      returnedAt: null,
      returnedLines: [],
      version: 1,
      updatedAt: when.at,
    }
    return change(order, "orders/created", when.at)
  }

  const act =
    (action: Action): Route["handle"] =>
    ({ params, body }) => {
      const id = decodeURIComponent(params.id ?? "")
      const order = orders.get(id)
      if (order === undefined) return failWith(404, "not_found", `no order ${id}`)
      if (!transitions[order.status].includes(action.to)) {
        return {
          status: 409,
          body: {
            error: {
              type: "invalid_transition",
              message: `order ${id} cannot go from ${order.status} to ${action.to}`,
              from: order.status,
              to: action.to,
            },
          },
        }
      }
      const when = instantOf(body)
      if (typeof when === "string") return invalid(when)
      const changes = action.apply(order, body, when.at)
      if (typeof changes === "string") return invalid(changes)
      const next: OrderSnapshot = {
        ...order,
        ...changes,
        status: action.to,
        version: order.version + 1,
        updatedAt: when.at,
      }
      return change(next, action.topic, when.at)
    }

  const routes: ReadonlyArray<Route> = [
    {
      method: "GET",
      path: "/v1/orders/:id",
      mutating: false,
      handle: ({ params }) => {
        const id = decodeURIComponent(params.id ?? "")
        const order = orders.get(id)
        return order === undefined
          ? failWith(404, "not_found", `no order ${id}`)
          : { status: 200, body: order }
      },
    },
    {
      // The reconciliation listing: every event after a sequence number, for what webhooks missed.
      method: "GET",
      path: "/v1/order-events",
      mutating: false,
      handle: ({ query }) => {
        const afterText = query.get("after") ?? "0"
        const limitText = query.get("limit") ?? "100"
        if (!/^\d+$/.test(afterText)) return invalid("after must be an integer >= 0")
        if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 500) {
          return invalid("limit must be an integer in 1..500")
        }
        const after = Number(afterText)
        // Sequence numbers are 1, 2, 3…, so the events after `after` start at index `after`.
        const page = events.slice(after, after + Number(limitText))
        const next = page.at(-1)?.seq ?? after
        return { status: 200, body: { events: page, next, more: events.length > next } }
      },
    },
  ]

  const adminRoutes: ReadonlyArray<Route> = [
    { method: "POST", path: "/_admin/orders", mutating: false, handle: ({ body }) => place(body) },
    ...Object.entries(actions).map(
      ([name, action]): Route => ({
        method: "POST",
        path: `/_admin/orders/:id/${name}`,
        mutating: false,
        handle: act(action),
      }),
    ),
  ]

  return {
    routes,
    adminRoutes,
    /** The orders, units sold (paid, not cancelled, less returns) and units returned, per SKU. */
    state: (): JsonObject => {
      const unitsSold: Record<string, number> = {}
      const unitsReturned: Record<string, number> = {}
      for (const order of orders.values()) {
        if (order.paidAt === null || order.status === "cancelled") continue
        for (const line of order.lines) addTo(unitsSold, line.sku, line.quantity)
        for (const line of order.returnedLines) {
          addTo(unitsSold, line.sku, -line.quantity)
          addTo(unitsReturned, line.sku, line.quantity)
        }
      }
      return { orders: [...orders.values()], unitsSold, unitsReturned }
    },
    reset: (): void => {
      orders.clear()
      events = []
      nextOrder = 1
    },
  }
}
