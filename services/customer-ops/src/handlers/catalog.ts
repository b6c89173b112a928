import { actionCatalog } from "@mesh/actions"
import { contentEvents, customerEvents, makeCatalog, procurementEvents } from "@mesh/contracts"

/**
 * The events the customer-ops agent reads and writes: its customer domain; its actions' outcomes;
 * content ops' (the FAQ's proposed articles, which it drafts, and the catalogue's products, which
 * customers name when they ask whether one is in stock); and procurement's (its read model keeps
 * how each order's lines stand in the stock, and a late purchase order is told to the customers it
 * keeps waiting).
 */
export const customerOpsCatalog = makeCatalog([
  ...customerEvents,
  ...actionCatalog.definitions,
  ...contentEvents,
  ...procurementEvents,
])
/** The event definitions of the customer-ops catalogue. */
export type CustomerOpsDefs = (typeof customerOpsCatalog.definitions)[number]
