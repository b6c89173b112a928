import { ApproverTokens, makeActionCommands } from "@mesh/actions"
import {
  inventoryOnHand,
  Money,
  maxTenantOwnIdLength,
  NonEmpty,
  Quantity,
  SupplierTerms,
  stockReservations,
  TenantId,
  TenantOwnId,
} from "@mesh/contracts"
import {
  type AgentRoutes,
  bearerOf,
  bodyDigest,
  deterministicUuid,
  problem,
  readJson,
  tenantQueryOf,
} from "@mesh/kernel"
import { Registers } from "@mesh/registers"
import { Effect, Layer, Redacted, Schema } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { ProcurementDefs } from "../catalog.ts"
import { procurementName } from "../config.ts"
import {
  type PurchaseOrdersTable,
  procurementReadModel,
  type StockItemsTable,
  supplierRecords,
} from "../projections/procurementReadModel.ts"
import { stockIdOf } from "../stockItem/stockItem.ts"

const MAX_BODY_BYTES = 64 * 1024

// A SKU is a tenant's own id: with its tenant it names the stock item and its registers.
const skuPattern = new RegExp(`^[A-Za-z0-9_-]{1,${maxTenantOwnIdLength}}$`)
const skuProblem = (sku: string) =>
  problem(
    400,
    `${JSON.stringify(sku.slice(0, 80))} is not a SKU: a SKU is 1-${maxTenantOwnIdLength} letters, digits, '_' or '-'`,
    "sku",
  )
// A purchase order's id is its aggregate's: a subject token.
const purchaseOrderIdPattern = /^[A-Za-z0-9_-]{1,128}$/
const ambiguousSku = (sku: string) =>
  problem(409, `more than one tenant stocks ${sku}: name one with ?tenantId=`, "tenantId")

/** A SKU's stock settings as a buyer sends them. */
export const StockItemSettingsBody = Schema.Struct({
  tenantId: TenantId,
  name: NonEmpty,
  reorderPoint: Quantity,
  reorderQuantity: Quantity.check(Schema.isGreaterThanOrEqualTo(1)),
  neededWithinDays: Quantity,
  suppliers: Schema.Array(SupplierTerms).check(Schema.isMinLength(1)),
  openingStock: Schema.optionalKey(Quantity),
})

/** A buyer's own purchase order (a rush order, a supplier the agent does not know for the SKU). */
export const BuyersOrderBody = Schema.Struct({
  /** The buyer's reference for it: the same reference sent again is the same order. */
  reference: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/)),
  tenantId: TenantId,
  sku: TenantOwnId,
  supplierId: NonEmpty,
  quantity: Quantity.check(Schema.isGreaterThanOrEqualTo(1)),
  unitCost: Money,
  leadTimeDays: Quantity,
})

/** A delivery of goods at the dock. */
export const ReceiptBody = Schema.Struct({
  quantity: Quantity.check(Schema.isGreaterThanOrEqualTo(1)),
  /** The delivery note's id: the same note scanned twice is one delivery. */
  deliveryId: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/)),
})

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined
const reasonOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "reason" in error ? tagOf(error.reason) : undefined

// A request id sent again with another body, or a command the aggregate refuses, is the caller's to
// fix (409); anything else is ours, and worth a retry (503).
const failureAnswer = (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error)
  if (tagOf(error) === "RequestLogError" && reasonOf(error) === "RequestIdReused")
    return problem(409, `${message}: the same reference was sent before with another body`)
  if (tagOf(error) === "CommandError" && reasonOf(error) === "InvalidCommand") return problem(409, message)
  return problem(503, message)
}

/** Why a buyer cancels a purchase order. */
export const CancellationBody = Schema.Struct({ reason: NonEmpty.check(Schema.isMaxLength(500)) })

const money = (minor: number | null, currency: string | null) =>
  minor === null || currency === null ? null : { amountMinor: Number(minor), currency }

/**
 * The buyer's and the warehouse's routes, for the shop's people (an approver's bearer token):
 * `PUT /stock-items/:sku` sets a SKU's reorder point, quantity, lead time and suppliers;
 * `GET /stock-items` and `/stock-items/:sku` show them with the units on hand, reserved and free
 * (read live from the registers); `GET /purchase-orders` (`?status=`, `?sku=`) and
 * `/purchase-orders/:id` show orders with their decision and approval; `POST
 * /purchase-orders/:id/receipts` records goods received, in full or in part. A SKU is its tenant's:
 * a route naming only a SKU takes `?tenantId=`, and without it means the one tenant that has the
 * SKU (409 when several do).
 */
export const procurementRoutes: AgentRoutes<ProcurementDefs, ApproverTokens | Registers> = (context) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const tokens = yield* ApproverTokens
      const registers = yield* Registers
      const model = procurementReadModel(context.db, context.namespace, procurementName)
      const personOf = (request: HttpServerRequest.HttpServerRequest) => {
        const token = bearerOf(request)
        return token === undefined ? undefined : tokens.identityOf(Redacted.make(token))
      }
      const unknownPerson = () =>
        problem(401, "a bearer token of a known approver is required", "authorization")
      const guarded =
        <E, R>(
          handler: (
            request: HttpServerRequest.HttpServerRequest,
            person: string,
          ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
        ) =>
        (request: HttpServerRequest.HttpServerRequest) => {
          const person = personOf(request)
          return person === undefined
            ? Effect.succeed(unknownPerson())
            : handler(request, person).pipe(Effect.catch((error) => Effect.succeed(failureAnswer(error))))
        }
      const levels = (stockId: string) =>
        Effect.gen(function* () {
          const onHand = yield* registers.read(inventoryOnHand, stockId)
          const reserved = yield* registers.read(stockReservations, stockId)
          return {
            onHand: onHand.value,
            available: reserved.value.available,
            held: reserved.value.held,
            confirmed: reserved.value.confirmed,
          }
        })
      const stockItemView = (row: StockItemsTable) =>
        Effect.map(levels(stockIdOf(row.tenant_id, row.sku)), (stock) => ({
          sku: row.sku,
          tenantId: row.tenant_id,
          name: row.name,
          reorderPoint: row.reorder_point,
          reorderQuantity: row.reorder_quantity,
          neededWithinDays: row.needed_within_days,
          suppliers: JSON.parse(row.suppliers) as unknown,
          openPurchaseOrder: row.open_purchase_order,
          reordersHeldAfter: row.reorders_held_after,
          belowReorderPointAt: row.below_reorder_point_at,
          stock,
        }))
      const orderView = (row: PurchaseOrdersTable) => ({
        purchaseOrderId: row.purchase_order_id,
        tenantId: row.tenant_id,
        sku: row.sku,
        supplierId: row.supplier_id,
        quantity: row.quantity,
        unitCost: money(row.unit_cost_minor, row.currency),
        total: money(row.total_minor, row.currency),
        status: row.status,
        decisionId: row.decision_id,
        reason: row.reason,
        firstTimeSupplier: row.first_time_supplier,
        actionId: row.action_id,
        externalRef: row.external_ref,
        expectedBy: row.expected_by,
        received: row.received,
        late: row.late,
        cancelReason: row.cancel_reason,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      })
      // The stock item a route naming only a SKU means: the tenant's given by `?tenantId=`, else the
      // one tenant's that has the SKU; two tenants selling it name no one stock item (409).
      const stockItemOf = (request: HttpServerRequest.HttpServerRequest, sku: string) =>
        Effect.gen(function* () {
          if (!skuPattern.test(sku)) return { ok: false as const, response: skuProblem(sku) }
          const tenant = tenantQueryOf(request)
          if (!tenant.ok) return tenant
          const { tenantId } = tenant
          const rows = yield* Effect.promise(() => {
            let select = model.selectFrom("stock_items").selectAll().where("sku", "=", sku)
            if (tenantId !== null) select = select.where("tenant_id", "=", tenantId)
            return select.limit(2).execute()
          })
          const [row] = rows
          if (rows.length > 1) return { ok: false as const, response: ambiguousSku(sku) }
          if (row === undefined)
            return {
              ok: false as const,
              response: problem(
                404,
                `no stock item ${sku}${tenantId === null ? "" : ` of tenant ${tenantId}`}`,
                "sku",
              ),
            }
          return { ok: true as const, row }
        })
      return Layer.mergeAll(
        HttpRouter.add(
          "PUT",
          "/stock-items/:sku",
          guarded((request, person) =>
            Effect.gen(function* () {
              const sku = (yield* HttpRouter.params).sku ?? ""
              if (!skuPattern.test(sku)) return skuProblem(sku)
              const settings = yield* readJson(request, MAX_BODY_BYTES, StockItemSettingsBody)
              if (!settings.ok) return settings.response
              const { openingStock, ...rest } = settings.value
              const stockId = stockIdOf(rest.tenantId, sku)
              // The settings it changes, as last recorded: the same body sent again is one request, but
              // settings put back to what they were before (A, B, then A) are a new one.
              const current = yield* Effect.promise(() =>
                model
                  .selectFrom("stock_items")
                  .select("updated_at")
                  .where("tenant_id", "=", rest.tenantId)
                  .where("sku", "=", sku)
                  .executeTakeFirst(),
              )
              const received = yield* context.receive(
                {
                  requestId: `stock-item-${stockId}-${bodyDigest({ settings: settings.value, after: current?.updated_at ?? null }).slice(0, 16)}`,
                  name: "ConfigureStockItem",
                  origin: "http",
                  actor: { kind: "human", id: person },
                  body: { sku, ...settings.value },
                },
                [
                  {
                    aggregateType: "stockItem",
                    aggregateId: stockId,
                    command: { _tag: "ConfigureStockItem", sku, ...rest, openingStock: openingStock ?? 0 },
                  },
                ],
              )
              const outcome = received.outcomes[0]
              return HttpServerResponse.jsonUnsafe(
                { tenantId: rest.tenantId, sku, changed: outcome?.status === "appended" },
                { status: outcome?.status === "appended" ? 202 : 200 },
              )
            }),
          ),
        ),
        HttpRouter.add(
          "GET",
          "/stock-items",
          guarded((request) =>
            Effect.gen(function* () {
              const tenant = tenantQueryOf(request)
              if (!tenant.ok) return tenant.response
              const { tenantId } = tenant
              const rows = yield* Effect.promise(() => {
                let select = model.selectFrom("stock_items").selectAll()
                if (tenantId !== null) select = select.where("tenant_id", "=", tenantId)
                return select.orderBy("tenant_id").orderBy("sku").execute()
              })
              return HttpServerResponse.jsonUnsafe({ stockItems: yield* Effect.forEach(rows, stockItemView) })
            }),
          ),
        ),
        HttpRouter.add(
          "GET",
          "/stock-items/:sku",
          guarded((request) =>
            Effect.gen(function* () {
              const sku = (yield* HttpRouter.params).sku ?? ""
              const found = yield* stockItemOf(request, sku)
              if (!found.ok) return found.response
              return HttpServerResponse.jsonUnsafe(yield* stockItemView(found.row))
            }),
          ),
        ),
        HttpRouter.add(
          "GET",
          "/purchase-orders",
          guarded((request) =>
            Effect.gen(function* () {
              const query = new URL(request.url, "http://agent").searchParams
              const status = query.get("status")
              const sku = query.get("sku")
              if (sku !== null && !skuPattern.test(sku)) return skuProblem(sku)
              const tenant = tenantQueryOf(request)
              if (!tenant.ok) return tenant.response
              let { tenantId } = tenant
              if (sku !== null && tenantId === null) {
                // A SKU alone means the one tenant that stocks or orders it; of two, it names neither.
                const tenants = yield* Effect.promise(() =>
                  model
                    .selectFrom("stock_items")
                    .select("tenant_id")
                    .where("sku", "=", sku)
                    .union(model.selectFrom("purchase_orders").select("tenant_id").where("sku", "=", sku))
                    .limit(2)
                    .execute(),
                )
                if (tenants.length > 1) return ambiguousSku(sku)
                tenantId = tenants[0]?.tenant_id ?? null
              }
              const rows = yield* Effect.promise(() => {
                let select = model.selectFrom("purchase_orders").selectAll()
                if (status !== null) select = select.where("status", "=", status)
                if (sku !== null) select = select.where("sku", "=", sku)
                if (tenantId !== null) select = select.where("tenant_id", "=", tenantId)
                return select.orderBy("created_at").limit(500).execute()
              })
              return HttpServerResponse.jsonUnsafe({ purchaseOrders: rows.map(orderView) })
            }),
          ),
        ),
        HttpRouter.add(
          "GET",
          "/purchase-orders/:purchaseOrderId",
          guarded(() =>
            Effect.gen(function* () {
              const id = (yield* HttpRouter.params).purchaseOrderId ?? ""
              const row = yield* Effect.promise(() =>
                model
                  .selectFrom("purchase_orders")
                  .selectAll()
                  .where("purchase_order_id", "=", id)
                  .executeTakeFirst(),
              )
              return row === undefined
                ? problem(404, `no purchase order ${id}`, "purchaseOrderId")
                : HttpServerResponse.jsonUnsafe(orderView(row))
            }),
          ),
        ),
        HttpRouter.add(
          "POST",
          "/purchase-orders",
          guarded((request, person) =>
            Effect.gen(function* () {
              const order = yield* readJson(request, MAX_BODY_BYTES, BuyersOrderBody)
              if (!order.ok) return order.response
              const o = order.value
              // A buyer's reference is the tenant's own: two shops may both send "rush-1".
              const outside = {
                requestId: `buyer-order-${o.tenantId}-${o.reference}`,
                name: "PlacePurchaseOrder",
                origin: "http" as const,
                actor: { kind: "human" as const, id: person },
                body: o,
              }
              // Recorded first: its first record's instant names the order, so a retry names the same
              // one, and the id sorts by time like the agent's own (the resolver undoes the later of two).
              const first = yield* context.receive(outside, [])
              const purchaseOrderId = `po-${deterministicUuid(`buyer-order:${o.tenantId}:${o.reference}`, first.request.receivedAtMillis)}`
              const records = yield* Effect.promise(() => supplierRecords(model, o.tenantId))
              const received = yield* context.receive(outside, [
                {
                  aggregateType: "purchaseOrder",
                  aggregateId: purchaseOrderId,
                  command: {
                    _tag: "DraftPurchaseOrder",
                    tenantId: o.tenantId,
                    sku: o.sku,
                    supplierId: o.supplierId,
                    quantity: o.quantity,
                    unitCost: o.unitCost,
                    total: {
                      amountMinor: o.unitCost.amountMinor * o.quantity,
                      currency: o.unitCost.currency,
                    },
                    leadTimeDays: o.leadTimeDays,
                    decisionId: outside.requestId,
                    reason: `ordered by ${person}`,
                    firstTimeSupplier: (records.get(o.supplierId)?.delivered ?? 0) === 0,
                    orderedBy: person,
                  },
                },
              ])
              const created = received.outcomes[0]?.status === "appended"
              return HttpServerResponse.jsonUnsafe({ purchaseOrderId }, { status: created ? 202 : 200 })
            }),
          ),
        ),
        HttpRouter.add(
          "POST",
          "/purchase-orders/:purchaseOrderId/cancel",
          guarded((request, person) =>
            Effect.gen(function* () {
              const id = (yield* HttpRouter.params).purchaseOrderId ?? ""
              if (!purchaseOrderIdPattern.test(id))
                return problem(400, "not a purchase order id", "purchaseOrderId")
              const cancellation = yield* readJson(request, MAX_BODY_BYTES, CancellationBody)
              if (!cancellation.ok) return cancellation.response
              const order = yield* Effect.promise(() =>
                model
                  .selectFrom("purchase_orders")
                  .select(["status", "action_id"])
                  .where("purchase_order_id", "=", id)
                  .executeTakeFirst(),
              )
              if (order === undefined) return problem(404, `no purchase order ${id}`, "purchaseOrderId")
              const reason = `${person}: ${cancellation.value.reason}`
              const outside = {
                requestId: `cancel-${id}`,
                name: "CancelPurchaseOrder",
                origin: "http" as const,
                actor: { kind: "human" as const, id: person },
                body: { purchaseOrderId: id, ...cancellation.value },
              }
              switch (order.status) {
                // Not yet at the supplier, nor at the gate: cancelled here.
                case "needs-buyer":
                case "drafted": {
                  const received = yield* context.receive(outside, [
                    {
                      aggregateType: "purchaseOrder",
                      aggregateId: id,
                      command: { _tag: "CancelPurchaseOrder", reason },
                    },
                  ])
                  const cancelled = received.outcomes[0]?.status === "appended"
                  return HttpServerResponse.jsonUnsafe(
                    { purchaseOrderId: id, cancelled },
                    { status: cancelled ? 202 : 200 },
                  )
                }
                // At the supplier: undone through the actions layer (the supplier cancels it), and recorded
                // cancelled when the undo succeeded.
                case "placed": {
                  if (order.action_id === null) return problem(409, `purchase order ${id} names no action`)
                  const { request: recorded } = yield* context.receive(outside, [])
                  const now = new Date(
                    yield* Effect.clockWith((clock) => clock.currentTimeMillis),
                  ).toISOString()
                  yield* makeActionCommands({ nats: context.nats, namespace: context.namespace }).send(
                    procurementName,
                    order.action_id,
                    `cancel-${id}`,
                    { _tag: "RequestCompensation", reason, now },
                    {
                      actor: { kind: "human", id: person },
                      correlationId: recorded.metadata.correlationId,
                      causationId: recorded.metadata.causationId,
                    },
                  )
                  return HttpServerResponse.jsonUnsafe(
                    { purchaseOrderId: id, cancelling: true },
                    { status: 202 },
                  )
                }
                case "requested":
                  return problem(
                    409,
                    `purchase order ${id} waits for approval: reject it in the approvals queue instead`,
                    "purchaseOrderId",
                  )
                default:
                  return problem(
                    409,
                    `purchase order ${id} is ${order.status}: nothing to cancel`,
                    "purchaseOrderId",
                  )
              }
            }),
          ),
        ),
        HttpRouter.add(
          "POST",
          "/stock-items/:sku/resume",
          guarded((request, person) =>
            Effect.gen(function* () {
              const sku = (yield* HttpRouter.params).sku ?? ""
              const found = yield* stockItemOf(request, sku)
              if (!found.ok) return found.response
              const current = found.row
              const stockId = stockIdOf(current.tenant_id, sku)
              const received = yield* context.receive(
                {
                  requestId: `resume-${stockId}-${bodyDigest({ after: current.updated_at }).slice(0, 16)}`,
                  name: "ResumeReorders",
                  origin: "http",
                  actor: { kind: "human", id: person },
                  body: { tenantId: current.tenant_id, sku },
                },
                [
                  {
                    aggregateType: "stockItem",
                    aggregateId: stockId,
                    command: { _tag: "ResumeReorders", by: person },
                  },
                ],
              )
              const resumed = received.outcomes[0]?.status === "appended"
              return HttpServerResponse.jsonUnsafe(
                { tenantId: current.tenant_id, sku, resumed },
                { status: resumed ? 202 : 200 },
              )
            }),
          ),
        ),
        HttpRouter.add(
          "POST",
          "/purchase-orders/:purchaseOrderId/receipts",
          guarded((request, person) =>
            Effect.gen(function* () {
              const id = (yield* HttpRouter.params).purchaseOrderId ?? ""
              if (!purchaseOrderIdPattern.test(id))
                return problem(400, "not a purchase order id", "purchaseOrderId")
              const receipt = yield* readJson(request, MAX_BODY_BYTES, ReceiptBody)
              if (!receipt.ok) return receipt.response
              const receivedAt = new Date(
                yield* Effect.clockWith((clock) => clock.currentTimeMillis),
              ).toISOString()
              const received = yield* context
                .receive(
                  {
                    requestId: `receipt-${id}-${receipt.value.deliveryId}`,
                    name: "ReceiveGoods",
                    origin: "http",
                    actor: { kind: "human", id: person },
                    body: { purchaseOrderId: id, ...receipt.value },
                  },
                  [
                    {
                      aggregateType: "purchaseOrder",
                      aggregateId: id,
                      command: { _tag: "ReceiveGoods", quantity: receipt.value.quantity, receivedAt },
                    },
                  ],
                )
                .pipe(
                  Effect.map((r) => ({ ok: true as const, r })),
                  Effect.catchTag("CommandError", (e) =>
                    Effect.succeed({ ok: false as const, message: e.message }),
                  ),
                )
              if (!received.ok) return problem(409, received.message, "purchaseOrderId")
              return HttpServerResponse.jsonUnsafe(
                { purchaseOrderId: id, received: receipt.value.quantity },
                { status: 202 },
              )
            }),
          ),
        ),
      )
    }),
  )
