import { fold } from "@mesh/kernel/deciders"
import { DeciderSpecification } from "@mesh/kernel/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type OrderEvent, type OrderSnapshot, orderDecider, statusesShownBy } from "./order.ts"

const order = DeciderSpecification.for(orderDecider)

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
const lines = [
  { sku: "LAMP-1", name: "Desk lamp", quantity: 2, unitPrice: eur(2_495) },
  { sku: "BULB-4", name: "Bulb", quantity: 4, unitPrice: eur(300) },
]
const shipment = { carrier: "DHL", trackingNumber: "JD0146000038", expectedDelivery: "2026-12-04" }

// One order's life as the storefront snapshots it, a version per change.
const v1: OrderSnapshot = {
  id: "O-1042",
  customerId: "c-17",
  status: "placed",
  lines,
  total: eur(6_190),
  placedAt: "2026-11-28T10:00:00.000Z",
  paidAt: null,
  shipment: null,
  cancelledAt: null,
  cancelReason: null,
  returnedAt: null,
  returnedLines: [],
  version: 1,
  updatedAt: "2026-11-28T10:00:00.000Z",
}
const v2: OrderSnapshot = {
  ...v1,
  status: "paid",
  paidAt: "2026-11-28T10:05:00.000Z",
  version: 2,
  updatedAt: "2026-11-28T10:05:00.000Z",
}
const v3: OrderSnapshot = {
  ...v2,
  status: "shipped",
  shipment,
  version: 3,
  updatedAt: "2026-11-29T08:00:00.000Z",
}
const v4: OrderSnapshot = { ...v3, status: "delivered", version: 4, updatedAt: "2026-12-03T16:20:00.000Z" }
const v5: OrderSnapshot = {
  ...v4,
  status: "returned",
  returnedAt: "2026-12-08T09:00:00.000Z",
  returnedLines: [{ sku: "LAMP-1", quantity: 1 }],
  version: 5,
  updatedAt: "2026-12-08T09:00:00.000Z",
}
const life = [v1, v2, v3, v4, v5]

const sync = (snapshot: OrderSnapshot, tenantId = "shop") =>
  ({ _tag: "SyncStorefrontOrder", tenantId, snapshot }) as const

const placed: OrderEvent = {
  type: "OrderPlaced",
  payload: {
    tenantId: "shop",
    orderId: "O-1042",
    customerId: "c-17",
    email: null,
    lines,
    total: eur(6_190),
    placedAt: "2026-11-28T10:00:00.000Z",
  },
}
const noParcel = { carrier: null, trackingNumber: null, expectedDelivery: null }
const paid: OrderEvent = {
  type: "OrderStatusChanged",
  payload: { status: "paid", ...noParcel, changedAt: "2026-11-28T10:05:00.000Z" },
}
const shipped: OrderEvent = {
  type: "OrderStatusChanged",
  payload: { status: "shipped", ...shipment, changedAt: "2026-11-29T08:00:00.000Z" },
}
const delivered: OrderEvent = {
  type: "OrderStatusChanged",
  payload: { status: "delivered", ...shipment, changedAt: "2026-12-03T16:20:00.000Z" },
}
const returned: OrderEvent = {
  type: "OrderStatusChanged",
  payload: {
    status: "returned",
    ...noParcel,
    changedAt: "2026-12-08T09:00:00.000Z",
    returnedLines: [{ sku: "LAMP-1", quantity: 1 }],
  },
}

describe("an order's first snapshot", () => {
  it("places the order", () => {
    order.given([]).when(sync(v1)).thenEmits([placed])
  })

  it("places it and records every status its fields show, in order, when a later snapshot arrives first", () => {
    order.given([]).when(sync(v3)).thenEmits([placed, paid, shipped])
  })

  it("gives a status without a time of its own the time of the next one it knows", () => {
    expect(statusesShownBy(v5)).toEqual([
      { status: "placed", changedAt: "2026-11-28T10:00:00.000Z" },
      { status: "paid", changedAt: "2026-11-28T10:05:00.000Z" },
      { status: "shipped", changedAt: "2026-12-08T09:00:00.000Z" },
      { status: "delivered", changedAt: "2026-12-08T09:00:00.000Z" },
      { status: "returned", changedAt: "2026-12-08T09:00:00.000Z" },
    ])
  })

  it("takes a storefront's shipping and delivery times, and records no delivery for a parcel returned undelivered", () => {
    const timed = { shippedAt: "2026-11-29T08:00:00.000Z", deliveredAt: null }
    expect(statusesShownBy({ ...v5, ...timed }).map((s) => `${s.status} ${s.changedAt}`)).toEqual([
      "placed 2026-11-28T10:00:00.000Z",
      "paid 2026-11-28T10:05:00.000Z",
      "shipped 2026-11-29T08:00:00.000Z",
      "returned 2026-12-08T09:00:00.000Z",
    ])
    expect(
      statusesShownBy({ ...v5, ...timed, deliveredAt: "2026-12-01T12:00:00.000Z" }).map((s) => s.status),
    ).toEqual(["placed", "paid", "shipped", "delivered", "returned"])
  })

  it("takes the status as where the order stands: a shipment on an order still paid is not yet shipped", () => {
    order
      .given([])
      .when(sync({ ...v2, shipment }))
      .thenEmits([placed, paid])
  })
})

describe("duplicated, stale and reordered snapshots", () => {
  it("decides nothing for a snapshot delivered again", () => {
    order.given([placed, paid]).when(sync(v2)).thenNothingHappens()
  })

  it("decides nothing for an older snapshot that arrives after a newer one", () => {
    order.given([placed, paid, shipped]).when(sync(v2)).thenNothingHappens()
    order.given([placed, paid, shipped]).when(sync(v1)).thenNothingHappens()
  })

  it("appends only the statuses beyond the recorded one", () => {
    // v4 keeps no time of the shipment: it is stamped with the delivery's, the next time it knows.
    const shippedBy = { ...shipped, payload: { ...shipped.payload, changedAt: delivered.payload.changedAt } }
    order.given([placed, paid]).when(sync(v4)).thenEmits([shippedBy, delivered])
  })

  it("never goes back for a status skipped before: an order recorded shipped without paid stays so", () => {
    const shippedUnpaid = [placed, { ...shipped }]
    order.given(shippedUnpaid).when(sync(v4)).thenEmits([delivered])
  })

  it("converges on one OrderPlaced and one change per status, whatever the order and repetition of arrivals", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...life), { minLength: 1, maxLength: 12 }), (arrivals) => {
        let state = orderDecider.initialState()
        const emitted: Array<OrderEvent> = []
        for (const snapshot of arrivals) {
          const events = orderDecider.decide(sync(snapshot), state)
          state = fold(orderDecider, state, events)
          emitted.push(...events)
        }
        const newest = arrivals.reduce((a, b) => (b.version > a.version ? b : a))
        expect(emitted.map((e) => (e.type === "OrderPlaced" ? "placed" : e.payload.status))).toEqual(
          statusesShownBy(newest).map((s) => s.status),
        )
        expect(emitted[0]?.type).toBe("OrderPlaced")
        // Delivered again, in any order, they decide nothing more.
        for (const snapshot of [...arrivals].reverse())
          expect(orderDecider.decide(sync(snapshot), state)).toEqual([])
      }),
    )
  })
})

describe("cancellations and returns", () => {
  const cancelledAfterPayment: OrderSnapshot = {
    ...v2,
    status: "cancelled",
    cancelledAt: "2026-11-28T11:00:00.000Z",
    cancelReason: "customer asked",
    version: 3,
    updatedAt: "2026-11-28T11:00:00.000Z",
  }
  const cancelledWithoutReason = {
    status: "cancelled" as const,
    ...noParcel,
    changedAt: "2026-11-28T11:00:00.000Z",
  }
  const cancelled: OrderEvent = {
    type: "OrderStatusChanged",
    payload: { ...cancelledWithoutReason, reason: "customer asked" },
  }

  it("cancels a paid order, with the storefront's reason", () => {
    order.given([placed, paid]).when(sync(cancelledAfterPayment)).thenEmits([cancelled])
  })

  it("cancels an order before it was paid", () => {
    const unpaid = { ...cancelledAfterPayment, paidAt: null, cancelReason: null, version: 2 }
    order
      .given([])
      .when(sync(unpaid))
      .thenEmits([placed, { type: "OrderStatusChanged", payload: cancelledWithoutReason }])
  })

  it("records a return with the units that came back, after the delivery it implies", () => {
    order
      .given([placed, paid, shipped])
      .when(sync(v5))
      .thenEmits([
        {
          type: "OrderStatusChanged",
          payload: { ...delivered.payload, changedAt: "2026-12-08T09:00:00.000Z" },
        },
        returned,
      ])
  })

  it("takes a return that names no lines as every unit of the order", () => {
    order
      .given([placed, paid, shipped, delivered])
      .when(sync({ ...v5, returnedLines: [] }))
      .thenEmits([
        {
          type: "OrderStatusChanged",
          payload: {
            ...returned.payload,
            returnedLines: [
              { sku: "LAMP-1", quantity: 2 },
              { sku: "BULB-4", quantity: 4 },
            ],
          },
        },
      ])
  })
})

describe("bad input", () => {
  it("refuses a snapshot from another tenant than the order's, naming both", () => {
    order
      .given([placed])
      .when(sync(v2, "other-shop"))
      .thenThrows(/belongs to tenant shop.*other-shop/)
  })

  it("refuses lines that differ from those the order was placed with, naming them", () => {
    const more = { ...v2, lines: [{ ...lines[0]!, quantity: 3 }, lines[1]!] }
    order
      .given([placed])
      .when(sync(more))
      .thenThrows(/other lines.*LAMP-1 × 3.*recorded.*LAMP-1 × 2/)
  })

  it("refuses an order id that cannot be a subject token, naming it", () => {
    order
      .given([])
      .when(sync({ ...v1, id: "O.1042 >" }))
      .thenThrows(/"O\.1042 >" must be 1-63 characters of letters, digits, '_' or '-'/)
  })

  it("refuses an order id too long to name the order in its tenant, naming it", () => {
    order
      .given([])
      .when(sync({ ...v1, id: "O".repeat(64) }))
      .thenThrows(new RegExp(`"${"O".repeat(64)}" must be 1-63 characters`))
  })

  it("refuses a return of units the order does not hold", () => {
    order
      .given([placed, paid, shipped, delivered])
      .when(sync({ ...v5, returnedLines: [{ sku: "GHOST-9", quantity: 1 }] }))
      .thenThrows(/names GHOST-9, which the order does not hold/)
    order
      .given([placed, paid, shipped, delivered])
      .when(sync({ ...v5, returnedLines: [{ sku: "BULB-4", quantity: 5 }] }))
      .thenThrows(/brings back 5 of BULB-4, but the order holds 4/)
  })

  it("refuses a cancellation of an order recorded shipped, and a shipment of one recorded cancelled", () => {
    const cancelledSnapshot = { ...v2, status: "cancelled" as const, cancelledAt: "2026-11-30T00:00:00.000Z" }
    order
      .given([placed, paid, shipped])
      .when(sync(cancelledSnapshot))
      .thenThrows(/recorded shipped; snapshot 2 says it was cancelled/)
    const cancelledEvent: OrderEvent = {
      type: "OrderStatusChanged",
      payload: { status: "cancelled", ...noParcel, changedAt: "2026-11-30T00:00:00.000Z" },
    }
    order
      .given([placed, paid, cancelledEvent])
      .when(sync(v3))
      .thenThrows(/recorded cancelled; snapshot 3 says it was shipped/)
  })
})
