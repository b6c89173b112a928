import type { Money } from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel"
import type { purchaseOrderEvents } from "../catalog.ts"

type PurchaseOrderEvent = DecidedEvent<(typeof purchaseOrderEvents)[number]>

const dayMs = 24 * 60 * 60 * 1000

/** What the supplier choice drafted. */
export interface PurchaseOrderDraft {
  readonly tenantId: string
  readonly sku: string
  readonly supplierId: string | null
  readonly quantity: number
  readonly unitCost: Money | null
  readonly total: Money | null
  readonly leadTimeDays: number | null
  readonly decisionId: string
  readonly reason: string
  readonly firstTimeSupplier: boolean
  /** The buyer who ordered by hand, when one did. */
  readonly orderedBy?: string
}

/** A purchase order's life. */
export type PurchaseOrderState =
  | { readonly status: "absent" }
  | {
      readonly status: "needs-buyer" | "drafted" | "requested" | "placed" | "received" | "cancelled"
      readonly draft: PurchaseOrderDraft
      readonly actionId: string | null
      readonly externalRef: string | null
      readonly expectedBy: string | null
      readonly received: number
      readonly late: boolean
    }

/** Commands of a purchase order. */
export type PurchaseOrderCommand =
  | ({ readonly _tag: "DraftPurchaseOrder" } & PurchaseOrderDraft)
  | { readonly _tag: "RecordPurchaseOrderRequest"; readonly actionId: string }
  | {
      readonly _tag: "RecordPurchaseOrderPlaced"
      readonly actionId: string
      readonly externalRef: string
      readonly placedAt: string
    }
  | { readonly _tag: "ReceiveGoods"; readonly quantity: number; readonly receivedAt: string }
  | { readonly _tag: "CancelPurchaseOrder"; readonly reason: string }
  | {
      readonly _tag: "CheckDelivery"
      readonly now: string
      /** The customer orders back-ordered on the SKU now, as the read model holds them. */
      readonly waiting?: ReadonlyArray<{ readonly orderId: string; readonly quantity: number }>
    }

/** Units still to come. */
export const outstandingOf = (state: PurchaseOrderState): number =>
  state.status === "absent" ? 0 : Math.max(0, state.draft.quantity - state.received)

/**
 * A purchase order: drafted by the supplier choice, requested through the action gate (where the
 * policy may hold it for a buyer), placed at the supplier, received in one delivery or several, or
 * cancelled. An order not complete by the date the supplier promised is late, once.
 */
export const purchaseOrderDecider: Decider<PurchaseOrderCommand, PurchaseOrderEvent, PurchaseOrderState> = {
  initialState: () => ({ status: "absent" }),
  evolve: (state, event) => {
    switch (event.type) {
      case "PurchaseOrderDrafted": {
        const { supplierId } = event.payload
        return {
          status: supplierId === null ? "needs-buyer" : "drafted",
          draft: event.payload,
          actionId: null,
          externalRef: null,
          expectedBy: null,
          received: 0,
          late: false,
        }
      }
      case "PurchaseOrderRequested":
        return state.status === "absent"
          ? state
          : { ...state, status: "requested", actionId: event.payload.actionId }
      case "PurchaseOrderPlaced":
        return state.status === "absent"
          ? state
          : {
              ...state,
              status: "placed",
              externalRef: event.payload.externalRef,
              expectedBy: event.payload.expectedBy ?? null,
            }
      case "PurchaseOrderReceived": {
        if (state.status === "absent") return state
        const received = state.received + event.payload.quantity
        return { ...state, received, status: received >= state.draft.quantity ? "received" : state.status }
      }
      case "PurchaseOrderCancelled":
        return state.status === "absent" ? state : { ...state, status: "cancelled" }
      case "PurchaseOrderLate":
        return state.status === "absent" ? state : { ...state, late: true }
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "DraftPurchaseOrder": {
        if (state.status !== "absent") return []
        const { _tag, ...draft } = command
        return [{ type: "PurchaseOrderDrafted", payload: draft }]
      }
      case "RecordPurchaseOrderRequest": {
        if (state.status === "absent") throw new Error("no such purchase order")
        if (state.status !== "drafted") return []
        const { draft } = state
        if (draft.supplierId === null || draft.unitCost === null || draft.total === null)
          throw new Error("a purchase order without a supplier cannot be requested")
        return [
          {
            type: "PurchaseOrderRequested",
            payload: {
              tenantId: draft.tenantId,
              sku: draft.sku,
              supplierId: draft.supplierId,
              quantity: draft.quantity,
              unitCost: draft.unitCost,
              total: draft.total,
              actionId: command.actionId,
            },
          },
        ]
      }
      case "RecordPurchaseOrderPlaced": {
        if (state.status === "absent") throw new Error("no such purchase order")
        if (state.status !== "requested" || state.actionId !== command.actionId) return []
        const expectedBy = new Date(
          Date.parse(command.placedAt) + (state.draft.leadTimeDays ?? 0) * dayMs,
        ).toISOString()
        return [
          {
            type: "PurchaseOrderPlaced",
            payload: {
              supplierId: state.draft.supplierId ?? "unknown",
              actionId: command.actionId,
              externalRef: command.externalRef,
              expectedBy,
            },
          },
        ]
      }
      case "ReceiveGoods": {
        if (state.status === "absent") throw new Error("no such purchase order")
        // Goods of an order cancelled after it was placed can still arrive: they are on the shelf all the same.
        const placedOnce =
          state.status === "placed" || (state.status === "cancelled" && state.externalRef !== null)
        if (!placedOnce)
          throw new Error(
            `purchase order is ${state.status}: only an order placed with its supplier receives goods`,
          )
        if (!Number.isInteger(command.quantity) || command.quantity < 1)
          throw new Error("a delivery has at least one unit")
        const outstanding = Math.max(0, state.draft.quantity - state.received - command.quantity)
        return [
          {
            type: "PurchaseOrderReceived",
            payload: {
              sku: state.draft.sku,
              quantity: command.quantity,
              outstanding,
              onTime: state.expectedBy === null || command.receivedAt <= state.expectedBy,
              receivedAt: command.receivedAt,
            },
          },
        ]
      }
      case "CancelPurchaseOrder":
        if (state.status === "absent") throw new Error("no such purchase order")
        return state.status === "received" || state.status === "cancelled"
          ? []
          : [{ type: "PurchaseOrderCancelled", payload: { reason: command.reason } }]
      case "CheckDelivery": {
        if (state.status !== "placed" || state.late || state.expectedBy === null) return []
        if (command.now <= state.expectedBy) return []
        return [
          {
            type: "PurchaseOrderLate",
            payload: {
              tenantId: state.draft.tenantId,
              sku: state.draft.sku,
              supplierId: state.draft.supplierId ?? "unknown",
              expectedBy: state.expectedBy,
              outstanding: outstandingOf(state),
              ...(command.waiting === undefined ? {} : { waiting: command.waiting }),
            },
          },
        ]
      }
    }
  },
}
