/** How far the storefront's order-event listing was applied, per tenant (the reconciliation's cursor). */
export interface StorefrontCursorsTable {
  tenant_id: string
  /** The listing's `next` after the last batch applied: the next poll asks for events after it. */
  seq: string | number
  updated_at: string
}

/**
 * The agent's own tables in its read-model schema, besides the projections' (which each projection
 * creates and rebuilds itself): state of its parts that cannot be rebuilt from the log.
 */
export interface CustomerOpsDatabase {
  storefront_cursors: StorefrontCursorsTable
}
