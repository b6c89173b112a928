import { type contentEvents, parseTenantScopedId } from "@mesh/contracts"
import { defineProjection, type ProjectionEvent, readModelSchemaOf } from "@mesh/kernel/projections"
import type { Kysely, QueryCreator, Transaction } from "kysely"

type ContentEventDefs = (typeof contentEvents)[number]

/** A tenant's SKU's listing as merchandisers see it. */
export interface ListingsTable {
  sku: string
  tenant_id: string
  product_name: string
  facts_version: number
  draft_version: number | null
  title: string | null
  description: string | null
  price_minor: number
  currency: string
  decision_id: string | null
  /** The fact check's findings (JSON array of {code, detail}), or null before the check. */
  findings: string | null
  /** drafting, awaiting-approval, publishing, published, refused or withdrawn. */
  status: string
  publish_action_id: string | null
  external_ref: string | null
  in_stock: boolean
  stock_reason: string | null
  refusal: string | null
  updated_at: string
}

/** The listings read model's tables. */
export interface ListingsReadModel {
  listings: ListingsTable
}

type Trx = Transaction<ListingsReadModel>

type ListingKey = { readonly tenantId: string; readonly sku: string }

const patch = (trx: Trx, key: ListingKey, at: string, values: Partial<ListingsTable>) =>
  trx
    .updateTable("listings")
    .set({ ...values, updated_at: at })
    .where("tenant_id", "=", key.tenantId)
    .where("sku", "=", key.sku)
    .execute()

// A listing's id is its tenant's and SKU's (`tenantScopedId`); the FAQ's aggregates are not listings.
const listingKeyOf = (aggregateId: string): ListingKey => {
  const parsed = parseTenantScopedId(aggregateId)
  if (parsed === undefined)
    throw new Error(`listing id ${JSON.stringify(aggregateId)} names no tenant and SKU`)
  return { tenantId: parsed.tenantId, sku: parsed.ownId }
}

const applyOne = async (trx: Trx, { event }: ProjectionEvent<ContentEventDefs>): Promise<void> => {
  if (event.aggregateType !== "listing") return
  const key = listingKeyOf(event.aggregateId)
  const at = event.occurredAt
  switch (event.type) {
    case "ProductFactsRecorded": {
      const { facts, version } = event.payload
      const values = {
        tenant_id: facts.tenantId,
        product_name: facts.productName,
        facts_version: version,
        price_minor: facts.price.amountMinor,
        currency: facts.price.currency,
        updated_at: at,
      }
      await trx
        .insertInto("listings")
        .values({
          sku: key.sku,
          ...values,
          draft_version: null,
          title: null,
          description: null,
          decision_id: null,
          findings: null,
          status: "drafting",
          publish_action_id: null,
          external_ref: null,
          in_stock: true,
          stock_reason: null,
          refusal: null,
        })
        .onConflict((oc) => oc.columns(["tenant_id", "sku"]).doUpdateSet(values))
        .execute()
      return
    }
    case "ListingDrafted":
      await patch(trx, key, at, {
        draft_version: event.payload.draftVersion ?? null,
        title: event.payload.title,
        description: event.payload.description,
        decision_id: event.payload.decisionId,
        findings: null,
      })
      return
    case "ListingChecked":
      await patch(trx, key, at, {
        findings: JSON.stringify(event.payload.findings),
        status: event.payload.findings.length === 0 ? "publishing" : "awaiting-approval",
        publish_action_id: event.payload.actionId,
      })
      return
    case "ListingPublished":
      await patch(trx, key, at, { status: "published", external_ref: event.payload.externalRef })
      return
    case "ListingPublishRefused":
      await patch(trx, key, at, { status: "refused", refusal: event.payload.reason })
      return
    case "ListingMarkedOutOfStock":
      await patch(trx, key, at, { in_stock: false, stock_reason: event.payload.reason })
      return
    case "ListingBackInStock":
      await patch(trx, key, at, { in_stock: true, stock_reason: null })
      return
    case "ListingWithdrawn":
      await patch(trx, key, at, { status: "withdrawn", refusal: event.payload.reason })
      return
    // The FAQ's events are not the listings'.
    case "ResolvedQuestionNoted":
    case "FrequentQuestionFound":
    case "KnowledgeArticleProposed":
      return
    case "ListingPriceChanged":
      await patch(trx, key, at, {
        price_minor: event.payload.to.amountMinor,
        currency: event.payload.to.currency,
      })
      return
  }
}

/** The listings read model: each SKU's facts version, draft, fact-check findings, publication and availability. */
export const listingsProjection = defineProjection<ContentEventDefs, ListingsReadModel>({
  name: "listings",
  // 2: keyed by tenant and SKU, since two shops may sell the same SKU.
  version: 2,
  streams: [{ domain: "content" }],
  tables: ["listings"],
  onFailure: "stop",
  lingerMs: 50,
  createTables: async (trx) => {
    await trx.schema
      .createTable("listings")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("sku", "text", (c) => c.notNull())
      .addColumn("product_name", "text", (c) => c.notNull())
      .addColumn("facts_version", "integer", (c) => c.notNull())
      .addColumn("draft_version", "integer")
      .addColumn("title", "text")
      .addColumn("description", "text")
      .addColumn("price_minor", "bigint", (c) => c.notNull())
      .addColumn("currency", "text", (c) => c.notNull())
      .addColumn("decision_id", "text")
      .addColumn("findings", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("publish_action_id", "text")
      .addColumn("external_ref", "text")
      .addColumn("in_stock", "boolean", (c) => c.notNull())
      .addColumn("stock_reason", "text")
      .addColumn("refusal", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("listings_pkey", ["tenant_id", "sku"])
      .execute()
    await trx.schema
      .createIndex("listings_by_status")
      .on("listings")
      .columns(["status", "updated_at"])
      .execute()
  },
  apply: async (trx, events) => {
    for (const event of events) await applyOne(trx, event)
  },
})

/** The listings read model of `agent` in its namespace's schema. */
export const listingsReadModel = (
  db: Kysely<unknown>,
  namespace: string,
  agent: string,
): QueryCreator<ListingsReadModel> =>
  (db as Kysely<ListingsReadModel>).withSchema(readModelSchemaOf(namespace, agent))
