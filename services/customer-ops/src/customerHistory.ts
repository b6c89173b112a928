import { MeshNamespace, messageOf } from "@mesh/eventlog"
import {
  awaitReadModelAt,
  type CausePosition,
  isTransientError,
  type ReadModelBehind,
  readModelSchemaOf,
} from "@mesh/kernel"
import { ReadModelDb } from "@mesh/sql"
import { Context, Effect, Layer, Schema } from "effect"
import type { CatalogueProduct } from "./memory/products.ts"
import {
  type CustomerOrder,
  customerCareProjection,
  customerCareReadModel,
  earlierTicketsOf,
  listTickets,
  type OpenRefund,
  openRefundOfOrder,
  ordersOfCustomer,
  type TicketFilter,
  ticketById,
} from "./projections/customerCare.ts"
import { productCatalogueReadModel, productsOfTenant } from "./projections/productCatalogue.ts"

/**
 * The customer-care read model could not answer: `Unavailable` while the database is away (a
 * reaction waits and tries again), `QueryFailed` otherwise; the cause is kept.
 */
export class CustomerHistoryError extends Schema.TaggedError<CustomerHistoryError>()("CustomerHistoryError", {
  what: Schema.String,
  reason: Schema.Union([
    Schema.TaggedStruct("Unavailable", { cause: Schema.Defect() }),
    Schema.TaggedStruct("QueryFailed", { cause: Schema.Defect() }),
  ]),
}) {
  override get message(): string {
    return `customer history: ${this.what}: ${this.reason._tag}: ${messageOf(this.reason.cause)}`
  }
}

/** Postgres's (and PGlite's) "relation does not exist". */
const isUndefinedTable = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && (cause as { code?: unknown }).code === "42P01"

const query = <A>(what: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (cause) =>
      new CustomerHistoryError({
        what,
        reason: isTransientError(cause) ? { _tag: "Unavailable", cause } : { _tag: "QueryFailed", cause },
      }),
  })

/**
 * The long-term memory of customers that lives in the read model: their orders and earlier tickets,
 * always within their tenant; and the ticket views operators query.
 */
export class CustomerHistory extends Context.Service<
  CustomerHistory,
  {
    /** A customer's latest orders, as they stand now. */
    readonly orders: (
      tenantId: string,
      customerId: string,
    ) => Effect.Effect<ReadonlyArray<CustomerOrder>, CustomerHistoryError>
    /**
     * A customer's orders and how many of their tickets besides `ticketId` were opened, as they
     * stood when `at` (a reaction's cause in the customer stream) was written: the read model is
     * waited for once until it holds the cause, so a reaction answers the same however late it
     * runs (a redelivery, a replay, a busy hour).
     */
    readonly customerAt: (
      tenantId: string,
      customerId: string,
      ticketId: string,
      at: CausePosition,
    ) => Effect.Effect<
      { readonly orders: ReadonlyArray<CustomerOrder>; readonly earlierTickets: number },
      CustomerHistoryError | ReadModelBehind
    >
    /** The refund of an order that waits for its decision or was paid, on another ticket of the tenant. */
    readonly openRefund: (
      tenantId: string,
      orderId: string,
      exceptTicketId: string,
    ) => Effect.Effect<OpenRefund | undefined, CustomerHistoryError>
    /** The tenant's products on sale, as customers name them (content ops' catalogue). */
    readonly products: (
      tenantId: string,
    ) => Effect.Effect<ReadonlyArray<CatalogueProduct>, CustomerHistoryError>
    readonly list: (
      filter: TicketFilter,
    ) => Effect.Effect<Awaited<ReturnType<typeof listTickets>>, CustomerHistoryError>
    readonly ticket: (
      ticketId: string,
    ) => Effect.Effect<Awaited<ReturnType<typeof ticketById>>, CustomerHistoryError>
  }
>()("customer-ops/CustomerHistory") {
  /** The read model of `agent` in the process's database and namespace. */
  static readonly layer = (agent: string) =>
    Layer.effect(
      CustomerHistory,
      Effect.gen(function* () {
        const { db } = yield* ReadModelDb
        const namespace = yield* MeshNamespace
        const model = customerCareReadModel(db, namespace.name, agent)
        const catalogue = productCatalogueReadModel(db, namespace.name, agent)
        const schema = readModelSchemaOf(namespace.name, agent)
        // Its streams too: a reader whose cause it does not read dies at once rather than wait.
        const projection = {
          name: customerCareProjection.name,
          version: customerCareProjection.version,
          streams: customerCareProjection.streams,
        }
        const holding = (cause: CausePosition) => awaitReadModelAt({ db, schema, projection, cause })
        return {
          orders: (tenantId, customerId) =>
            query("orders", () => ordersOfCustomer(model, tenantId, customerId)),
          customerAt: (tenantId, customerId, ticketId, at) =>
            Effect.andThen(
              holding(at),
              query("orders and earlier tickets", async () => ({
                orders: await ordersOfCustomer(model, tenantId, customerId, { before: at.sequence }),
                earlierTickets: (await earlierTicketsOf(model, tenantId, customerId, ticketId, at.sequence))
                  .length,
              })),
            ),
          openRefund: (tenantId, orderId, exceptTicketId) =>
            query("open refund", async () => {
              try {
                return await openRefundOfOrder(model, tenantId, orderId, exceptTicketId)
              } catch (cause) {
                // The read model of the build before this one has no refunds table until its rebuild is
                // swapped in: no refund of another ticket is known yet, and the ticket's own log and the
                // person approving remain the guards.
                if (isUndefinedTable(cause)) return undefined
                throw cause
              }
            }),
          products: (tenantId) =>
            query("products", async () => {
              try {
                return await productsOfTenant(catalogue, tenantId)
              } catch (cause) {
                // Until the catalogue's first build is swapped in, no product is known by name.
                if (isUndefinedTable(cause)) return []
                throw cause
              }
            }),
          list: (filter) => query("ticket list", () => listTickets(model, filter)),
          ticket: (ticketId) => query("ticket", () => ticketById(model, ticketId)),
        }
      }),
    )
}
