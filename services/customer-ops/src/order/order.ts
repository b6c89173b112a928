import {
  type Money,
  type OrderLine,
  type OrderStatus,
  type OrderStatusChanged,
  type PayloadOf,
  tenantScopedId,
} from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel/deciders"
import type { orderEvents } from "./catalog.ts"

/**
 * An order's aggregate id: the storefront's order id in its tenant (`tenantScopedId`), since two
 * shops may both have order 1001. Procurement's allocation of the order takes the same id.
 */
export const orderIdOf = (tenantId: string, storefrontOrderId: string): string =>
  tenantScopedId(tenantId, storefrontOrderId)

/** An order's events, as its decider emits them. */
export type OrderEvent = DecidedEvent<(typeof orderEvents)[number]>

/** The parcel of a shipped order. */
export interface Shipment {
  readonly carrier: string
  readonly trackingNumber: string
  /** The date the carrier gives (YYYY-MM-DD), when it gives one. */
  readonly expectedDelivery: string | null
}

/** Units of one SKU that came back. */
export interface ReturnedLine {
  readonly sku: string
  readonly quantity: number
}

/**
 * The storefront's full snapshot of an order, as the decider reads it: its instants in UTC, its
 * prices as `Money`. The storefront sends one on every change; `version` grows by one per change.
 */
export interface OrderSnapshot {
  /** The storefront's order id; the aggregate id is the tenant's (`orderIdOf`). */
  readonly id: string
  readonly customerId: string
  /** Where the storefront reaches the customer (null: it gave none). */
  readonly email?: string | null
  readonly status: OrderStatus
  readonly lines: ReadonlyArray<OrderLine>
  readonly total: Money
  readonly placedAt: string
  readonly paidAt: string | null
  readonly shipment: Shipment | null
  /**
   * When it shipped and was delivered, for a storefront that says (null: not yet). Left out by one
   * that keeps no such times: a returned order that was shipped is then taken to have been delivered.
   */
  readonly shippedAt?: string | null
  readonly deliveredAt?: string | null
  readonly cancelledAt: string | null
  readonly cancelReason: string | null
  readonly returnedAt: string | null
  readonly returnedLines: ReadonlyArray<ReturnedLine>
  readonly version: number
  readonly updatedAt: string
}

/**
 * The commands of an order. `SyncStorefrontOrder` carries a snapshot however it arrived (a webhook,
 * a retry, the reconciliation listing) and in whatever order; the tenant is the one the delivery
 * was authenticated for.
 */
export type OrderCommand = {
  readonly _tag: "SyncStorefrontOrder"
  readonly tenantId: string
  readonly snapshot: OrderSnapshot
}

interface OrderFacts {
  readonly tenantId: string
  /** The storefront's id of the order. */
  readonly orderId: string
  readonly customerId: string
  readonly email: string | null
  readonly lines: ReadonlyArray<OrderLine>
  /** Every status recorded, in order, `placed` first. */
  readonly statuses: ReadonlyArray<OrderStatus>
}

/** An order: not in the log yet, or recorded with the status it last moved to. */
export type OrderState = { readonly status: "none" } | ({ readonly status: OrderStatus } & OrderFacts)

/**
 * How far along its life each status is. An order is placed, may be paid, and is then either
 * cancelled (from placed or paid) or shipped, delivered and possibly returned.
 */
const stage: Readonly<Record<OrderStatus, number>> = {
  placed: 0,
  paid: 1,
  cancelled: 2,
  shipped: 2,
  delivered: 3,
  returned: 4,
}

const isFulfilment = (status: OrderStatus): boolean =>
  status === "shipped" || status === "delivered" || status === "returned"

/** A status a snapshot shows the order passed through, and when. */
export interface ShownStatus {
  readonly status: OrderStatus
  readonly changedAt: string
}

/**
 * The statuses a snapshot shows the order passed through, in order, ending with its own status.
 * The status is where the order stands; the fields show which earlier statuses it passed: `paidAt`
 * paid, `shipment` shipped; and since the storefront keeps no delivery time, a returned order that
 * was shipped passed delivered (a parcel comes back only once it arrived). A field of a status
 * beyond the order's own (a shipment on an order still paid) is not yet a status. A status whose
 * time the snapshot does not give (shipped, delivered) takes the time of the next one it does, at
 * the latest the snapshot's `updatedAt`, so times never go backwards.
 */
export const statusesShownBy = (snapshot: OrderSnapshot): ReadonlyArray<ShownStatus> => {
  const { status } = snapshot
  const shipped = snapshot.shipment !== null
  const known: Array<readonly [OrderStatus, string | null]> = [["placed", snapshot.placedAt]]
  if (status !== "placed" && (status === "paid" || snapshot.paidAt !== null))
    known.push(["paid", snapshot.paidAt])
  if (status === "cancelled") known.push(["cancelled", snapshot.cancelledAt])
  if (status === "shipped" || ((status === "delivered" || status === "returned") && shipped))
    known.push(["shipped", snapshot.shippedAt ?? null])
  // A parcel can come back without a delivery (refused at the door, lost): only a storefront that
  // keeps no delivery time leaves it to be inferred.
  const delivered =
    status === "delivered" ||
    (status === "returned" &&
      shipped &&
      (snapshot.deliveredAt === undefined ? true : snapshot.deliveredAt !== null))
  if (delivered) known.push(["delivered", snapshot.deliveredAt ?? null])
  if (status === "returned") known.push(["returned", snapshot.returnedAt])
  let next = snapshot.updatedAt
  const shown: Array<ShownStatus> = []
  for (const [s, at] of known.reverse()) {
    next = at ?? next
    shown.unshift({ status: s, changedAt: next })
  }
  return shown
}

const lineKey = (line: OrderLine): string =>
  `${line.sku} × ${line.quantity} "${line.name}" at ${line.unitPrice.amountMinor} ${line.unitPrice.currency}`

const sameLines = (a: ReadonlyArray<OrderLine>, b: ReadonlyArray<OrderLine>): boolean => {
  const keys = (lines: ReadonlyArray<OrderLine>) => lines.map(lineKey).sort().join("\n")
  return keys(a) === keys(b)
}

/** Units per SKU, in the order the SKUs first appear. */
const unitsBySku = (lines: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>) => {
  const units = new Map<string, number>()
  for (const line of lines) units.set(line.sku, (units.get(line.sku) ?? 0) + line.quantity)
  return units
}

/**
 * The units a return brings back: the lines the storefront names, each within what the order holds;
 * every line when it names none.
 */
const returnedLinesOf = (snapshot: OrderSnapshot): ReadonlyArray<ReturnedLine> => {
  const ordered = unitsBySku(snapshot.lines)
  const named = unitsBySku(snapshot.returnedLines)
  for (const [sku, quantity] of named) {
    const held = ordered.get(sku)
    if (held === undefined)
      throw new TypeError(`the return of order ${snapshot.id} names ${sku}, which the order does not hold`)
    if (quantity > held)
      throw new TypeError(
        `the return of order ${snapshot.id} brings back ${quantity} of ${sku}, but the order holds ${held}`,
      )
  }
  return [...(named.size > 0 ? named : ordered)].map(([sku, quantity]) => ({ sku, quantity }))
}

const statusChanged = (
  snapshot: OrderSnapshot,
  shown: ShownStatus,
  returned: ReadonlyArray<ReturnedLine>,
): OrderEvent => {
  const parcel = shown.status === "shipped" || shown.status === "delivered" ? snapshot.shipment : null
  const payload: PayloadOf<typeof OrderStatusChanged> = {
    status: shown.status,
    carrier: parcel?.carrier ?? null,
    trackingNumber: parcel?.trackingNumber ?? null,
    expectedDelivery: parcel?.expectedDelivery ?? null,
    changedAt: shown.changedAt,
    ...(shown.status === "returned" ? { returnedLines: returned.map((line) => ({ ...line })) } : {}),
    ...(shown.status === "cancelled" && snapshot.cancelReason !== null && snapshot.cancelReason.trim() !== ""
      ? { reason: snapshot.cancelReason }
      : {}),
  }
  return { type: "OrderStatusChanged", payload }
}

/**
 * The order decider: every delivery of the storefront's snapshots (duplicated, retried, reordered,
 * listed again by reconciliation) converges on one `OrderPlaced` and one `OrderStatusChanged` per
 * status the order passed through, in order. No version is kept: a snapshot shows every status up
 * to its own, so a duplicate or an older snapshot shows nothing beyond what is recorded and decides
 * nothing, and statuses are only ever appended forward. A snapshot of another tenant, or with other
 * lines than those recorded, is bad input; the customer and total of the first snapshot stand.
 */
export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = {
  initialState: () => ({ status: "none" }),
  evolve: (state, event) => {
    switch (event.type) {
      case "OrderPlaced":
        return {
          status: "placed",
          tenantId: event.payload.tenantId,
          orderId: event.payload.orderId,
          customerId: event.payload.customerId,
          email: event.payload.email ?? null,
          lines: event.payload.lines,
          statuses: ["placed"],
        }
      case "OrderStatusChanged":
        return state.status === "none"
          ? state
          : { ...state, status: event.payload.status, statuses: [...state.statuses, event.payload.status] }
    }
  },
  decide: (command, state) => {
    const { tenantId, snapshot } = command
    // Throws, naming it, on an id that could not name the order in its tenant.
    orderIdOf(tenantId, snapshot.id)
    if (snapshot.lines.length === 0) throw new TypeError(`order ${snapshot.id} has no lines`)
    const returned = returnedLinesOf(snapshot)
    const shown = statusesShownBy(snapshot)
    const changes = (from: ReadonlyArray<ShownStatus>) =>
      from.map((step) => statusChanged(snapshot, step, returned))
    if (state.status === "none") {
      return [
        {
          type: "OrderPlaced",
          payload: {
            tenantId,
            orderId: snapshot.id,
            customerId: snapshot.customerId,
            email: snapshot.email ?? null,
            lines: snapshot.lines.map((line) => ({ ...line })),
            total: snapshot.total,
            placedAt: snapshot.placedAt,
          },
        },
        ...changes(shown.slice(1)),
      ]
    }
    if (state.tenantId !== tenantId)
      throw new TypeError(
        `order ${snapshot.id} belongs to tenant ${state.tenantId}; a snapshot from tenant ${tenantId} cannot change it`,
      )
    if (!sameLines(state.lines, snapshot.lines))
      throw new TypeError(
        `snapshot ${snapshot.version} of order ${snapshot.id} has other lines than the order was placed with: [${snapshot.lines.map(lineKey).join(", ")}], recorded [${state.lines.map(lineKey).join(", ")}]`,
      )
    const cancelled = state.statuses.includes("cancelled")
    const crossed = shown.find((step) =>
      cancelled
        ? isFulfilment(step.status)
        : step.status === "cancelled" && state.statuses.some(isFulfilment),
    )
    if (crossed !== undefined)
      throw new TypeError(
        `order ${snapshot.id} is recorded ${state.status}; snapshot ${snapshot.version} says it was ${crossed.status}, and an order is cancelled only before it ships`,
      )
    // Forward only: what is at or behind the recorded status was recorded, or was skipped for good.
    return changes(shown.filter((step) => stage[step.status] > stage[state.status]))
  },
}
