import { actionCatalog } from "@mesh/actions"
import {
  customerEvents,
  FrequentQuestionFound,
  KnowledgeArticleProposed,
  makeCatalog,
  procurementEvents,
  ResolvedQuestionNoted,
} from "@mesh/contracts"

/**
 * The events the customer-ops agent reads and writes: its customer domain, its actions' outcomes,
 * content ops' FAQ, whose proposed articles it drafts (the FAQ's other events share their subjects),
 * and procurement's: its read model keeps how each order's lines stand in the stock, and a late
 * purchase order is told to the customers it keeps waiting.
 */
export const customerOpsCatalog = makeCatalog([
  ...customerEvents,
  ...actionCatalog.definitions,
  ResolvedQuestionNoted,
  FrequentQuestionFound,
  KnowledgeArticleProposed,
  ...procurementEvents,
])
/** The event definitions of the customer-ops catalogue. */
export type CustomerOpsDefs = (typeof customerOpsCatalog.definitions)[number]
