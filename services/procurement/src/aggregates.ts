import type { AggregateDefinition, DecidedEvent, Decider } from "@mesh/kernel"
import { type AllocationCommand, type AllocationState, allocationDecider } from "./allocation/allocation.ts"
import type { ProcurementDefs } from "./catalog.ts"
import {
  type PurchaseOrderCommand,
  type PurchaseOrderState,
  purchaseOrderDecider,
} from "./purchaseOrder/purchaseOrder.ts"
import { type StockItemCommand, type StockItemState, stockItemDecider } from "./stockItem/stockItem.ts"

// The procurement agent's aggregates: pure deciders, light to load, for the agent and for tools
// that fold its history (`mesh replay`).

// Each decider folds only its own aggregate's events; the kernel hands it the agent's catalogue type.
// `opening`: the command that opens one (see `opensWith`).
const aggregate = <C extends { readonly _tag: string }, S>(
  type: string,
  decider: unknown,
  opening: C["_tag"],
): AggregateDefinition<ProcurementDefs, C, S> => ({
  domain: "procurement",
  type,
  decider: decider as Decider<C, DecidedEvent<ProcurementDefs>, S>,
  opensWith: (command) => command._tag === opening,
})

/** Every aggregate the procurement agent decides, as the kernel and replay take them. */
export const procurementAggregates = [
  aggregate<StockItemCommand, StockItemState>("stockItem", stockItemDecider, "ConfigureStockItem"),
  aggregate<AllocationCommand, AllocationState>("allocation", allocationDecider, "OpenAllocation"),
  aggregate<PurchaseOrderCommand, PurchaseOrderState>(
    "purchaseOrder",
    purchaseOrderDecider,
    "DraftPurchaseOrder",
  ),
] as const
