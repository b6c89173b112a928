import type { ActionGate, Approvals, ApproverTokens, ConnectorRegistry } from "@mesh/actions"
import { actionExecutorWorker, actionsProjectionWorker, approvalsRoutes } from "@mesh/actions"
import { defineAgent, projectionWorker } from "@mesh/kernel"
import type { DecisionRecorder, ModelProvider } from "@mesh/models"
import type { Registers } from "@mesh/registers"
import { procurementAggregates } from "./aggregates.ts"
import { type ProcurementDefs, procurementCatalog } from "./catalog.ts"
import { type ProcurementSettings, procurementName } from "./config.ts"
import { lateDeliveryWatch } from "./handlers/lateDeliveries.ts"
import { purchaseOnReorder, recordPurchaseOutcomes, trackPurchaseOrders } from "./handlers/purchasing.ts"
import { allocateOrders, checkReorderPoints, fillBackorders, releaseReservations } from "./handlers/stock.ts"
import { procurementRoutes } from "./http/routes.ts"
import type { ProcurementLedger } from "./procurementLedger.ts"
import type { ProcurementRecords } from "./procurementRecords.ts"
import { procurementProjection } from "./projections/procurementReadModel.ts"

/** Every service the procurement agent's parts require; its layer provides them all. */
export type ProcurementServices =
  | ModelProvider
  | DecisionRecorder
  | ActionGate
  | ConnectorRegistry
  | Approvals
  | ApproverTokens
  | Registers
  | ProcurementLedger
  | ProcurementRecords
  | ProcurementSettings

/**
 * The procurement agent: keeps the shop stocked. It reserves stock for paid orders (never more than
 * there is), opens one reorder at a time for a SKU below its reorder point, drafts the purchase
 * order with the `chooseSupplier` skill, places it through the supplier connector as its policy
 * allows (a buyer approves large orders and a new supplier's first), receives goods in full or in
 * part, and marks late deliveries.
 */
export const procurementAgent = defineAgent<ProcurementDefs, ProcurementServices>({
  name: procurementName,
  catalog: procurementCatalog,
  aggregates: procurementAggregates,
  reactors: [
    allocateOrders({ agent: procurementName }),
    checkReorderPoints({ agent: procurementName }),
    fillBackorders({ agent: procurementName }),
    releaseReservations({ agent: procurementName }),
    purchaseOnReorder({ agent: procurementName }),
    trackPurchaseOrders({ agent: procurementName }),
    recordPurchaseOutcomes({ agent: procurementName }),
  ],
  workers: [
    projectionWorker(procurementProjection),
    actionsProjectionWorker(),
    actionExecutorWorker(),
    lateDeliveryWatch,
  ],
  routes: [procurementRoutes, approvalsRoutes],
})
