import { createHash } from "node:crypto"
import type { DecidedEvent, Decider } from "@mesh/kernel"
import type { allocationEvents } from "../catalog.ts"

type AllocationEvent = DecidedEvent<(typeof allocationEvents)[number]>

/** Where one line of a customer order stands in the stock. */
export type LineStatus = "waiting" | "reserved" | "backordered" | "shipped" | "released" | "returned"

/** A line of an order and its stock. */
export interface AllocationLine {
  readonly sku: string
  readonly quantity: number
  readonly status: LineStatus
  /** The reservation id in the stock-reservations register. */
  readonly reservation: string
  readonly returned: number
}

/** A customer order's stock: unknown until its placement is seen, then each line's status. */
export type AllocationState =
  | { readonly status: "unknown" }
  | {
      readonly status: "open"
      readonly tenantId: string
      readonly orderId: string
      readonly lines: ReadonlyArray<AllocationLine>
    }

/** What reserving a line came to, read from the reservations register by the caller. */
export type ReservationResult =
  | { readonly sku: string; readonly outcome: "reserved"; readonly reservation: string }
  | { readonly sku: string; readonly outcome: "backordered"; readonly available: number }

/** Commands of an order's allocation. */
export type AllocationCommand =
  | {
      readonly _tag: "OpenAllocation"
      readonly tenantId: string
      readonly orderId: string
      readonly lines: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>
    }
  | { readonly _tag: "RecordReservations"; readonly results: ReadonlyArray<ReservationResult> }
  | {
      readonly _tag: "RecordShipment"
      /** Back-ordered lines the storefront shipped anyway, with no unit free to reserve for them. */
      readonly unreserved?: ReadonlyArray<string>
    }
  | { readonly _tag: "RecordCancellation" }
  | {
      readonly _tag: "RecordReturn"
      readonly lines: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>
    }

/** The longest reservation id the stock-reservations register takes (a subject token). */
export const maxReservationIdLength = 128

/**
 * The reservation id of an order's line: the order and the line's place, so a redelivery takes the
 * same one. An order id too long to carry whole (an allocation's id may be any subject token, up to
 * the same 128 characters) keeps its head and a digest of all of it: still one id per order, and
 * the same one every time. Ids that fit keep their plain form, so reservations already taken are
 * still found.
 */
export const reservationIdOf = (orderId: string, index: number): string => {
  const line = `-l${index}`
  const plain = `${orderId}${line}`
  if (plain.length <= maxReservationIdLength) return plain
  const digest = createHash("sha256").update(orderId).digest("hex").slice(0, 16)
  const head = orderId.slice(0, maxReservationIdLength - line.length - digest.length - 1)
  return `${head}-${digest}${line}`
}

const mapLines = (
  state: Extract<AllocationState, { status: "open" }>,
  sku: string,
  from: ReadonlyArray<LineStatus>,
  change: (line: AllocationLine) => AllocationLine,
) => {
  let done = false
  return {
    ...state,
    lines: state.lines.map((line) => {
      if (done || line.sku !== sku || !from.includes(line.status)) return line
      done = true
      return change(line)
    }),
  }
}

/**
 * A customer order's stock, line by line: reserved when paid or back-ordered when too few units are
 * free, shipped, released on a cancellation, returned. Every move is recorded once; a redelivered
 * order event finds its lines already moved and decides nothing.
 */
export const allocationDecider: Decider<AllocationCommand, AllocationEvent, AllocationState> = {
  initialState: () => ({ status: "unknown" }),
  evolve: (state, event) => {
    switch (event.type) {
      case "OrderAllocationOpened":
        return state.status === "unknown"
          ? {
              status: "open",
              tenantId: event.payload.tenantId,
              orderId: event.payload.orderId,
              lines: event.payload.lines.map((line, index) => ({
                ...line,
                status: "waiting" as const,
                reservation: reservationIdOf(event.payload.orderId, index),
                returned: 0,
              })),
            }
          : state
      case "OrderStockReserved":
        return state.status === "open"
          ? mapLines(state, event.payload.sku, ["waiting", "backordered"], (l) => ({
              ...l,
              status: "reserved",
            }))
          : state
      case "OrderStockBackordered":
        return state.status === "open"
          ? mapLines(state, event.payload.sku, ["waiting"], (l) => ({ ...l, status: "backordered" }))
          : state
      case "OrderStockShipped":
        return state.status === "open"
          ? mapLines(
              state,
              event.payload.sku,
              event.payload.unreserved === true ? ["backordered"] : ["reserved"],
              (l) => ({ ...l, status: "shipped" }),
            )
          : state
      case "OrderStockReleased":
        return state.status === "open"
          ? mapLines(state, event.payload.sku, ["waiting", "reserved", "backordered"], (l) => ({
              ...l,
              status: "released",
            }))
          : state
      case "OrderStockReturned":
        return state.status === "open"
          ? mapLines(state, event.payload.sku, ["shipped"], (l) => ({
              ...l,
              returned: l.returned + event.payload.quantity,
              status: l.returned + event.payload.quantity >= l.quantity ? "returned" : "shipped",
            }))
          : state
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "OpenAllocation":
        if (state.status === "open") return []
        if (command.lines.length === 0) throw new Error(`order ${command.orderId} has no lines`)
        return [
          {
            type: "OrderAllocationOpened",
            payload: { tenantId: command.tenantId, orderId: command.orderId, lines: command.lines },
          },
        ]
      case "RecordReservations": {
        if (state.status !== "open") throw new Error("the order's lines are not known yet")
        const events: Array<AllocationEvent> = []
        let lines = state.lines
        for (const result of command.results) {
          const index = lines.findIndex(
            (l) =>
              l.sku === result.sku &&
              (l.status === "waiting" || (l.status === "backordered" && result.outcome === "reserved")),
          )
          const line = lines[index]
          if (line === undefined) {
            // A back-order filled while its order was being cancelled: the reservation taken for it is
            // given back (a reaction releases it in the register).
            const cancelled = lines.find((l) => l.sku === result.sku && l.status === "released")
            if (
              result.outcome === "reserved" &&
              cancelled !== undefined &&
              cancelled.reservation === result.reservation
            )
              events.push({
                type: "OrderStockReleased",
                payload: {
                  sku: cancelled.sku,
                  quantity: cancelled.quantity,
                  wasBackordered: false,
                  reservation: cancelled.reservation,
                },
              })
            continue
          }
          events.push(
            result.outcome === "reserved"
              ? {
                  type: "OrderStockReserved",
                  payload: { sku: line.sku, quantity: line.quantity, reservation: line.reservation },
                }
              : {
                  type: "OrderStockBackordered",
                  payload: { sku: line.sku, quantity: line.quantity, available: result.available },
                },
          )
          lines = lines.map((l, i) => (i === index ? { ...l, status: result.outcome } : l))
        }
        return events
      }
      case "RecordShipment": {
        if (state.status !== "open") return []
        const unreserved = new Set(command.unreserved ?? [])
        return state.lines.flatMap((l): ReadonlyArray<AllocationEvent> => {
          if (l.status === "reserved")
            return [{ type: "OrderStockShipped", payload: { sku: l.sku, quantity: l.quantity } }]
          if (l.status === "backordered" && unreserved.has(l.sku))
            return [
              { type: "OrderStockShipped", payload: { sku: l.sku, quantity: l.quantity, unreserved: true } },
            ]
          return []
        })
      }
      case "RecordCancellation":
        if (state.status !== "open") return []
        return state.lines
          .filter((l) => l.status === "waiting" || l.status === "reserved" || l.status === "backordered")
          .map((l) => ({
            type: "OrderStockReleased" as const,
            payload:
              l.status === "reserved"
                ? { sku: l.sku, quantity: l.quantity, wasBackordered: false, reservation: l.reservation }
                : { sku: l.sku, quantity: l.quantity, wasBackordered: true },
          }))
      case "RecordReturn": {
        if (state.status !== "open") return []
        const events: Array<AllocationEvent> = []
        for (const returned of command.lines) {
          let left = returned.quantity
          for (const line of state.lines) {
            if (left === 0 || line.sku !== returned.sku || line.status !== "shipped") continue
            const quantity = Math.min(left, line.quantity - line.returned)
            if (quantity <= 0) continue
            events.push({ type: "OrderStockReturned", payload: { sku: line.sku, quantity } })
            left -= quantity
          }
        }
        return events
      }
    }
  },
}
