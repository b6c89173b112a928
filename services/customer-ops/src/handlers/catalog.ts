import { actionCatalog } from "@mesh/actions"
import {
  customerEvents,
  FrequentQuestionFound,
  KnowledgeArticleProposed,
  makeCatalog,
  PurchaseOrderCancelled,
  PurchaseOrderDrafted,
  PurchaseOrderLate,
  PurchaseOrderPlaced,
  PurchaseOrderReceived,
  PurchaseOrderRequested,
  ResolvedQuestionNoted,
} from "@mesh/contracts"

/**
 * The events the customer-ops agent reads and writes: its customer domain, its actions' outcomes,
 * content ops' FAQ, whose proposed articles it drafts (the FAQ's other events share their subjects),
 * and procurement's purchase orders, whose late marks it tells the waiting customers of (the
 * orders' other events share their subjects).
 */
export const customerOpsCatalog = makeCatalog([
  ...customerEvents,
  ...actionCatalog.definitions,
  ResolvedQuestionNoted,
  FrequentQuestionFound,
  KnowledgeArticleProposed,
  PurchaseOrderDrafted,
  PurchaseOrderRequested,
  PurchaseOrderPlaced,
  PurchaseOrderReceived,
  PurchaseOrderCancelled,
  PurchaseOrderLate,
])
/** The event definitions of the customer-ops catalogue. */
export type CustomerOpsDefs = (typeof customerOpsCatalog.definitions)[number]
