import { createHash } from "node:crypto"
import { Money, maxTenantOwnIdLength, NonEmpty, OrderStatus, Quantity, TenantOwnId } from "@mesh/contracts"
import { Schema } from "effect"
import { type OrderCommand, type OrderSnapshot, orderIdOf } from "../order/order.ts"

// The storefront's order events as they travel, by webhook and by its listing: decoded here, at the
// edge, at least as strictly as the contracts the events they become are checked against.

/** The largest webhook body read; a larger one is refused with 413 before it is parsed. */
export const MAX_WEBHOOK_BYTES = 256 * 1024

const Bounded = (max: number) => NonEmpty.check(Schema.isMaxLength(max))

const isTenantOwnId: (id: string) => boolean = Schema.is(TenantOwnId)

/**
 * An order id: the contract's `TenantOwnId`, since with its tenant it becomes the order's aggregate
 * id (`orderIdOf`); refused here by name (the id itself, not only the rule), so that the storefront's
 * operator finds the order, rather than by the order decider after the request was recorded.
 */
const OrderId = Schema.String.check(
  Schema.makeFilter((id: string) =>
    isTenantOwnId(id)
      ? undefined
      : `order id ${JSON.stringify(id.slice(0, 200))} must be 1-${maxTenantOwnIdLength} characters of letters, digits, '_' or '-'`,
  ),
)

const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/

/** An ISO-8601 timestamp with its offset; it is kept in UTC (`Instant`). */
const Timestamp = Schema.String.check(
  Schema.makeFilter((text: string) =>
    isoPattern.test(text) && !Number.isNaN(Date.parse(text))
      ? undefined
      : "must be an ISO-8601 timestamp with its offset, such as 2026-11-28T10:00:00.000Z",
  ),
)

/** A day (YYYY-MM-DD), or a timestamp whose day is taken. */
const Day = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}/, { message: "must be a date such as 2026-12-04" }),
)

/** A SKU: with its tenant it names the stock a line takes, so it is refused by name when it cannot. */
const Sku = Schema.String.check(
  Schema.makeFilter((sku: string) =>
    isTenantOwnId(sku)
      ? undefined
      : `SKU ${JSON.stringify(sku.slice(0, 200))} must be 1-${maxTenantOwnIdLength} characters of letters, digits, '_' or '-'`,
  ),
)

/** A line of the storefront's order. */
const StorefrontLine = Schema.Struct({
  sku: Sku,
  name: Bounded(500),
  quantity: Quantity.check(Schema.isGreaterThanOrEqualTo(1)),
  unitPriceMinor: Money.fields.amountMinor,
})

/** The storefront's full snapshot of an order, exactly as it sends it. */
export const StorefrontOrder = Schema.Struct({
  id: OrderId,
  customerId: Bounded(128),
  email: Schema.NullOr(Schema.String),
  status: OrderStatus,
  lines: Schema.Array(StorefrontLine).check(Schema.isMinLength(1), Schema.isMaxLength(1_000)),
  currency: Money.fields.currency,
  totalMinor: Money.fields.amountMinor,
  placedAt: Timestamp,
  paidAt: Schema.NullOr(Timestamp),
  shipment: Schema.NullOr(
    Schema.Struct({
      carrier: Bounded(200),
      trackingNumber: Bounded(200),
      expectedDelivery: Schema.NullOr(Day),
    }),
  ),
  /** When it shipped and was delivered; a storefront that keeps no such times leaves them out. */
  shippedAt: Schema.optionalKey(Schema.NullOr(Timestamp)),
  deliveredAt: Schema.optionalKey(Schema.NullOr(Timestamp)),
  cancelledAt: Schema.NullOr(Timestamp),
  cancelReason: Schema.NullOr(Schema.String.check(Schema.isMaxLength(1_000))),
  returnedAt: Schema.NullOr(Timestamp),
  returnedLines: Schema.Array(
    Schema.Struct({ sku: Sku, quantity: Quantity.check(Schema.isGreaterThanOrEqualTo(1)) }),
  ),
  version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  updatedAt: Timestamp,
})
/** The storefront's snapshot of an order. */
export type StorefrontOrder = typeof StorefrontOrder.Type

/** What changed, as the storefront names its webhook topics. */
export const StorefrontTopic = Schema.Literals([
  "orders/created",
  "orders/paid",
  "orders/shipped",
  "orders/delivered",
  "orders/cancelled",
  "orders/returned",
])

/**
 * One event of the storefront's order feed: the same object comes by webhook (retried, duplicated,
 * out of order) and in the listing. `id` names it for good; `seq` orders the listing.
 */
export const StorefrontEvent = Schema.Struct({
  id: Bounded(256),
  seq: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  topic: StorefrontTopic,
  occurredAt: Timestamp,
  order: StorefrontOrder,
})
/** One event of the storefront's order feed. */
export type StorefrontEvent = typeof StorefrontEvent.Type

/** A page of `GET /v1/order-events?after=&limit=`: its events are decoded one by one. */
export const OrderEventsPage = Schema.Struct({
  events: Schema.Array(Schema.Unknown),
  next: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  more: Schema.Boolean,
})
/** A page of the listing, its events still undecoded. */
export type OrderEventsPage = typeof OrderEventsPage.Type

const utc = (timestamp: string): string => new Date(timestamp).toISOString()
const utcOrNull = (timestamp: string | null): string | null => (timestamp === null ? null : utc(timestamp))

/** The snapshot as the order decider reads it: instants in UTC, prices as money. */
export const orderSnapshotOf = (order: StorefrontOrder): OrderSnapshot => ({
  id: order.id,
  customerId: order.customerId,
  // An address the contract takes (non-empty, at most 254 characters), or none.
  email: order.email !== null && order.email.length > 0 && order.email.length <= 254 ? order.email : null,
  status: order.status,
  lines: order.lines.map((line) => ({
    sku: line.sku,
    name: line.name,
    quantity: line.quantity,
    unitPrice: { amountMinor: line.unitPriceMinor, currency: order.currency },
  })),
  total: { amountMinor: order.totalMinor, currency: order.currency },
  placedAt: utc(order.placedAt),
  paidAt: utcOrNull(order.paidAt),
  shipment:
    order.shipment === null
      ? null
      : {
          carrier: order.shipment.carrier,
          trackingNumber: order.shipment.trackingNumber,
          expectedDelivery: order.shipment.expectedDelivery?.slice(0, 10) ?? null,
        },
  ...(order.shippedAt === undefined ? {} : { shippedAt: utcOrNull(order.shippedAt) }),
  ...(order.deliveredAt === undefined ? {} : { deliveredAt: utcOrNull(order.deliveredAt) }),
  cancelledAt: utcOrNull(order.cancelledAt),
  cancelReason: order.cancelReason,
  returnedAt: utcOrNull(order.returnedAt),
  returnedLines: order.returnedLines,
  version: order.version,
  updatedAt: utc(order.updatedAt),
})

/**
 * The request id of a storefront event, within its tenant: the same event, by webhook again or in
 * the listing, is the same request, and the first record of it stands.
 */
export const storefrontRequestIdOf = (tenantId: string, eventId: string): string =>
  `sf-${createHash("sha256").update(`${tenantId}\u0000${eventId}`, "utf8").digest("hex").slice(0, 32)}`

/** The command an event carries to its order. */
export const syncCommandOf = (
  tenantId: string,
  event: StorefrontEvent,
): { readonly aggregateType: "order"; readonly aggregateId: string; readonly command: OrderCommand } => ({
  aggregateType: "order",
  aggregateId: orderIdOf(tenantId, event.order.id),
  command: { _tag: "SyncStorefrontOrder", tenantId, snapshot: orderSnapshotOf(event.order) },
})
