import { actionCatalog } from "@mesh/actions"
import {
  contentEvents,
  customerEvents,
  FrequentQuestionFound,
  InvariantViolated,
  KnowledgeArticleProposed,
  ListingBackInStock,
  ListingChecked,
  ListingDrafted,
  ListingMarkedOutOfStock,
  ListingPublished,
  ListingPublishRefused,
  ListingWithdrawn,
  makeCatalog,
  ProductFactsRecorded,
  procurementEvents,
  ResolvedQuestionNoted,
} from "@mesh/contracts"

/** The events the content-ops agent reads and writes: its content domain, customer care's tickets, procurement's stock, its actions, and the resolver's violations. */
export const contentOpsCatalog = makeCatalog([
  ...contentEvents,
  ...customerEvents,
  ...procurementEvents,
  ...actionCatalog.definitions,
  InvariantViolated,
])
/** The event definitions of the content-ops catalogue. */
export type ContentOpsDefs = (typeof contentOpsCatalog.definitions)[number]

/** The events of a SKU's `listing` aggregate that its decider folds. */
export const listingEvents = [
  ProductFactsRecorded,
  ListingDrafted,
  ListingChecked,
  ListingPublished,
  ListingPublishRefused,
  ListingMarkedOutOfStock,
  ListingBackInStock,
  ListingWithdrawn,
] as const

/** The events of a tenant's `faq` aggregate (one per intent). */
export const faqEvents = [ResolvedQuestionNoted, FrequentQuestionFound, KnowledgeArticleProposed] as const
