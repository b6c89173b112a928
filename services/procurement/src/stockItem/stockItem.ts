import { canonicalJson, type SupplierTerms, tenantScopedId } from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel"
import type { stockItemEvents } from "../catalog.ts"

type StockItemEvent = DecidedEvent<(typeof stockItemEvents)[number]>

/**
 * A SKU's stock item and register id: its tenant's (`tenantScopedId`), so two shops selling the
 * same SKU keep two stocks; content ops names the SKU's listing alike.
 */
export const stockIdOf = (tenantId: string, sku: string): string => tenantScopedId(tenantId, sku)

/** A SKU's settings, as the buyer gave them. */
export interface StockItemSettings {
  readonly tenantId: string
  readonly sku: string
  readonly name: string
  readonly reorderPoint: number
  readonly reorderQuantity: number
  readonly neededWithinDays: number
  readonly suppliers: ReadonlyArray<SupplierTerms>
  readonly openingStock: number
}

/** A SKU's stock state: unknown until set up, then its settings and the one reorder it may have open. */
export type StockItemState =
  | { readonly status: "unknown" }
  | {
      readonly status: "tracked"
      readonly settings: StockItemSettings
      /** The purchase order of the open reorder, or null when none is open. */
      readonly openReorder: string | null
      /**
       * The reorder whose cancellation (refused, lapsed, denied, undone) stopped automatic reorders
       * until a buyer resumes them: reopening at once would ask the same again, in a loop.
       */
      readonly heldAfter: string | null
    }

/** Commands of a SKU's stock item. */
export type StockItemCommand =
  | ({ readonly _tag: "ConfigureStockItem" } & StockItemSettings)
  | {
      readonly _tag: "CheckReorderPoint"
      /** Units free to promise, read from the reservations register. */
      readonly available: number
      /** Units still to come on open purchase orders (a buyer's own among them). */
      readonly onOrder: number
      /** The id the purchase order gets if a reorder opens (derived from the command by the caller). */
      readonly purchaseOrderId: string
    }
  | {
      readonly _tag: "CloseReorder"
      readonly purchaseOrderId: string
      readonly outcome: "received" | "cancelled"
    }
  | {
      readonly _tag: "RecordRestock"
      readonly quantity: number
      readonly reason: "received" | "opening-stock"
      readonly purchaseOrderId?: string
    }
  | { readonly _tag: "ResumeReorders"; readonly by: string }

// Canonical JSON: the same settings in another key order are the same settings.
const sameSettings = (a: StockItemSettings, b: StockItemSettings): boolean =>
  canonicalJson(a) === canonicalJson(b)

/**
 * A SKU's stock item: its settings and at most one open reorder. A SKU at or below its reorder point
 * (units free plus units on order) opens a reorder only when none is open and no cancelled one holds
 * reorders for a buyer, so two sales seen at once (by two replicas) order once:
 * the second append conflicts, and decided again on the fresh state it finds the reorder open.
 */
export const stockItemDecider: Decider<StockItemCommand, StockItemEvent, StockItemState> = {
  initialState: () => ({ status: "unknown" }),
  evolve: (state, event) => {
    switch (event.type) {
      case "StockItemConfigured": {
        const { openingStock, ...rest } = event.payload
        // The opening stock counts once, when the SKU is first set up; a later change keeps it.
        const settings = {
          ...rest,
          openingStock: state.status === "tracked" ? state.settings.openingStock : openingStock,
        }
        return state.status === "tracked"
          ? { ...state, settings }
          : { status: "tracked", settings, openReorder: null, heldAfter: null }
      }
      case "ReorderOpened":
        return state.status === "tracked" ? { ...state, openReorder: event.payload.purchaseOrderId } : state
      case "ReorderClosed":
        return state.status === "tracked" && state.openReorder === event.payload.purchaseOrderId
          ? {
              ...state,
              openReorder: null,
              heldAfter: event.payload.outcome === "cancelled" ? event.payload.purchaseOrderId : null,
            }
          : state
      case "ReordersResumed":
        return state.status === "tracked" ? { ...state, heldAfter: null } : state
      case "StockBelowReorderPoint":
      case "StockRestocked":
        return state
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "ConfigureStockItem": {
        const { _tag, ...settings } = command
        if (settings.suppliers.length === 0) throw new Error(`${settings.sku} needs at least one supplier`)
        const ids = new Set(settings.suppliers.map((s) => s.supplierId))
        if (ids.size !== settings.suppliers.length) throw new Error(`${settings.sku} names a supplier twice`)
        if (state.status === "tracked") {
          // A stock item's id is its tenant's and SKU's: settings of another are sent to the wrong one.
          if (
            stockIdOf(state.settings.tenantId, state.settings.sku) !==
            stockIdOf(settings.tenantId, settings.sku)
          )
            throw new Error(
              `the settings of ${settings.tenantId}'s ${settings.sku} were sent to ${state.settings.tenantId}'s ${state.settings.sku}`,
            )
          if (sameSettings({ ...state.settings, openingStock: settings.openingStock }, settings)) return []
        }
        return [{ type: "StockItemConfigured", payload: settings }]
      }
      case "CheckReorderPoint": {
        if (state.status !== "tracked" || state.openReorder !== null || state.heldAfter !== null) return []
        const { settings } = state
        // Units already on order count: a buyer's own order, say, covers what it will bring.
        if (command.available + command.onOrder > settings.reorderPoint) return []
        return [
          {
            type: "StockBelowReorderPoint",
            payload: { sku: settings.sku, onHand: command.available, reorderPoint: settings.reorderPoint },
          },
          {
            type: "ReorderOpened",
            payload: {
              tenantId: settings.tenantId,
              sku: settings.sku,
              purchaseOrderId: command.purchaseOrderId,
              // Enough to lift the SKU back above its reorder point by the reorder quantity.
              quantity:
                settings.reorderPoint - command.available - command.onOrder + settings.reorderQuantity,
              neededWithinDays: settings.neededWithinDays,
              available: command.available,
              suppliers: settings.suppliers,
            },
          },
        ]
      }
      case "RecordRestock":
        if (state.status !== "tracked") throw new Error("a SKU nobody set up takes no stock")
        return [
          {
            type: "StockRestocked",
            payload: {
              sku: state.settings.sku,
              quantity: command.quantity,
              reason: command.reason,
              ...(command.purchaseOrderId === undefined ? {} : { purchaseOrderId: command.purchaseOrderId }),
            },
          },
        ]
      case "ResumeReorders":
        if (state.status !== "tracked") throw new Error("no such stock item")
        return state.heldAfter === null ? [] : [{ type: "ReordersResumed", payload: { by: command.by } }]
      case "CloseReorder":
        return state.status === "tracked" && state.openReorder === command.purchaseOrderId
          ? [
              {
                type: "ReorderClosed",
                payload: { purchaseOrderId: command.purchaseOrderId, outcome: command.outcome },
              },
            ]
          : []
    }
  },
}
