import { Result, Schema } from "effect"
import { canonicalJson } from "../canonical.ts"
import { NonEmpty } from "../domains/common.ts"
import { Instant } from "../envelope.ts"
import { compareStamp, Stamp } from "./clock.ts"
import { defineInvariant } from "./invariants.ts"
import {
  addWinsSet,
  counter,
  customRegister,
  instantOrder,
  maxRegister,
  multiValue,
  reservations,
} from "./kinds.ts"
import { defineRegister } from "./register.ts"

// The shop's shared facts: the values more than one agent writes, each with its merge and owner.

/** Units on hand per SKU: sales and write-offs decrement, returns and receipts increment. */
export const inventoryOnHand = defineRegister({
  name: "inventory-on-hand",
  kind: counter,
  owner: "procurement",
  writers: ["procurement", "customer-ops"],
  key: "SKU",
  summary: "Units on hand; sales, returns and receipts merge as counts, so none is lost.",
})

/** Units promised to paid orders per SKU, never more than there are. */
export const stockReservations = defineRegister({
  name: "stock-reservations",
  kind: reservations,
  owner: "procurement",
  writers: ["procurement", "customer-ops"],
  key: "SKU",
  summary: "Stock promised to orders: taken, confirmed or released, never over the units available.",
})

const ListingState = Schema.Literals(["draft", "published", "out-of-stock", "retired"])
const ListingStatusState = Schema.Struct({
  current: Schema.NullOr(Schema.Struct({ status: ListingState, stamp: Stamp })),
})

/**
 * A listing's status. Content ops publishes and retires it; a stock-out marks it out of stock. A
 * retirement is final: it wins over any concurrent or later status, so a listing withdrawn by a
 * human never comes back through a restock racing with it. Otherwise the later write wins.
 */
export const listingStatusKind = customRegister({
  name: "listing-status",
  state: ListingStatusState as Schema.Codec<typeof ListingStatusState.Type, unknown>,
  op: Schema.TaggedStruct("Set", { status: ListingState }) as Schema.Codec<
    { readonly _tag: "Set"; readonly status: typeof ListingState.Type },
    unknown
  >,
  empty: { current: null },
  apply: (state, op, write) => {
    if (state.current?.status === "retired") return Result.succeed(state)
    return Result.succeed({ current: { status: op.status, stamp: { hlc: write.hlc, writer: write.writer } } })
  },
  merge: (a, b) => {
    if (a.current === null) return b
    if (b.current === null) return a
    const aRetired = a.current.status === "retired"
    const bRetired = b.current.status === "retired"
    if (aRetired !== bRetired) return aRetired ? a : b
    const order = compareStamp(a.current.stamp, b.current.stamp)
    if (order !== 0) return order > 0 ? a : b
    return a.current.status >= b.current.status ? a : b
  },
  read: (state) => state.current?.status ?? null,
})

/** A listing's status per SKU. */
export const listingStatus = defineRegister({
  name: "listing-status",
  kind: listingStatusKind,
  owner: "content-ops",
  writers: ["content-ops", "procurement"],
  key: "SKU",
  summary: "draft, published, out-of-stock or retired; retired is final, otherwise the later write wins.",
})

const CustomerProfile = Schema.Struct({
  email: NonEmpty,
  name: Schema.optionalKey(NonEmpty),
  shippingAddress: Schema.optionalKey(NonEmpty),
  vip: Schema.optionalKey(Schema.Boolean),
})

/** A customer's profile: concurrent edits are all kept until one is chosen. */
export const customerProfile = defineRegister({
  name: "customer-profile",
  kind: multiValue(CustomerProfile),
  owner: "customer-ops",
  writers: ["customer-ops", "procurement"],
  key: "customer id",
  summary: "Contact details; concurrent edits by support and orders are kept side by side until resolved.",
})

/** The latest delivery date a supplier has promised for a SKU. */
export const supplierExpectedDate = defineRegister({
  name: "supplier-expected-date",
  kind: maxRegister(Instant, instantOrder),
  owner: "procurement",
  writers: ["procurement"],
  key: "SKU",
  summary:
    "The latest expected delivery promised: a later promise wins, so customers are never told too early.",
})

/** Purchase orders open per SKU. */
export const openPurchaseOrders = defineRegister({
  name: "open-purchase-orders",
  kind: addWinsSet(
    Schema.Struct({
      purchaseOrderId: NonEmpty,
      supplierId: NonEmpty,
      /** The action that placed it (a UUIDv7, so later actions sort later), to undo it through the actions layer. */
      actionId: NonEmpty,
    }),
  ),
  owner: "procurement",
  writers: ["procurement"],
  key: "SKU",
  summary: "Open purchase orders per SKU; an order opened concurrently with a close survives it.",
})

/** Every shared register of the shop. */
export const shopRegisters = [
  inventoryOnHand,
  stockReservations,
  listingStatus,
  customerProfile,
  supplierExpectedDate,
  openPurchaseOrders,
] as const

const stampToken = (stamp: {
  readonly writer: string
  readonly hlc: { readonly wall: number; readonly logical: number }
}) => `${stamp.writer.replaceAll("/", "_")}-${stamp.hlc.wall}-${stamp.hlc.logical}`

/**
 * A listing published while the shop has no unit of it: content ops marks it out of stock. Checked
 * when either register changes; one violation per publication (the write that published it).
 */
export const publishedListingHasStock = defineInvariant({
  name: "published-listing-has-stock",
  owner: "content-ops",
  summary: "A published listing has stock on hand; otherwise content ops marks it out of stock.",
  registers: [listingStatus, inventoryOnHand],
  check: (id, inputs) => {
    const listing = inputs.get(listingStatus.name)
    const onHand = inputs.get(inventoryOnHand.name)
    if (listing?.value !== "published" || onHand === undefined || (onHand.value as number) > 0) return []
    const current = (listing.snapshot.state as typeof listingStatusKind.empty).current
    return [
      {
        subject: `published-${current === null ? "unknown" : stampToken(current.stamp)}`,
        message: `listing ${id} is published with ${onHand.value as number} units on hand`,
        resolution: {
          _tag: "Command",
          agent: "content-ops",
          command: "MarkListingOutOfStock",
          payload: { sku: id },
        },
      },
    ]
  },
})

/**
 * At most one open purchase order per SKU and supplier: two agents (or two replicas) reordering on
 * the same stale view place two. The later order's action is compensated (cancelled at the supplier).
 */
export const onePurchaseOrderPerSupplier = defineInvariant({
  name: "one-purchase-order-per-supplier",
  owner: "procurement",
  summary: "At most one open purchase order per SKU and supplier; the later one is cancelled.",
  registers: [openPurchaseOrders],
  check: (id, inputs) => {
    const orders = (inputs.get(openPurchaseOrders.name)?.value ?? []) as ReadonlyArray<{
      readonly purchaseOrderId: string
      readonly supplierId: string
      readonly actionId: string
    }>
    const bySupplier = new Map<string, Array<(typeof orders)[number]>>()
    for (const order of orders)
      bySupplier.set(order.supplierId, [...(bySupplier.get(order.supplierId) ?? []), order])
    return [...bySupplier.values()].flatMap((open) => {
      const [first, ...later] = [...open].sort((a, b) =>
        a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0,
      )
      return later.map((order) => ({
        subject: `duplicate-${order.purchaseOrderId}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 128),
        message: `${id} has purchase orders ${first?.purchaseOrderId} and ${order.purchaseOrderId} open with supplier ${order.supplierId}`,
        resolution: {
          _tag: "Compensate" as const,
          agent: "procurement",
          actionId: order.actionId,
          reason: `a second open purchase order for ${id} with ${order.supplierId}`,
        },
      }))
    })
  },
})

/** A restock date promised to customers has an open purchase order behind it; otherwise a human looks. */
export const promisedDateHasPurchaseOrder = defineInvariant({
  name: "promised-date-has-purchase-order",
  owner: "procurement",
  summary: "A promised restock date matches an open purchase order; otherwise it is escalated.",
  registers: [supplierExpectedDate, openPurchaseOrders],
  check: (id, inputs) => {
    const date = inputs.get(supplierExpectedDate.name)?.value
    const orders = (inputs.get(openPurchaseOrders.name)?.value ?? []) as ReadonlyArray<unknown>
    if (typeof date !== "string" || orders.length > 0) return []
    // One occurrence per promised date and state of the orders: promised again after an order
    // came and went, it is a new violation.
    const orderContext = inputs.get(openPurchaseOrders.name)?.snapshot.context ?? {}
    return [
      {
        subject: `no-order-for-${date}-after-${canonicalJson(orderContext)}`,
        message: `${id} has a promised restock date ${date} but no open purchase order`,
        resolution: { _tag: "Escalate" },
      },
    ]
  },
})

/** Every invariant of the shop. */
export const shopInvariants = [
  publishedListingHasStock,
  onePurchaseOrderPerSupplier,
  promisedDateHasPurchaseOrder,
] as const
