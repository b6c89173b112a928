import { ApproverTokens } from "@mesh/actions"
import { maxTenantOwnIdLength, ProductFacts } from "@mesh/contracts"
import { type AgentRoutes, bearerOf, bodyDigest, problem, readJson, tenantQueryOf } from "@mesh/kernel"
import { Effect, Layer, Redacted } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { ContentOpsDefs } from "../catalog.ts"
import { contentOpsName } from "../config.ts"
import { listingIdOf } from "../listing/listing.ts"
import { type ListingsTable, listingsReadModel } from "../projections/listingsReadModel.ts"

const MAX_BODY_BYTES = 64 * 1024
const skuPattern = new RegExp(`^[A-Za-z0-9_-]{1,${maxTenantOwnIdLength}}$`)
/** A product's facts as the merchandiser's feed sends them (the SKU is the path's). */
export const ProductFactsBody = ProductFacts.mapFields(({ sku: _sku, ...rest }) => rest)

const listingView = (row: ListingsTable) => ({
  sku: row.sku,
  tenantId: row.tenant_id,
  productName: row.product_name,
  factsVersion: row.facts_version,
  draftVersion: row.draft_version,
  title: row.title,
  description: row.description,
  price: { amountMinor: Number(row.price_minor), currency: row.currency },
  decisionId: row.decision_id,
  findings: row.findings === null ? null : (JSON.parse(row.findings) as unknown),
  status: row.status,
  publishActionId: row.publish_action_id,
  externalRef: row.external_ref,
  inStock: row.in_stock,
  stockReason: row.stock_reason,
  refusal: row.refusal,
  updatedAt: row.updated_at,
})

/**
 * The merchandisers' routes, for the shop's people (an approver's bearer token): `PUT
 * /products/:sku` records a product's facts, from which its listing is drafted, checked and
 * published; `GET /listings` (`?status=`, `?tenantId=`) and `/listings/:sku` (`?tenantId=`, needed
 * when two tenants sell the SKU) show each listing with its draft,
 * the fact check's findings, its publication and availability.
 */
export const listingRoutes: AgentRoutes<ContentOpsDefs, ApproverTokens> = (context) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const tokens = yield* ApproverTokens
      const model = listingsReadModel(context.db, context.namespace, contentOpsName)
      const guarded =
        <E, R>(
          handler: (
            request: HttpServerRequest.HttpServerRequest,
            person: string,
          ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
        ) =>
        (request: HttpServerRequest.HttpServerRequest) => {
          const token = bearerOf(request)
          const person = token === undefined ? undefined : tokens.identityOf(Redacted.make(token))
          return person === undefined
            ? Effect.succeed(problem(401, "a bearer token of a known approver is required", "authorization"))
            : handler(request, person).pipe(
                Effect.catch((error) => Effect.succeed(problem(503, String(error)))),
              )
        }
      return Layer.mergeAll(
        HttpRouter.add(
          "PUT",
          "/products/:sku",
          guarded((request, person) =>
            Effect.gen(function* () {
              const sku = (yield* HttpRouter.params).sku ?? ""
              if (!skuPattern.test(sku))
                return problem(400, `a SKU is 1-${maxTenantOwnIdLength} letters, digits, '_' or '-'`, "sku")
              const body = yield* readJson(request, MAX_BODY_BYTES, ProductFactsBody)
              if (!body.ok) return body.response
              const facts = { ...body.value, sku }
              // The facts version it changes: the same facts sent again are one request, but facts put
              // back to what they were before (A, B, then A) are a new one.
              const current = yield* Effect.promise(() =>
                model
                  .selectFrom("listings")
                  .select("facts_version")
                  .where("tenant_id", "=", facts.tenantId)
                  .where("sku", "=", sku)
                  .executeTakeFirst(),
              )
              const listingId = listingIdOf(facts)
              const received = yield* context
                .receive(
                  {
                    requestId: `facts-${listingId}-${bodyDigest({ facts, after: current?.facts_version ?? 0 }).slice(0, 16)}`,
                    name: "RecordProductFacts",
                    origin: "http",
                    actor: { kind: "human", id: person },
                    body: facts,
                  },
                  [
                    {
                      aggregateType: "listing",
                      aggregateId: listingId,
                      command: { _tag: "RecordProductFacts", facts },
                    },
                  ],
                )
                .pipe(
                  Effect.map((r) => ({ ok: true as const, r })),
                  Effect.catchTag("CommandError", (e) =>
                    Effect.succeed({ ok: false as const, message: e.message }),
                  ),
                )
              if (!received.ok) return problem(409, received.message)
              const changed = received.r.outcomes[0]?.status === "appended"
              return HttpServerResponse.jsonUnsafe(
                { tenantId: facts.tenantId, sku, changed },
                { status: changed ? 202 : 200 },
              )
            }),
          ),
        ),
        HttpRouter.add(
          "GET",
          "/listings",
          guarded((request) =>
            Effect.gen(function* () {
              const query = new URL(request.url, "http://agent").searchParams
              const status = query.get("status")
              const tenant = tenantQueryOf(request)
              if (!tenant.ok) return tenant.response
              const { tenantId } = tenant
              const rows = yield* Effect.promise(() => {
                let select = model.selectFrom("listings").selectAll()
                if (status !== null) select = select.where("status", "=", status)
                if (tenantId !== null) select = select.where("tenant_id", "=", tenantId)
                return select.orderBy("tenant_id").orderBy("sku").limit(1000).execute()
              })
              return HttpServerResponse.jsonUnsafe({ listings: rows.map(listingView) })
            }),
          ),
        ),
        HttpRouter.add(
          "GET",
          "/listings/:sku",
          guarded((request) =>
            Effect.gen(function* () {
              const sku = (yield* HttpRouter.params).sku ?? ""
              const tenant = tenantQueryOf(request)
              if (!tenant.ok) return tenant.response
              const { tenantId } = tenant
              const rows = yield* Effect.promise(() => {
                let select = model.selectFrom("listings").selectAll().where("sku", "=", sku)
                if (tenantId !== null) select = select.where("tenant_id", "=", tenantId)
                return select.limit(2).execute()
              })
              const [row] = rows
              // Without a tenant, a SKU two shops both sell names no one listing.
              if (rows.length > 1)
                return problem(
                  409,
                  `more than one tenant has a listing ${sku}: name one with ?tenantId=`,
                  "tenantId",
                )
              return row === undefined
                ? problem(404, `no listing ${sku}${tenantId === null ? "" : ` of tenant ${tenantId}`}`, "sku")
                : HttpServerResponse.jsonUnsafe(listingView(row))
            }),
          ),
        ),
      )
    }),
  )
