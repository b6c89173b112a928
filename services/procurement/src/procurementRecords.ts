import { parseTenantScopedId } from "@mesh/contracts"
import { MeshNamespace } from "@mesh/eventlog"
import { awaitReadModelAt, type CausePosition, type ReadModelBehind, readModelSchemaOf } from "@mesh/kernel"
import { ReadModelDb } from "@mesh/sql"
import { Context, Effect, Layer, Schema } from "effect"
import {
  backorderedLines,
  procurementProjection,
  procurementReadModel,
  type SupplierRecord,
  supplierRecords,
  unitsOnOrder,
} from "./projections/procurementReadModel.ts"

// A stock id (`stockIdOf`) as the read model keys it: tenant, then SKU.
const stockKeyOf = (stockId: string): [tenantId: string, sku: string] => {
  const parsed = parseTenantScopedId(stockId)
  if (parsed === undefined) throw new Error(`stock ${JSON.stringify(stockId)} names no tenant and SKU`)
  return [parsed.tenantId, parsed.ownId]
}

/** The procurement read model could not answer; the cause is kept. */
export class ProcurementRecordsError extends Schema.TaggedError<ProcurementRecordsError>()(
  "ProcurementRecordsError",
  { query: Schema.String, cause: Schema.Defect() },
) {}

/** What ProcurementRecords offers. */
export interface ProcurementRecordsShape {
  /**
   * Each supplier's delivery record for a tenant: purchase orders delivered and how many on time,
   * as they stood when `cause` was written (the read model waited for until it holds the cause),
   * so that a reaction decides the same on a redelivery, a replay or a fork as it did live.
   */
  readonly suppliers: (
    tenantId: string,
    cause: CausePosition,
  ) => Effect.Effect<ReadonlyMap<string, SupplierRecord>, ProcurementRecordsError | ReadModelBehind>
  /**
   * Units still to come on the open purchase orders of a stock (a tenant's SKU, `stockIdOf`), as
   * they stood once `cause` was written (the read model waited for until it holds the cause), so
   * that a reorder is decided on what was on order then: live, however far the read model lagged;
   * on a redelivery, a replay or a fork, whatever came after.
   */
  readonly onOrder: (
    stockId: string,
    cause: CausePosition,
  ) => Effect.Effect<number, ProcurementRecordsError | ReadModelBehind>
  /**
   * A stock's back-ordered order lines, oldest first, once the read model holds `cause` (the
   * read model waited for), so that every back-order recorded before the cause is among them.
   */
  readonly backorders: (
    stockId: string,
    cause: CausePosition,
  ) => Effect.Effect<
    ReadonlyArray<{ readonly orderId: string; readonly quantity: number }>,
    ProcurementRecordsError | ReadModelBehind
  >
}

/** The procurement read model as the agent's reactions read it: the suppliers' delivery history. */
export class ProcurementRecords extends Context.Service<ProcurementRecords, ProcurementRecordsShape>()(
  "procurement/ProcurementRecords",
) {
  /** The read model of `agent` in the process's namespace. */
  static readonly layer = (agent: string) =>
    Layer.effect(
      ProcurementRecords,
      Effect.gen(function* () {
        const { db } = yield* ReadModelDb
        const namespace = (yield* MeshNamespace).name
        const model = procurementReadModel(db, namespace, agent)
        // Its streams too: a reader whose cause it does not read dies at once rather than wait.
        const projection = {
          name: procurementProjection.name,
          version: procurementProjection.version,
          streams: procurementProjection.streams,
        }
        const schema = readModelSchemaOf(namespace, agent)
        // One query of the read model, named for its errors.
        const query = <A>(name: string, run: () => Promise<A>) =>
          Effect.tryPromise({
            try: run,
            catch: (cause) => new ProcurementRecordsError({ query: name, cause }),
          })
        // The same, once the read model holds `cause`.
        const queryAt = <A>(cause: CausePosition, name: string, run: () => Promise<A>) =>
          awaitReadModelAt({ db, schema, projection, cause }).pipe(Effect.andThen(query(name, run)))
        return {
          suppliers: (tenantId: string, cause: CausePosition) =>
            queryAt(cause, "supplier records", () => supplierRecords(model, tenantId, cause.sequence)),
          onOrder: (stockId: string, cause: CausePosition) =>
            queryAt(cause, "units on order", () =>
              unitsOnOrder(model, ...stockKeyOf(stockId), cause.sequence),
            ),
          backorders: (stockId: string, cause: CausePosition) =>
            queryAt(cause, "back-ordered lines", () => backorderedLines(model, ...stockKeyOf(stockId))),
        }
      }),
    )
}
