import { actionCatalog } from "@mesh/actions"
import { customerEvents, makeCatalog } from "@mesh/contracts"

/** The events the customer-ops agent reads and writes: its customer domain, and its actions' outcomes. */
export const customerOpsCatalog = makeCatalog([...customerEvents, ...actionCatalog.definitions])
/** The event definitions of the customer-ops catalogue. */
export type CustomerOpsDefs = (typeof customerOpsCatalog.definitions)[number]
