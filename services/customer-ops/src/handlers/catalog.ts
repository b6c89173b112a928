import { actionCatalog } from "@mesh/actions"
import { customerEvents, KnowledgeArticleProposed, makeCatalog } from "@mesh/contracts"

/** The events the customer-ops agent reads and writes: its customer domain, its actions' outcomes, and the articles content ops proposes. */
export const customerOpsCatalog = makeCatalog([
  ...customerEvents,
  ...actionCatalog.definitions,
  KnowledgeArticleProposed,
])
/** The event definitions of the customer-ops catalogue. */
export type CustomerOpsDefs = (typeof customerOpsCatalog.definitions)[number]
