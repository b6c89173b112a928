import { parseTenantScopedId } from "@mesh/contracts"
import { MeshNamespace } from "@mesh/eventlog"
import { ReadModelDb } from "@mesh/sql"
import { Context, Effect, Layer, Schema } from "effect"
import {
  backorderedLines,
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
  /** Each supplier's delivery record for a tenant: purchase orders delivered and how many on time. */
  readonly suppliers: (
    tenantId: string,
  ) => Effect.Effect<ReadonlyMap<string, SupplierRecord>, ProcurementRecordsError>
  /** Units still to come on the open purchase orders of a stock (a tenant's SKU, `stockIdOf`). */
  readonly onOrder: (stockId: string) => Effect.Effect<number, ProcurementRecordsError>
  /** A stock's back-ordered order lines, oldest first. */
  readonly backorders: (
    stockId: string,
  ) => Effect.Effect<
    ReadonlyArray<{ readonly orderId: string; readonly quantity: number }>,
    ProcurementRecordsError
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
        const model = procurementReadModel(db, (yield* MeshNamespace).name, agent)
        return {
          suppliers: (tenantId: string) =>
            Effect.tryPromise({
              try: () => supplierRecords(model, tenantId),
              catch: (cause) => new ProcurementRecordsError({ query: "supplier records", cause }),
            }),
          onOrder: (stockId: string) =>
            Effect.tryPromise({
              try: () => unitsOnOrder(model, ...stockKeyOf(stockId)),
              catch: (cause) => new ProcurementRecordsError({ query: "units on order", cause }),
            }),
          backorders: (stockId: string) =>
            Effect.tryPromise({
              try: () => backorderedLines(model, ...stockKeyOf(stockId)),
              catch: (cause) => new ProcurementRecordsError({ query: "back-ordered lines", cause }),
            }),
        }
      }),
    )
}
