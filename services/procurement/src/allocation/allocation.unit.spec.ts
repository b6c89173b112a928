import { maxTenantOwnIdLength, SubjectToken, tenantScopedId } from "@mesh/contracts"
import { DeciderSpecification } from "@mesh/kernel/testing"
import { Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { allocationDecider, maxReservationIdLength, reservationIdOf } from "./allocation.ts"

const allocation = DeciderSpecification.for(allocationDecider)

const opened = {
  type: "OrderAllocationOpened" as const,
  payload: {
    tenantId: "shop",
    orderId: "o-1",
    lines: [
      { sku: "LAMP-1", quantity: 2 },
      { sku: "BULB-1", quantity: 4 },
    ],
  },
}
const reserved = (sku: string, quantity: number, index: number) => ({
  type: "OrderStockReserved" as const,
  payload: { sku, quantity, reservation: reservationIdOf("o-1", index) },
})
const backordered = {
  type: "OrderStockBackordered" as const,
  payload: { sku: "BULB-1", quantity: 4, available: 1 },
}

describe("an order's stock", () => {
  it("records each line's reservation or back-order once, whatever the redelivery", () => {
    const results = [
      { sku: "LAMP-1", outcome: "reserved", reservation: reservationIdOf("o-1", 0) },
      { sku: "BULB-1", outcome: "backordered", available: 1 },
    ] as const
    allocation
      .given([opened])
      .when({ _tag: "RecordReservations", results })
      .thenEmits([reserved("LAMP-1", 2, 0), backordered])
    allocation
      .given([opened, reserved("LAMP-1", 2, 0), backordered])
      .when({ _tag: "RecordReservations", results })
      .thenNothingHappens()
  })

  it("ships only what was reserved, and releases the rest of a cancelled order", () => {
    allocation
      .given([opened, reserved("LAMP-1", 2, 0), backordered])
      .when({ _tag: "RecordShipment" })
      .thenEmits([{ type: "OrderStockShipped", payload: { sku: "LAMP-1", quantity: 2 } }])
    allocation
      .given([opened, reserved("LAMP-1", 2, 0), backordered])
      .when({ _tag: "RecordCancellation" })
      .thenEmits([
        {
          type: "OrderStockReleased",
          payload: {
            sku: "LAMP-1",
            quantity: 2,
            wasBackordered: false,
            reservation: reservationIdOf("o-1", 0),
          },
        },
        { type: "OrderStockReleased", payload: { sku: "BULB-1", quantity: 4, wasBackordered: true } },
      ])
  })

  it("takes back at most what was shipped, and nothing twice", () => {
    const shipped = { type: "OrderStockShipped" as const, payload: { sku: "LAMP-1", quantity: 2 } }
    allocation
      .given([opened, reserved("LAMP-1", 2, 0), shipped])
      .when({
        _tag: "RecordReturn",
        lines: [
          { sku: "LAMP-1", quantity: 5 },
          { sku: "BULB-1", quantity: 1 },
        ],
      })
      .thenEmits([{ type: "OrderStockReturned", payload: { sku: "LAMP-1", quantity: 2 } }])
    allocation
      .given([
        opened,
        reserved("LAMP-1", 2, 0),
        shipped,
        { type: "OrderStockReturned", payload: { sku: "LAMP-1", quantity: 2 } },
      ])
      .when({ _tag: "RecordReturn", lines: [{ sku: "LAMP-1", quantity: 2 }] })
      .thenNothingHappens()
  })

  it("refuses reservations for an order whose lines it has not seen", () => {
    allocation.given([]).when({ _tag: "RecordReservations", results: [] }).thenThrows()
    allocation
      .given([])
      .when({ _tag: "OpenAllocation", tenantId: "shop", orderId: "o-1", lines: [] })
      .thenThrows()
  })
})

describe("a reservation's id", () => {
  const isToken = Schema.is(SubjectToken)
  // Any order id an allocation may have: a subject token of up to 128 characters.
  const orderIds = fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/)
  const lineIndexes = fc.nat({ max: 9_999 })

  it("is the order and the line's place, as long as that fits the register", () => {
    expect(reservationIdOf("shop_1001", 0)).toBe("shop_1001-l0")
    // The longest id a tenant's order can have (its tenant of 32, its own id of 63) fits whole.
    const longest = tenantScopedId("t".repeat(32), "o".repeat(maxTenantOwnIdLength))
    expect(reservationIdOf(longest, 99)).toBe(`${longest}-l99`)
  })

  it("fits the register and is the same on every delivery, for any order id and line", () => {
    fc.assert(
      fc.property(orderIds, lineIndexes, (orderId, index) => {
        const id = reservationIdOf(orderId, index)
        expect(id.length).toBeLessThanOrEqual(maxReservationIdLength)
        expect(isToken(id)).toBe(true)
        expect(reservationIdOf(orderId, index)).toBe(id)
        expect(id.endsWith(`-l${index}`)).toBe(true)
      }),
    )
  })

  it("tells apart orders and lines, however long their ids and however much of them they share", () => {
    const head = "shop_".padEnd(124, "x")
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{0,4}$/), { minLength: 2, maxLength: 20 }),
        fc.uniqueArray(lineIndexes, { minLength: 1, maxLength: 5 }),
        (tails, indexes) => {
          const ids = tails.flatMap((tail) => indexes.map((index) => reservationIdOf(head + tail, index)))
          expect(new Set(ids).size).toBe(ids.length)
        },
      ),
    )
  })

  it("names the reservation an order of the longest id takes and gives back", () => {
    const orderId = "shop_".padEnd(128, "9")
    const reservation = reservationIdOf(orderId, 0)
    expect(reservation.length).toBe(maxReservationIdLength)
    allocation
      .given([
        {
          type: "OrderAllocationOpened",
          payload: { tenantId: "shop", orderId, lines: [{ sku: "MUG-1", quantity: 1 }] },
        },
        { type: "OrderStockReserved", payload: { sku: "MUG-1", quantity: 1, reservation } },
      ])
      .when({ _tag: "RecordCancellation" })
      .thenEmits([
        {
          type: "OrderStockReleased",
          payload: { sku: "MUG-1", quantity: 1, wasBackordered: false, reservation },
        },
      ])
  })
})
