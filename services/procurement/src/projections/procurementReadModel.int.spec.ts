import { makeCatalog, procurementEvents } from "@mesh/contracts"
import { applyTopology, declareTopology, type EventLog, makeEventLog, openNats } from "@mesh/eventlog"
import { openTestPostgres, projectedOnce, type TestDatabase } from "@mesh/kernel/projections/testing"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import type { Kysely } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type ProcurementReadModel,
  procurementProjection,
  supplierRecords,
  unitsOnOrder,
} from "./procurementReadModel.ts"

// A supplier's delivery record as the purchasing reaction reads it: as it stood when the reorder it
// answers was written, whatever the read model has applied since (a delivery a moment later, or
// the rest of the day when the day is replayed).

const nats = useNatsServer()
let database: TestDatabase

beforeAll(async () => {
  database = await openTestPostgres()
})
afterAll(async () => {
  await database?.close()
})

/**
 * Runs `body` on a namespace of its own: its procurement log, and `write`, which appends one event
 * to a purchase order and answers its commit's stream sequence.
 */
const withPurchaseOrders = async (
  prefix: string,
  body: (history: {
    readonly log: EventLog<(typeof procurementEvents)[number]>
    readonly write: (
      purchaseOrderId: string,
      type: string,
      payload: Record<string, unknown>,
    ) => Promise<number>
  }) => Promise<void>,
) => {
  const handles = await openNats(nats.url)
  try {
    const namespace = uniqueNamespace(prefix)
    await Effect.runPromise(applyTopology(handles.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats: handles, catalog: makeCatalog(procurementEvents), namespace })
    const write = async (purchaseOrderId: string, type: string, payload: Record<string, unknown>) =>
      (
        await Effect.runPromise(
          log.append({
            aggregate: { domain: "procurement", type: "purchaseOrder", id: purchaseOrderId },
            expected: "any",
            events: [{ type, payload } as never],
            metadata: {
              correlationId: purchaseOrderId,
              causationId: null,
              actor: { kind: "agent", id: "procurement" },
            },
          }),
        )
      ).position.sequence
    await body({ log, write })
  } finally {
    await handles.connection.drain()
  }
}

describe("a supplier's delivery record", () => {
  it("is read as of a position in the log: the orders delivered before it, late if found late before it", async () => {
    await withPurchaseOrders("pr", async ({ log, write }) => {
      const drafted = (supplierId: string) => ({
        tenantId: "shop",
        sku: "LAMP-1",
        supplierId,
        quantity: 10,
        unitCost: { amountMinor: 800, currency: "EUR" },
        total: { amountMinor: 8000, currency: "EUR" },
        leadTimeDays: 3,
        decisionId: `d-${supplierId}`,
        reason: "cheapest",
        firstTimeSupplier: true,
      })
      const received = (quantity: number, onTime: boolean, outstanding: number) => ({
        sku: "LAMP-1",
        quantity,
        onTime,
        outstanding,
      })

      await write("po-1", "PurchaseOrderDrafted", drafted("acme"))
      const acmeFirstGoods = await write("po-1", "PurchaseOrderReceived", received(5, true, 5))
      const globexDrafted = await write("po-2", "PurchaseOrderDrafted", drafted("globex"))
      const globexLate = await write("po-2", "PurchaseOrderLate", {
        tenantId: "shop",
        sku: "LAMP-1",
        supplierId: "globex",
        expectedBy: "2026-12-01T00:00:00.000Z",
        outstanding: 10,
      })
      const globexGoods = await write("po-2", "PurchaseOrderReceived", received(10, false, 0))
      // acme's rest comes late: the order it delivered on time counts as late from here on.
      const acmeRest = await write("po-1", "PurchaseOrderReceived", received(5, false, 0))

      const schema = await projectedOnce({ projection: procurementProjection, database, eventLog: log })
      const model = (database.db as Kysely<ProcurementReadModel>).withSchema(schema)
      const asOf = async (before?: number) => Object.fromEntries(await supplierRecords(model, "shop", before))

      expect(await asOf(acmeFirstGoods)).toEqual({})
      expect(await asOf(globexDrafted)).toEqual({ acme: { delivered: 1, onTime: 1 } })
      // Found late, globex has still delivered nothing.
      expect(await asOf(globexGoods)).toEqual({ acme: { delivered: 1, onTime: 1 } })
      expect(globexLate).toBeLessThan(globexGoods)
      expect(await asOf(acmeRest)).toEqual({
        acme: { delivered: 1, onTime: 1 },
        globex: { delivered: 1, onTime: 0 },
      })
      // After everything, and read without a position (a buyer's order, now): as it stands.
      const now = { acme: { delivered: 1, onTime: 0 }, globex: { delivered: 1, onTime: 0 } }
      expect(await asOf(acmeRest + 1)).toEqual(now)
      expect(await asOf()).toEqual(now)
      expect(await asOf(Number.MAX_SAFE_INTEGER)).toEqual(now)
    })
  })
})

describe("a SKU's units on order", () => {
  it("are read as of a position in the log: what the open purchase orders had still to bring once its commit was applied", async () => {
    await withPurchaseOrders("units", async ({ log, write }) => {
      const drafted = (sku: string, quantity: number, supplierId: string | null = "acme") => ({
        tenantId: "shop",
        sku,
        supplierId,
        quantity,
        unitCost: supplierId === null ? null : { amountMinor: 800, currency: "EUR" },
        total: supplierId === null ? null : { amountMinor: 800 * quantity, currency: "EUR" },
        leadTimeDays: 3,
        decisionId: `d-${sku}-${quantity}`,
        reason: "cheapest",
        firstTimeSupplier: false,
      })
      const received = (sku: string, quantity: number, outstanding: number) => ({
        sku,
        quantity,
        onTime: true,
        outstanding,
      })

      const first = await write("po-1", "PurchaseOrderDrafted", drafted("LAMP-1", 10))
      // Another SKU's order, and one waiting for a buyer to choose its supplier: neither counts.
      await write("po-2", "PurchaseOrderDrafted", drafted("VASE-1", 7))
      const waiting = await write("po-3", "PurchaseOrderDrafted", drafted("LAMP-1", 4, null))
      const partly = await write("po-1", "PurchaseOrderReceived", received("LAMP-1", 6, 4))
      const second = await write("po-4", "PurchaseOrderDrafted", drafted("LAMP-1", 5))
      const cancelled = await write("po-4", "PurchaseOrderCancelled", { reason: "supplier out of stock" })
      // More than ordered comes: nothing below zero.
      const rest = await write("po-1", "PurchaseOrderReceived", received("LAMP-1", 6, 0))

      const schema = await projectedOnce({ projection: procurementProjection, database, eventLog: log })
      const model = (database.db as Kysely<ProcurementReadModel>).withSchema(schema)
      const lamps = (asOf?: number) => unitsOnOrder(model, "shop", "LAMP-1", asOf)

      expect(await lamps(first - 1)).toBe(0)
      expect(await lamps(first)).toBe(10)
      expect(await lamps(waiting)).toBe(10)
      expect(await lamps(partly)).toBe(4)
      expect(await lamps(second)).toBe(9)
      expect(await lamps(cancelled)).toBe(4)
      expect(await lamps(rest)).toBe(0)
      expect(await unitsOnOrder(model, "shop", "VASE-1", rest)).toBe(7)
      // Read without a position, as it stands: the same as after the last commit.
      expect(await lamps()).toBe(0)
      expect(await unitsOnOrder(model, "shop", "VASE-1")).toBe(7)
    })
  })
})
