import type { ActionGate, Approvals, ApproverTokens, ConnectorRegistry } from "@mesh/actions"
import { actionExecutorWorker, actionsProjectionWorker, approvalsRoutes } from "@mesh/actions"
import type { MeshNamespace } from "@mesh/eventlog"
import { defineAgent, projectionWorker } from "@mesh/kernel"
import type { DecisionRecorder, ModelProvider } from "@mesh/models"
import type { Registers } from "@mesh/registers"
import { customerOpsAggregates } from "./aggregates.ts"
import { type CustomerOpsSettings, customerOpsName } from "./config.ts"
import type { CustomerHistory } from "./customerHistory.ts"
import { migrateCustomerOps } from "./db/migrations.ts"
import { recordActionOutcomes, replyAfterRefund } from "./handlers/actionOutcomes.ts"
import { answerMessages } from "./handlers/answerMessage.ts"
import { type CustomerOpsDefs, customerOpsCatalog } from "./handlers/catalog.ts"
import {
  draftProposedKnowledge,
  offerKnowledge,
  proposeKnowledge,
  rememberKnowledge,
  sendPersonsReplies,
} from "./handlers/knowledge.ts"
import { noticeLateDeliveries } from "./handlers/lateDeliveries.ts"
import { requestRefunds } from "./handlers/refunds.ts"
import { intakeRoutes, staffRoutes, ticketRoutes } from "./intake/routes.ts"
import type { KnowledgeBase } from "./knowledge/knowledgeBase.ts"
import type { OrderBook } from "./order/orderBook.ts"
import { customerCareProjection } from "./projections/customerCare.ts"
import { productCatalogueProjection } from "./projections/productCatalogue.ts"
import { storefrontReconciliationWorker } from "./storefront/reconciliation.ts"
import { storefrontWebhookRoutes } from "./storefront/webhookRoutes.ts"
import type { TicketThreads } from "./ticketThreads.ts"

/** Every service the customer-ops agent's parts require; its layer provides them all. */
export type CustomerOpsServices =
  | ModelProvider
  | DecisionRecorder
  | ActionGate
  | ConnectorRegistry
  | Approvals
  | ApproverTokens
  | CustomerHistory
  | TicketThreads
  | CustomerOpsSettings
  | KnowledgeBase
  | MeshNamespace
  | OrderBook
  | Registers

/**
 * The customer-ops agent: tickets from the email and chat webhooks, each message triaged, answered
 * from the customer's records, checked, and routed by the shop's reply policy; refunds and anything
 * a person must see wait in the approvals API. It executes its own actions (replies through the
 * mailbox, refunds through the payment provider) and keeps the customer-care read model. It owns the
 * storefront's orders in the log: signed webhooks and a reconciliation of the storefront's listing
 * make one `OrderPlaced` and one `OrderStatusChanged` per status of each order.
 */
export const customerOpsAgent = defineAgent<CustomerOpsDefs, CustomerOpsServices>({
  name: customerOpsName,
  catalog: customerOpsCatalog,
  aggregates: customerOpsAggregates,
  reactors: [
    answerMessages({ agent: customerOpsName }),
    recordActionOutcomes({ agent: customerOpsName }),
    requestRefunds({ agent: customerOpsName }),
    replyAfterRefund({ agent: customerOpsName }),
    sendPersonsReplies({ agent: customerOpsName }),
    proposeKnowledge,
    draftProposedKnowledge,
    offerKnowledge({ agent: customerOpsName }),
    rememberKnowledge,
    noticeLateDeliveries({ agent: customerOpsName }),
  ],
  workers: [
    projectionWorker(customerCareProjection),
    projectionWorker(productCatalogueProjection),
    actionsProjectionWorker(),
    actionExecutorWorker(),
    storefrontReconciliationWorker(),
  ],
  routes: [intakeRoutes, storefrontWebhookRoutes, ticketRoutes, staffRoutes, approvalsRoutes],
  migrate: migrateCustomerOps,
})
