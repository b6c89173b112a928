import { actionCatalog } from "@mesh/actions"
import {
  customerEvents,
  FrequentQuestionFound,
  KnowledgeArticleProposed,
  makeCatalog,
  ResolvedQuestionNoted,
} from "@mesh/contracts"

/**
 * The events the customer-ops agent reads and writes: its customer domain, its actions' outcomes, and
 * content ops' FAQ, whose proposed articles it drafts (the FAQ's other events share their subjects).
 */
export const customerOpsCatalog = makeCatalog([
  ...customerEvents,
  ...actionCatalog.definitions,
  ResolvedQuestionNoted,
  FrequentQuestionFound,
  KnowledgeArticleProposed,
])
/** The event definitions of the customer-ops catalogue. */
export type CustomerOpsDefs = (typeof customerOpsCatalog.definitions)[number]
