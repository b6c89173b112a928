import { DeciderSpecification } from "@mesh/kernel/testing"
import { describe, it } from "vitest"
import { allocationDecider, reservationIdOf } from "./allocation.ts"

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
