import { type contentEvents, parseTenantScopedId } from "@mesh/contracts"
import { defineProjection, readModelSchemaOf } from "@mesh/kernel/projections"
import type { Kysely, QueryCreator } from "kysely"
import type { CatalogueProduct } from "../memory/products.ts"

/** The events this read model reads: content ops' public listing events. */
export type CatalogueDefs = (typeof contentEvents)[number]

/** A product of a tenant's catalogue, as content ops recorded its facts. */
export interface CatalogueProductsTable {
  tenant_id: string
  /** The shop's own SKU. */
  sku: string
  name: string
  /** The facts' version it was recorded from: an older version never overwrites a newer one. */
  facts_version: number
  /** Taken off the storefront: customers no longer buy it, so no stock is told of it. */
  withdrawn: boolean
  updated_at: string
}

/** The product-catalogue read model. */
export interface ProductCatalogueReadModel {
  catalogue_products: CatalogueProductsTable
}

/**
 * The shop's products as customers name them, per tenant, from the facts content ops records: a
 * customer asking whether "the blue mug" is back in stock is told of that SKU's stock. It reads the
 * content stream's public events only (choreography: content ops owns the catalogue), and is
 * rebuildable from it like every read model.
 */
export const productCatalogueProjection = defineProjection<CatalogueDefs, ProductCatalogueReadModel>({
  name: "product-catalogue",
  version: 1,
  streams: [{ domain: "content" }],
  tables: ["catalogue_products"],
  onFailure: "stop",
  lingerMs: 20,
  createTables: async (trx) => {
    await trx.schema
      .createTable("catalogue_products")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("sku", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("facts_version", "integer", (c) => c.notNull())
      .addColumn("withdrawn", "boolean", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("catalogue_products_pk", ["tenant_id", "sku"])
      .execute()
  },
  apply: async (trx, events) => {
    for (const { event } of events) {
      switch (event.type) {
        case "ProductFactsRecorded": {
          const { facts, version } = event.payload
          await trx
            .insertInto("catalogue_products")
            .values({
              tenant_id: facts.tenantId,
              sku: facts.sku,
              name: facts.productName,
              facts_version: version,
              withdrawn: false,
              updated_at: event.occurredAt,
            })
            .onConflict((oc) =>
              oc
                .columns(["tenant_id", "sku"])
                .doUpdateSet({
                  name: facts.productName,
                  facts_version: version,
                  updated_at: event.occurredAt,
                })
                .where("catalogue_products.facts_version", "<", version),
            )
            .execute()
          break
        }
        case "ListingWithdrawn": {
          // The listing's id is the SKU in its tenant (`listingIdOf`).
          const listing = parseTenantScopedId(event.aggregateId)
          if (listing === undefined) break
          await trx
            .updateTable("catalogue_products")
            .set({ withdrawn: true, updated_at: event.occurredAt })
            .where("tenant_id", "=", listing.tenantId)
            .where("sku", "=", listing.ownId)
            .execute()
          break
        }
        default:
          break
      }
    }
  },
})

/** The product-catalogue read model of `agent` in its namespace's schema. */
export const productCatalogueReadModel = (
  db: Kysely<unknown>,
  namespace: string,
  agent: string,
): QueryCreator<ProductCatalogueReadModel> =>
  (db as Kysely<ProductCatalogueReadModel>).withSchema(readModelSchemaOf(namespace, agent))

/** A tenant's products on sale, as customers name them. */
export const productsOfTenant = async (
  db: Pick<QueryCreator<ProductCatalogueReadModel>, "selectFrom">,
  tenantId: string,
): Promise<ReadonlyArray<CatalogueProduct>> =>
  db
    .selectFrom("catalogue_products")
    .select(["sku", "name"])
    .where("tenant_id", "=", tenantId)
    .where("withdrawn", "=", false)
    .orderBy("sku")
    .execute()
