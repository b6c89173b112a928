import { parseTenantScopedId, type procurementEvents } from "@mesh/contracts"
import { defineProjection, type ProjectionEvent, readModelSchemaOf } from "@mesh/kernel/projections"
import { type Kysely, type QueryCreator, sql, type Transaction } from "kysely"

type ProcurementEventDefs = (typeof procurementEvents)[number]

/** A SKU's stock settings and its open reorder. */
export interface StockItemsTable {
  sku: string
  tenant_id: string
  name: string
  reorder_point: number
  reorder_quantity: number
  needed_within_days: number
  /** The suppliers' terms (JSON array). */
  suppliers: string
  open_purchase_order: string | null
  /** The cancelled reorder that holds automatic reorders until a buyer resumes them. */
  reorders_held_after: string | null
  below_reorder_point_at: string | null
  updated_at: string
}

/** A purchase order as buyers see it. */
export interface PurchaseOrdersTable {
  purchase_order_id: string
  tenant_id: string
  sku: string
  supplier_id: string | null
  quantity: number
  unit_cost_minor: number | null
  total_minor: number | null
  currency: string | null
  /** needs-buyer, drafted, requested, placed, received or cancelled. */
  status: string
  decision_id: string
  reason: string
  first_time_supplier: boolean
  action_id: string | null
  external_ref: string | null
  expected_by: string | null
  received: number
  late: boolean
  /**
   * The stream sequence of the commit that first brought goods (null before any): a supplier's
   * record as of a reaction's cause counts the orders delivered before it (`supplierRecords`).
   */
  received_at_sequence: number | null
  /** The stream sequence of the commit that found it late (null while it is not). */
  late_at_sequence: number | null
  cancel_reason: string | null
  created_at: string
  updated_at: string
}

/**
 * A change in the units a purchase order has still to bring while it is open (drafted, requested
 * or placed), at the commit that made it: drafted or requested adds its units, each delivery takes
 * its own away, receiving the rest or a cancellation takes what is left. Summed up to a position,
 * the units on order as they stood there (`unitsOnOrder`).
 */
export interface PurchaseOrderUnitsTable {
  purchase_order_id: string
  tenant_id: string
  sku: string
  /** The stream sequence of the commit. */
  sequence: number
  /** Units still to come added, or (negative) taken away. */
  units: number
}

/** A line of a customer order and its stock. */
export interface OrderAllocationsTable {
  order_id: string
  line: number
  tenant_id: string
  sku: string
  quantity: number
  /** waiting, reserved, backordered, shipped, released or returned. */
  status: string
  updated_at: string
}

/** The procurement read model's tables. */
export interface ProcurementReadModel {
  stock_items: StockItemsTable
  purchase_orders: PurchaseOrdersTable
  purchase_order_units: PurchaseOrderUnitsTable
  order_allocations: OrderAllocationsTable
}

type Trx = Transaction<ProcurementReadModel>

const setLineStatus = async (
  trx: Trx,
  orderId: string,
  sku: string,
  from: ReadonlyArray<string>,
  status: string,
  at: string,
) => {
  // The first line of the SKU in one of the `from` states moves, as the allocation decider moves it.
  const line = await trx
    .selectFrom("order_allocations")
    .select("line")
    .where("order_id", "=", orderId)
    .where("sku", "=", sku)
    .where("status", "in", [...from])
    .orderBy("line")
    .limit(1)
    .executeTakeFirst()
  if (line === undefined) return
  await trx
    .updateTable("order_allocations")
    .set({ status, updated_at: at })
    .where("order_id", "=", orderId)
    .where("line", "=", line.line)
    .execute()
}

const patchOrder = (trx: Trx, id: string, at: string, patch: Partial<PurchaseOrdersTable>) =>
  trx
    .updateTable("purchase_orders")
    .set({ ...patch, updated_at: at })
    .where("purchase_order_id", "=", id)
    .execute()

/** A stock item's id (`stockIdOf`) split into the row's key: its tenant and SKU. */
const stockKeyOf = (stockId: string): { readonly tenantId: string; readonly sku: string } => {
  const parsed = parseTenantScopedId(stockId)
  if (parsed === undefined) throw new Error(`stock item ${JSON.stringify(stockId)} names no tenant and SKU`)
  return { tenantId: parsed.tenantId, sku: parsed.ownId }
}

const stockItem = (trx: Trx, stockId: string) => {
  const key = stockKeyOf(stockId)
  return trx.updateTable("stock_items").where("tenant_id", "=", key.tenantId).where("sku", "=", key.sku)
}

/** The statuses of a purchase order whose units are still to come. */
const onOrderStatuses: ReadonlySet<string> = new Set(["drafted", "requested", "placed"])

const unitsToCome = async (trx: Trx, id: string) => {
  const row = await trx
    .selectFrom("purchase_orders")
    .select(["tenant_id", "sku", "status", "quantity", "received"])
    .where("purchase_order_id", "=", id)
    .executeTakeFirst()
  return {
    row,
    units:
      row !== undefined && onOrderStatuses.has(row.status) ? Math.max(0, row.quantity - row.received) : 0,
  }
}

/** Runs a purchase order's change, and keeps what it changed in the units still to come, at `sequence`. */
const changingUnitsOnOrder = async (trx: Trx, id: string, sequence: number, change: () => Promise<void>) => {
  const before = await unitsToCome(trx, id)
  await change()
  const after = await unitsToCome(trx, id)
  const row = after.row ?? before.row
  if (row === undefined || after.units === before.units) return
  await trx
    .insertInto("purchase_order_units")
    .values({
      purchase_order_id: id,
      tenant_id: row.tenant_id,
      sku: row.sku,
      sequence,
      units: after.units - before.units,
    })
    // Two changes of one commit (its events share the sequence) add up.
    .onConflict((oc) =>
      oc
        .columns(["purchase_order_id", "sequence"])
        .doUpdateSet((eb) => ({ units: eb("purchase_order_units.units", "+", eb.ref("excluded.units")) })),
    )
    .execute()
}

const applyOne = async (trx: Trx, projected: ProjectionEvent<ProcurementEventDefs>): Promise<void> => {
  const { event, sequence } = projected
  switch (event.type) {
    case "PurchaseOrderDrafted":
    case "PurchaseOrderRequested":
    case "PurchaseOrderPlaced":
    case "PurchaseOrderReceived":
    case "PurchaseOrderCancelled":
      return changingUnitsOnOrder(trx, event.aggregateId, sequence, () => applyChange(trx, projected))
    default:
      return applyChange(trx, projected)
  }
}

const applyChange = async (
  trx: Trx,
  { event, sequence }: ProjectionEvent<ProcurementEventDefs>,
): Promise<void> => {
  const id = event.aggregateId
  const at = event.occurredAt
  switch (event.type) {
    case "StockItemConfigured": {
      const p = event.payload
      const row = {
        tenant_id: p.tenantId,
        name: p.name,
        reorder_point: p.reorderPoint,
        reorder_quantity: p.reorderQuantity,
        needed_within_days: p.neededWithinDays,
        suppliers: JSON.stringify(p.suppliers),
        updated_at: at,
      }
      await trx
        .insertInto("stock_items")
        .values({
          sku: p.sku,
          ...row,
          open_purchase_order: null,
          reorders_held_after: null,
          below_reorder_point_at: null,
        })
        .onConflict((oc) => oc.columns(["tenant_id", "sku"]).doUpdateSet(row))
        .execute()
      return
    }
    case "StockBelowReorderPoint":
      await stockItem(trx, id).set({ below_reorder_point_at: at, updated_at: at }).execute()
      return
    case "ReorderOpened":
      await stockItem(trx, id)
        .set({ open_purchase_order: event.payload.purchaseOrderId, updated_at: at })
        .execute()
      return
    case "ReorderClosed":
      await stockItem(trx, id)
        .set({
          open_purchase_order: null,
          reorders_held_after: event.payload.outcome === "cancelled" ? event.payload.purchaseOrderId : null,
          updated_at: at,
        })
        .where("open_purchase_order", "=", event.payload.purchaseOrderId)
        .execute()
      return
    case "ReordersResumed":
      await stockItem(trx, id).set({ reorders_held_after: null, updated_at: at }).execute()
      return
    case "StockRestocked":
      return
    case "OrderAllocationOpened":
      for (const [line, l] of event.payload.lines.entries()) {
        await trx
          .insertInto("order_allocations")
          .values({
            order_id: id,
            line,
            tenant_id: event.payload.tenantId,
            sku: l.sku,
            quantity: l.quantity,
            status: "waiting",
            updated_at: at,
          })
          .onConflict((oc) => oc.columns(["order_id", "line"]).doNothing())
          .execute()
      }
      return
    case "OrderStockReserved":
      return setLineStatus(trx, id, event.payload.sku, ["waiting", "backordered"], "reserved", at)
    case "OrderStockBackordered":
      return setLineStatus(trx, id, event.payload.sku, ["waiting"], "backordered", at)
    case "OrderStockShipped":
      return setLineStatus(trx, id, event.payload.sku, ["reserved"], "shipped", at)
    case "OrderStockReleased":
      return setLineStatus(trx, id, event.payload.sku, ["waiting", "reserved", "backordered"], "released", at)
    case "OrderStockReturned":
      return setLineStatus(trx, id, event.payload.sku, ["shipped"], "returned", at)
    case "PurchaseOrderDrafted": {
      const p = event.payload
      await trx
        .insertInto("purchase_orders")
        .values({
          purchase_order_id: id,
          tenant_id: p.tenantId,
          sku: p.sku,
          supplier_id: p.supplierId,
          quantity: p.quantity,
          unit_cost_minor: p.unitCost?.amountMinor ?? null,
          total_minor: p.total?.amountMinor ?? null,
          currency: p.total?.currency ?? null,
          status: p.supplierId === null ? "needs-buyer" : "drafted",
          decision_id: p.decisionId,
          reason: p.reason,
          first_time_supplier: p.firstTimeSupplier,
          action_id: null,
          external_ref: null,
          expected_by: null,
          received: 0,
          late: false,
          received_at_sequence: null,
          late_at_sequence: null,
          cancel_reason: null,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.column("purchase_order_id").doNothing())
        .execute()
      return
    }
    case "PurchaseOrderRequested":
      await patchOrder(trx, id, at, { status: "requested", action_id: event.payload.actionId })
      return
    case "PurchaseOrderPlaced":
      await patchOrder(trx, id, at, {
        status: "placed",
        external_ref: event.payload.externalRef,
        expected_by: event.payload.expectedBy ?? null,
      })
      return
    case "PurchaseOrderReceived": {
      const row = await trx
        .selectFrom("purchase_orders")
        .select(["received", "late"])
        .where("purchase_order_id", "=", id)
        .executeTakeFirst()
      if (row === undefined) return
      const late = row.late || event.payload.onTime === false
      await patchOrder(trx, id, at, {
        received: row.received + event.payload.quantity,
        late,
        ...(row.received === 0 && event.payload.quantity > 0 ? { received_at_sequence: sequence } : {}),
        ...(late && !row.late ? { late_at_sequence: sequence } : {}),
        ...(event.payload.outstanding === 0 ? { status: "received" } : {}),
      })
      return
    }
    case "PurchaseOrderCancelled":
      await patchOrder(trx, id, at, { status: "cancelled", cancel_reason: event.payload.reason })
      return
    case "PurchaseOrderLate":
      // Found late once: the first finding's sequence stays.
      await trx
        .updateTable("purchase_orders")
        .set({
          late: true,
          late_at_sequence: sql<number>`coalesce(late_at_sequence, ${sequence})`,
          updated_at: at,
        })
        .where("purchase_order_id", "=", id)
        .execute()
      return
    case "StockLevelRecorded":
      return
  }
}

/**
 * The procurement read model: stock items with their settings and open reorder, purchase orders
 * with their supplier, decision, approval and deliveries, and each customer order's stock by line.
 * Units on hand and reserved are not here: they are the inventory registers, read live.
 */
export const procurementProjection = defineProjection<ProcurementEventDefs, ProcurementReadModel>({
  name: "procurement",
  // 2: a SKU's reorders held after a cancelled one. 3: stock items keyed by tenant and SKU.
  // 4: the sequences a purchase order's first goods and its lateness arrived at. 5: the units on
  // order by the commit that changed them.
  version: 5,
  streams: [{ domain: "procurement" }],
  tables: ["stock_items", "purchase_orders", "purchase_order_units", "order_allocations"],
  onFailure: "stop",
  lingerMs: 50,
  createTables: async (trx) => {
    await trx.schema
      .createTable("stock_items")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("sku", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("reorder_point", "integer", (c) => c.notNull())
      .addColumn("reorder_quantity", "integer", (c) => c.notNull())
      .addColumn("needed_within_days", "integer", (c) => c.notNull())
      .addColumn("suppliers", "text", (c) => c.notNull())
      .addColumn("open_purchase_order", "text")
      .addColumn("reorders_held_after", "text")
      .addColumn("below_reorder_point_at", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("stock_items_pk", ["tenant_id", "sku"])
      .execute()
    await trx.schema
      .createTable("purchase_orders")
      .addColumn("purchase_order_id", "text", (c) => c.primaryKey())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("sku", "text", (c) => c.notNull())
      .addColumn("supplier_id", "text")
      .addColumn("quantity", "integer", (c) => c.notNull())
      .addColumn("unit_cost_minor", "bigint")
      .addColumn("total_minor", "bigint")
      .addColumn("currency", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("decision_id", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("first_time_supplier", "boolean", (c) => c.notNull())
      .addColumn("action_id", "text")
      .addColumn("external_ref", "text")
      .addColumn("expected_by", "text")
      .addColumn("received", "integer", (c) => c.notNull())
      .addColumn("late", "boolean", (c) => c.notNull())
      .addColumn("received_at_sequence", "bigint")
      .addColumn("late_at_sequence", "bigint")
      .addColumn("cancel_reason", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute()
    await trx.schema
      .createIndex("purchase_orders_by_status")
      .on("purchase_orders")
      .columns(["status", "expected_by"])
      .execute()
    await trx.schema
      .createIndex("purchase_orders_by_supplier")
      .on("purchase_orders")
      .columns(["supplier_id", "status"])
      .execute()
    await trx.schema
      .createTable("purchase_order_units")
      .addColumn("purchase_order_id", "text", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("sku", "text", (c) => c.notNull())
      .addColumn("sequence", "bigint", (c) => c.notNull())
      .addColumn("units", "integer", (c) => c.notNull())
      .addPrimaryKeyConstraint("purchase_order_units_pk", ["purchase_order_id", "sequence"])
      .execute()
    await trx.schema
      .createIndex("purchase_order_units_by_sku")
      .on("purchase_order_units")
      .columns(["tenant_id", "sku", "sequence"])
      .execute()
    await trx.schema
      .createTable("order_allocations")
      .addColumn("order_id", "text", (c) => c.notNull())
      .addColumn("line", "integer", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("sku", "text", (c) => c.notNull())
      .addColumn("quantity", "integer", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("order_allocations_pk", ["order_id", "line"])
      .execute()
    await trx.schema
      .createIndex("order_allocations_by_sku")
      .on("order_allocations")
      .columns(["tenant_id", "sku", "status", "updated_at"])
      .execute()
  },
  apply: async (trx, events) => {
    for (const event of events) await applyOne(trx, event)
  },
})

/** The procurement read model of `agent` in its namespace's schema. */
export const procurementReadModel = (
  db: Kysely<unknown>,
  namespace: string,
  agent: string,
): QueryCreator<ProcurementReadModel> =>
  (db as Kysely<ProcurementReadModel>).withSchema(readModelSchemaOf(namespace, agent))

/** A supplier's delivery record: purchase orders delivered, and how many of them on time. */
export interface SupplierRecord {
  readonly delivered: number
  readonly onTime: number
}

/**
 * Every supplier's delivery record, from the purchase orders that received goods: all of them, or
 * with `before` a stream sequence, as it stood before that commit (the orders whose first goods
 * came before it, late if found late before it), whatever the read model has applied since.
 */
export const supplierRecords = async (
  db: QueryCreator<ProcurementReadModel>,
  tenantId: string,
  before?: number,
): Promise<ReadonlyMap<string, SupplierRecord>> => {
  let query = db
    .selectFrom("purchase_orders")
    .select(["supplier_id", "late", "late_at_sequence"])
    .where("tenant_id", "=", tenantId)
    .where("received", ">", 0)
  if (before !== undefined) query = query.where("received_at_sequence", "<", before)
  const rows = await query.execute()
  const records = new Map<string, { delivered: number; onTime: number }>()
  for (const row of rows) {
    if (row.supplier_id === null) continue
    const record = records.get(row.supplier_id) ?? { delivered: 0, onTime: 0 }
    record.delivered += 1
    const late =
      before === undefined ? row.late : row.late_at_sequence !== null && Number(row.late_at_sequence) < before
    if (!late) record.onTime += 1
    records.set(row.supplier_id, record)
  }
  return records
}

/**
 * Units still to come on a tenant's SKU's open purchase orders (drafted, requested or placed): as
 * they stand, or with `asOf` a stream sequence, as they stood once the commit there was applied,
 * whatever the read model has applied since.
 */
export const unitsOnOrder = async (
  db: QueryCreator<ProcurementReadModel>,
  tenantId: string,
  sku: string,
  asOf?: number,
): Promise<number> => {
  // The changes of the units still to come, summed: up to `asOf`, or all of them.
  let query = db
    .selectFrom("purchase_order_units")
    .select(sql<string | null>`sum(units)`.as("units"))
    .where("tenant_id", "=", tenantId)
    .where("sku", "=", sku)
  if (asOf !== undefined) query = query.where("sequence", "<=", asOf)
  return Number((await query.executeTakeFirst())?.units ?? 0)
}

/** A tenant's SKU's back-ordered order lines, oldest first: the orders to fill when units come free. */
export const backorderedLines = async (
  db: QueryCreator<ProcurementReadModel>,
  tenantId: string,
  sku: string,
  limit = 50,
): Promise<ReadonlyArray<{ readonly orderId: string; readonly quantity: number }>> =>
  (
    await db
      .selectFrom("order_allocations")
      .select(["order_id", "quantity"])
      .where("tenant_id", "=", tenantId)
      .where("sku", "=", sku)
      .where("status", "=", "backordered")
      .orderBy("updated_at")
      .orderBy("order_id")
      .limit(limit)
      .execute()
  ).map((row) => ({ orderId: row.order_id, quantity: row.quantity }))
