import type { EventEnvelope } from "@mesh/contracts"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { procurementName } from "./config.ts"
import {
  owner,
  type ProcurementProcess,
  type StockItemView,
  startProcurement,
} from "./testing/procurementProcess.ts"

// The procurement agent in its own processes (two replicas sharing its consumers), over real NATS
// and Postgres, with the supplier simulator behind its connector. The storefront's orders are
// played into the customer stream as the customer-ops agent's ingestion appends them.

// Each spec waits on several agents' steps in turn (a crash's lease alone is 30 s); under a full run's
// load one step can take tens of seconds.
vi.setConfig({ testTimeout: 180_000 })

const nats = useNatsServer()
let agent: ProcurementProcess

beforeAll(async () => {
  agent = await startProcurement(nats.url, { prefix: "procure", replicas: 2, resolver: true })
}, 180_000)

afterAll(async () => {
  await agent?.stop()
})

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })

const supplier = (supplierId: string, unitCostMinor: number, leadTimeDays: number) => ({
  supplierId,
  name: `Supplier ${supplierId}`,
  unitCost: eur(unitCostMinor),
  leadTimeDays,
  minOrderQuantity: 1,
})

const configure = async (sku: string, settings: Record<string, unknown>) => {
  const response = await agent.call(`/stock-items/${sku}`, {
    method: "PUT",
    body: {
      tenantId: "shop",
      name: sku,
      reorderPoint: 3,
      reorderQuantity: 10,
      neededWithinDays: 7,
      suppliers: [supplier("acme", 800, 3), supplier("globex", 900, 2)],
      openingStock: 6,
      ...settings,
    },
  })
  expect(response.status).toBeLessThan(300)
  await agent.until(`${sku} is set up`, async () => {
    const r = await agent.call(`/stock-items/${sku}`)
    return r.ok ? ((await r.json()) as StockItemView) : undefined
  })
}

interface PurchaseOrderView {
  readonly purchaseOrderId: string
  readonly tenantId: string
  readonly sku: string
  readonly supplierId: string | null
  readonly quantity: number
  readonly status: string
  readonly decisionId: string
  readonly actionId: string | null
  readonly received: number
  readonly late: boolean
  readonly firstTimeSupplier: boolean
}

const stockOf = async (sku: string) => (await agent.json<StockItemView>(`/stock-items/${sku}`)).stock
const ordersOf = async (sku: string, tenantId?: string) =>
  (
    await agent.json<{ purchaseOrders: ReadonlyArray<PurchaseOrderView> }>(
      `/purchase-orders?sku=${sku}${tenantId === undefined ? "" : `&tenantId=${tenantId}`}`,
    )
  ).purchaseOrders

const ofType = (events: ReadonlyArray<EventEnvelope>, type: string, aggregateId?: string) =>
  events.filter((e) => e.type === type && (aggregateId === undefined || e.aggregateId === aggregateId))

const approve = async (actionId: string) => {
  // The approvals queue is a read model: it shows the action a moment after the log holds it.
  const waiting = await agent.until(`${actionId} waits for approval`, async () =>
    (
      await agent.json<{ queue: ReadonlyArray<{ actionId: string; parametersHash: string }> }>("/approvals")
    ).queue.find((a) => a.actionId === actionId),
  )
  const response = await agent.call(`/approvals/${procurementName}/${actionId}/approve`, {
    method: "POST",
    body: { parametersHash: waiting?.parametersHash },
  })
  expect(response.status).toBeLessThan(300)
}

/** The SKU's first purchase order once placed, approved by the owner if the policy holds it. */
const placed = (sku: string, tenantId?: string) =>
  agent.until(`${sku}'s order is placed`, async () => {
    const [order] = await ordersOf(sku, tenantId)
    if (order?.status === "requested" && order.actionId !== null) {
      const queue = (await agent.json<{ queue: ReadonlyArray<{ actionId: string }> }>("/approvals")).queue
      if (queue.some((a) => a.actionId === order.actionId)) await approve(order.actionId)
    }
    return order?.status === "placed" ? order : undefined
  })

describe("stock to reorder", () => {
  it("orders once below the reorder point, waits for a buyer on a new supplier, and receipts restore the stock", async () => {
    await configure("LAMP-1", {})
    expect(await stockOf("LAMP-1")).toMatchObject({ onHand: 6, available: 6 })

    // Four units sold and paid: 2 left, below the reorder point of 3.
    for (const id of ["shop_o-l1", "shop_o-l2"])
      await agent.orders.place(id, [{ sku: "LAMP-1", quantity: 2 }], true)
    const drafted = await agent.until("a purchase order is drafted", async () => {
      const [order] = await ordersOf("LAMP-1")
      return order?.status === "requested" ? order : undefined
    })
    // 3 - 2 + 10: back above the reorder point by the reorder quantity; the cheapest eligible supplier.
    expect(drafted).toMatchObject({ supplierId: "acme", quantity: 11, firstTimeSupplier: true })
    // The supplier has never delivered here: a buyer approves its first order.
    expect(agent.simulators.supplier.ledger()).toHaveLength(0)
    await approve(drafted.actionId as string)
    await agent.until("the order is placed at the supplier", async () => {
      const [order] = await ordersOf("LAMP-1")
      return order?.status === "placed" ? order : undefined
    })
    expect(agent.simulators.supplier.ledger()).toMatchObject([
      { operation: "purchase-order.placed", params: { supplierId: "acme", sku: "LAMP-1", quantity: 11 } },
    ])

    // More sales while the order is open order nothing more.
    await agent.orders.place("shop_o-l3", [{ sku: "LAMP-1", quantity: 1 }], true)
    await agent.until("the third order is reserved", async () =>
      (await stockOf("LAMP-1")).held === 5 ? true : undefined,
    )
    expect(await ordersOf("LAMP-1")).toHaveLength(1)

    // A partial delivery, the same delivery note scanned twice, then the rest.
    const id = drafted.purchaseOrderId
    for (const deliveryId of ["dn-1", "dn-1"]) {
      const r = await agent.call(`/purchase-orders/${id}/receipts`, {
        method: "POST",
        body: { quantity: 5, deliveryId },
      })
      expect(r.status).toBe(202)
    }
    await agent.until("the partial delivery is on the shelf", async () =>
      (await stockOf("LAMP-1")).onHand === 11 ? true : undefined,
    )
    // The read model follows the log; the registers answer at once.
    await agent.until("the purchase order shows the partial delivery", async () => {
      const [order] = await ordersOf("LAMP-1")
      return order?.received === 5 ? order : undefined
    })
    expect((await ordersOf("LAMP-1"))[0]).toMatchObject({ status: "placed", received: 5 })
    await agent.call(`/purchase-orders/${id}/receipts`, {
      method: "POST",
      body: { quantity: 6, deliveryId: "dn-2" },
    })
    await agent.until("the order is received in full and the reorder closed", async () => {
      const item = await agent.json<StockItemView>("/stock-items/LAMP-1")
      return item.openPurchaseOrder === null && item.stock.onHand === 17 ? item : undefined
    })
    // 6 opening + 11 received; 5 reserved for the three orders, none shipped yet.
    expect(await stockOf("LAMP-1")).toMatchObject({ onHand: 17, available: 12, held: 5 })
    await agent.until("the purchase order shows it received", async () => {
      const [order] = await ordersOf("LAMP-1")
      return order?.status === "received" ? order : undefined
    })
    expect((await ordersOf("LAMP-1"))[0]).toMatchObject({ status: "received", received: 11 })

    // The order traces to its decision, the policy's verdict and the buyer's approval.
    const events = await agent.everything()
    const decision = ofType(events, "DecisionRecorded").find(
      (e) => (e.payload as { decisionId: string }).decisionId === drafted.decisionId,
    )
    expect(decision).toBeDefined()
    const requested = ofType(events, "ActionRequested", id)[0]
    expect(requested?.payload).toMatchObject({
      kind: "supplier.place-order",
      cause: { decisionId: drafted.decisionId },
      policy: { verdict: { mode: "require-approval", rule: "first-order-with-a-supplier" } },
    })
    expect(ofType(events, "ActionApproved", id)[0]?.actor).toMatchObject({ kind: "human", id: owner.name })
    expect(ofType(events, "StockBelowReorderPoint", "shop_LAMP-1")).toHaveLength(1)
  })

  it("places a known supplier's small order on its own, and marks a late delivery once", async () => {
    // acme delivered above; a SKU only acme supplies, promised the same day, is late at once.
    await configure("BULB-1", { suppliers: [supplier("acme", 200, 0)], reorderQuantity: 5, openingStock: 4 })
    await agent.orders.place("shop_o-b1", [{ sku: "BULB-1", quantity: 2 }], true)
    const placed = await agent.until("the order is placed without approval", async () => {
      const [order] = await ordersOf("BULB-1")
      return order?.status === "placed" ? order : undefined
    })
    expect(placed).toMatchObject({ supplierId: "acme", firstTimeSupplier: false })
    const late = await agent.until("the late delivery is marked", async () => {
      const [order] = await ordersOf("BULB-1")
      return order?.late ? order : undefined
    })
    expect(late.status).toBe("placed")
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const events = await agent.everything()
    expect(ofType(events, "PurchaseOrderLate", placed.purchaseOrderId)).toMatchObject([
      { payload: { sku: "BULB-1", supplierId: "acme", outstanding: placed.quantity } },
    ])
    expect(ofType(events, "ActionRequested", placed.purchaseOrderId)[0]?.payload).toMatchObject({
      policy: { verdict: { mode: "auto" } },
    })
  })
})

describe("no overselling", () => {
  it("reserves 10 units for 10 of 50 orders paid at once across two replicas, and back-orders the rest", async () => {
    await configure("MUG-1", { openingStock: 10, reorderPoint: 0, suppliers: [supplier("acme", 300, 2)] })
    const ids = Array.from({ length: 50 }, (_, i) => `shop_o-m${i}`)
    await Promise.all(ids.map((id) => agent.orders.place(id, [{ sku: "MUG-1", quantity: 1 }], true)))
    const events = await agent.until(
      "every order is reserved or back-ordered",
      async () => {
        const all = await agent.everything()
        const settled =
          ofType(all, "OrderStockReserved").filter((e) => ids.includes(e.aggregateId)).length +
          ofType(all, "OrderStockBackordered").filter((e) => ids.includes(e.aggregateId)).length
        return settled === 50 ? all : undefined
      },
      90_000,
    )
    const reserved = ofType(events, "OrderStockReserved").filter((e) => ids.includes(e.aggregateId))
    expect(reserved).toHaveLength(10)
    expect(new Set(reserved.map((e) => e.aggregateId)).size).toBe(10)
    expect(await stockOf("MUG-1")).toMatchObject({ onHand: 10, available: 0, held: 10 })

    // The reserved ten ship, two come back, one back-ordered order is cancelled.
    const shipped = reserved.map((e) => e.aggregateId)
    for (const id of shipped) await agent.orders.ship(id)
    await agent.orders.return(shipped[0] as string)
    await agent.orders.return(shipped[1] as string)
    const backordered = ofType(events, "OrderStockBackordered").map((e) => e.aggregateId)
    await agent.orders.cancel(backordered[0] as string)
    // The two units returned go to the two oldest back-orders still waiting.
    await agent.until(
      "shipments, returns and the cancellation are counted, and back-orders filled",
      async () => {
        const stock = await stockOf("MUG-1")
        return stock.onHand === 2 && stock.confirmed === 10 && stock.held === 2 && stock.available === 0
          ? stock
          : undefined
      },
    )
    // The registers answer first; the allocations record what they came to a moment later. A
    // back-order filled while its order was being cancelled gives its reservation back.
    const holding = (all: ReadonlyArray<EventEnvelope>) =>
      backordered.filter(
        (id) =>
          ofType(all, "OrderStockReserved", id).length > 0 &&
          !ofType(all, "OrderStockReleased", id).some(
            (e) => (e.payload as { wasBackordered: boolean }).wasBackordered === false,
          ),
      )
    const after = await agent.until("the filled back-orders are recorded", async () => {
      const all = await agent.everything()
      return holding(all).length === 2 ? all : undefined
    })
    expect(ofType(after, "OrderStockShipped").filter((e) => shipped.includes(e.aggregateId))).toHaveLength(10)
    expect(ofType(after, "OrderStockReleased", backordered[0]).length).toBeGreaterThan(0)
    const filled = holding(after)
    expect(filled).not.toContain(backordered[0])

    // A back-ordered order the storefront ships anyway, with no unit free: counted off the shelf, flagged.
    const stillWaiting = backordered.find(
      (id) => id !== backordered[0] && ofType(after, "OrderStockReserved", id).length === 0,
    )
    await agent.orders.ship(stillWaiting as string)
    const unreserved = await agent.until("the unreserved shipment is counted", async () => {
      const shippedAnyway = ofType(await agent.everything(), "OrderStockShipped", stillWaiting)
      return shippedAnyway.length === 1 ? shippedAnyway[0] : undefined
    })
    expect(unreserved.payload).toMatchObject({ sku: "MUG-1", quantity: 1, unreserved: true })
    await agent.until("on hand counts it", async () =>
      (await stockOf("MUG-1")).onHand === 1 ? true : undefined,
    )
  })
})

describe("racing reorders", () => {
  it("opens one reorder when two replicas see the SKU fall below its point at once", async () => {
    await configure("PEN-1", { openingStock: 20, reorderPoint: 15, suppliers: [supplier("acme", 100, 2)] })
    // Ten orders at once, handled by both replicas: each sale is below the point.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        agent.orders.place(`shop_o-p${i}`, [{ sku: "PEN-1", quantity: 1 }], true),
      ),
    )
    await agent.until("all ten are reserved", async () =>
      (await stockOf("PEN-1")).held === 10 ? true : undefined,
    )
    await agent.until("its purchase order is placed", async () => {
      const orders = await ordersOf("PEN-1")
      return orders.some((o) => o.status === "placed") ? true : undefined
    })
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const events = await agent.everything()
    expect(ofType(events, "ReorderOpened", "shop_PEN-1")).toHaveLength(1)
    expect(await ordersOf("PEN-1")).toHaveLength(1)
    expect(agent.simulators.supplier.ledger().filter((e) => e.params.sku === "PEN-1")).toHaveLength(1)
  })
})

describe("two open orders with one supplier", () => {
  it("cancels the later at the supplier, as the resolver's invariant declares, and records why", async () => {
    // Two units against a reorder point of three: the agent orders from acme (known since the first spec) at once.
    await configure("DESK-1", { openingStock: 2, reorderQuantity: 2, suppliers: [supplier("acme", 5000, 2)] })
    const agentsOrder = await placed("DESK-1")
    // A buyer's rush order with the same supplier, sent twice: one order.
    const rush = {
      reference: "rush-1",
      tenantId: "shop",
      sku: "DESK-1",
      supplierId: "acme",
      quantity: 2,
      unitCost: eur(5000),
      leadTimeDays: 1,
    }
    const first = await agent.call("/purchase-orders", { method: "POST", body: rush })
    expect(first.status).toBe(202)
    const { purchaseOrderId } = (await first.json()) as { purchaseOrderId: string }
    const again = await agent.call("/purchase-orders", { method: "POST", body: rush })
    expect(await again.json()).toEqual({ purchaseOrderId })

    const cancelled = await agent.until(
      "the later order is cancelled",
      async () => {
        const order = (await ordersOf("DESK-1")).find((o) => o.purchaseOrderId === purchaseOrderId)
        // A supplier new to the shop (when this spec runs alone) needs the owner's approval first.
        if (order?.status === "requested") {
          const queue = (await agent.json<{ queue: ReadonlyArray<{ actionId: string }> }>("/approvals")).queue
          if (queue.some((a) => a.actionId === purchaseOrderId)) await approve(purchaseOrderId)
        }
        return order?.status === "cancelled" ? order : undefined
      },
      60_000,
    )
    expect(cancelled).toMatchObject({ supplierId: "acme" })
    expect(
      (await ordersOf("DESK-1")).find((o) => o.purchaseOrderId === agentsOrder.purchaseOrderId),
    ).toMatchObject({
      status: "placed",
    })
    const atSupplier = (
      agent.simulators.supplier.state().purchaseOrders as ReadonlyArray<{ sku: string; status: string }>
    )
      .filter((o) => o.sku === "DESK-1")
      .map((o) => o.status)
      .sort()
    expect(atSupplier).toEqual(["cancelled", "placed"])

    const events = await agent.everything()
    const violations = (await agent.violations()).filter((v) => v.payload.id === "shop_DESK-1")
    expect(violations).toHaveLength(1)
    expect(violations[0]?.payload).toMatchObject({
      invariant: "one-purchase-order-per-supplier",
      resolution: { _tag: "Compensate", agent: procurementName, actionId: purchaseOrderId },
    })
    const compensated = ofType(events, "ActionCompensated", purchaseOrderId)
    expect(compensated).toHaveLength(1)
    // The undo joins the violation's chain: caused by the request the resolver recorded for it.
    expect(ofType(events, "ActionCompensationRequested", purchaseOrderId)[0]?.causationId).toBe(
      violations[0]?.eventId,
    )
  })
})

describe("a buyer's hand", () => {
  it("cancels a placed order at the supplier, and holds the SKU's reorders until the buyer resumes them", async () => {
    await configure("CUP-1", { openingStock: 2, reorderQuantity: 2, suppliers: [supplier("acme", 300, 2)] })
    const order = await placed("CUP-1")
    const cancel = await agent.call(`/purchase-orders/${order.purchaseOrderId}/cancel`, {
      method: "POST",
      body: { reason: "the supplier is closing for the holidays" },
    })
    expect(cancel.status).toBe(202)
    await agent.until("the order is cancelled at the supplier and here", async () => {
      const [cancelled] = await ordersOf("CUP-1")
      const atSupplier = (
        agent.simulators.supplier.state().purchaseOrders as ReadonlyArray<{ sku: string; status: string }>
      ).filter((o) => o.sku === "CUP-1")
      return cancelled?.status === "cancelled" && atSupplier.every((o) => o.status === "cancelled")
        ? true
        : undefined
    })
    const held = await agent.until("the SKU's reorders are held", async () => {
      const item = await agent.json<StockItemView & { reordersHeldAfter: string | null }>(
        "/stock-items/CUP-1",
      )
      return item.reordersHeldAfter === order.purchaseOrderId ? item : undefined
    })
    expect(held.openPurchaseOrder).toBeNull()
    // A sale below the point orders nothing while held.
    await agent.orders.place("shop_o-c1", [{ sku: "CUP-1", quantity: 1 }], true)
    await agent.until("the sale is reserved", async () =>
      (await stockOf("CUP-1")).held === 1 ? true : undefined,
    )
    expect(await ordersOf("CUP-1")).toHaveLength(1)
    const resume = await agent.call("/stock-items/CUP-1/resume", { method: "POST" })
    expect(resume.status).toBe(202)
    await agent.until("a new reorder opens", async () =>
      (await ordersOf("CUP-1")).length === 2 ? true : undefined,
    )
  })
})

describe("tenants", () => {
  it("keeps two shops' stock of the same SKU apart: one shop's orders never take the other's units", async () => {
    await configure("VASE-1", { openingStock: 2, reorderPoint: 0, suppliers: [supplier("acme", 500, 2)] })
    // The corner shop sells its own VASE-1, with none on the shelf.
    const corner = await agent.call("/stock-items/VASE-1", {
      method: "PUT",
      body: {
        tenantId: "corner",
        name: "Corner vase",
        reorderPoint: 0,
        reorderQuantity: 5,
        neededWithinDays: 7,
        suppliers: [supplier("globex", 600, 3)],
      },
    })
    expect(corner.status).toBe(202)
    const ambiguous = await agent.until("both shops' VASE-1 are set up", async () => {
      const response = await agent.call("/stock-items/VASE-1")
      return response.status === 409 ? response : undefined
    })
    expect(await ambiguous.json()).toMatchObject({ field: "tenantId" })
    const of = (tenantId: string) => agent.json<StockItemView>(`/stock-items/VASE-1?tenantId=${tenantId}`)

    // The corner shop's paid order is back-ordered, though the shop has two free.
    await agent.orders.place("corner_o-v1", [{ sku: "VASE-1", quantity: 1 }], true)
    await agent.until("the corner shop's order is back-ordered", async () =>
      ofType(await agent.everything(), "OrderStockBackordered", "corner_o-v1").length === 1
        ? true
        : undefined,
    )
    expect((await of("shop")).stock).toMatchObject({ onHand: 2, available: 2, held: 0 })
    expect((await of("corner")).stock).toMatchObject({ onHand: 0, available: 0, held: 0 })
    // The shop's own order takes one of its own.
    await agent.orders.place("shop_o-v2", [{ sku: "VASE-1", quantity: 1 }], true)
    await agent.until("the shop's order is reserved", async () =>
      (await of("shop")).stock.held === 1 ? true : undefined,
    )
    expect((await of("corner")).stock).toMatchObject({ available: 0, held: 0 })
    const listed = await agent.json<{ stockItems: ReadonlyArray<{ tenantId: string; sku: string }> }>(
      "/stock-items?tenantId=corner",
    )
    expect(listed.stockItems.map((i) => `${i.tenantId}/${i.sku}`)).toEqual(["corner/VASE-1"])
  })

  it("keeps two shops' reorders and purchase orders of the same SKU apart, and asks which shop a bare SKU means", async () => {
    // Both shops sell JUG-1 at or below its reorder point from the start: each reorders for itself,
    // from its own suppliers, by what it has and has on order.
    await configure("JUG-1", {
      openingStock: 1,
      reorderPoint: 2,
      reorderQuantity: 4,
      suppliers: [supplier("acme", 400, 2)],
    })
    const corner = await agent.call("/stock-items/JUG-1", {
      method: "PUT",
      body: {
        tenantId: "corner",
        name: "Corner jug",
        reorderPoint: 2,
        reorderQuantity: 6,
        neededWithinDays: 7,
        suppliers: [supplier("initech", 450, 1)],
      },
    })
    expect(corner.status).toBe(202)
    const of = (tenantId: string) => agent.json<StockItemView>(`/stock-items/JUG-1?tenantId=${tenantId}`)
    const reorderOf = (tenantId: string) =>
      agent.until(`${tenantId}'s JUG-1 reorder is drafted`, async () => {
        const response = await agent.call(`/stock-items/JUG-1?tenantId=${tenantId}`)
        const item = response.ok ? ((await response.json()) as StockItemView) : undefined
        if (item?.openPurchaseOrder == null) return undefined
        const [order] = await ordersOf("JUG-1", tenantId)
        return order?.purchaseOrderId === item.openPurchaseOrder ? order : undefined
      })
    const shopOrder = await reorderOf("shop")
    const cornerOrder = await reorderOf("corner")
    expect(shopOrder).toMatchObject({ tenantId: "shop", sku: "JUG-1", supplierId: "acme", quantity: 5 })
    expect(cornerOrder).toMatchObject({
      tenantId: "corner",
      sku: "JUG-1",
      supplierId: "initech",
      quantity: 8,
    })
    expect(shopOrder.purchaseOrderId).not.toBe(cornerOrder.purchaseOrderId)
    expect((await ordersOf("JUG-1", "shop")).map((o) => o.purchaseOrderId)).toEqual([
      shopOrder.purchaseOrderId,
    ])
    expect((await ordersOf("JUG-1", "corner")).map((o) => o.purchaseOrderId)).toEqual([
      cornerOrder.purchaseOrderId,
    ])

    // A bare SKU two shops sell names neither: every route that takes one asks for the tenant.
    for (const [path, method] of [
      ["/purchase-orders?sku=JUG-1", "GET"],
      ["/purchase-orders?sku=JUG-1&status=placed", "GET"],
      ["/stock-items/JUG-1", "GET"],
      ["/stock-items/JUG-1/resume", "POST"],
    ] as const) {
      const response = await agent.call(path, { method })
      expect(response.status, path).toBe(409)
      expect(await response.json()).toMatchObject({ field: "tenantId" })
    }

    // The corner shop's order of three waits for its own goods: the shop's unit is not its to take.
    await agent.orders.place("corner_o-j1", [{ sku: "JUG-1", quantity: 3 }], true)
    await agent.until("the corner shop's order is back-ordered", async () =>
      ofType(await agent.everything(), "OrderStockBackordered", "corner_o-j1").length === 1
        ? true
        : undefined,
    )
    // Its goods arrive: they fill its back-order and close its reorder, and only its own.
    const placedCorner = await placed("JUG-1", "corner")
    const receipt = await agent.call(`/purchase-orders/${placedCorner.purchaseOrderId}/receipts`, {
      method: "POST",
      body: { quantity: 8, deliveryId: "dn-corner-j1" },
    })
    expect(receipt.status).toBe(202)
    await agent.until("the corner shop's back-order is filled from its goods", async () =>
      ofType(await agent.everything(), "OrderStockReserved", "corner_o-j1").length === 1 ? true : undefined,
    )
    const cornerAfter = await agent.until("the corner shop's reorder is closed", async () => {
      const item = await of("corner")
      return item.openPurchaseOrder === null ? item : undefined
    })
    expect(cornerAfter.stock).toMatchObject({ onHand: 8, available: 5, held: 3 })
    const shopAfter = await of("shop")
    expect(shopAfter.stock).toMatchObject({ onHand: 1, available: 1, held: 0 })
    expect(shopAfter.openPurchaseOrder).toBe(shopOrder.purchaseOrderId)
  })

  it("reorders for an order whose id names no tenant (recorded before orders were), in its placement's tenant", async () => {
    await configure("KEG-1", { openingStock: 3, reorderPoint: 1, suppliers: [supplier("acme", 700, 2)] })
    // Two of three sold on an order the log knows only as "o-k1": one left, at the reorder point.
    await agent.orders.place("o-k1", [{ sku: "KEG-1", quantity: 2 }], true)
    const item = await agent.until("KEG-1 reorders", async () => {
      const found = await agent.json<StockItemView>("/stock-items/KEG-1?tenantId=shop")
      return found.openPurchaseOrder === null ? undefined : found
    })
    expect(item.stock).toMatchObject({ onHand: 3, available: 1, held: 2 })
  })
})

describe("operators", () => {
  it("answers only the shop's people, and names what is wrong with a bad request", async () => {
    expect((await agent.call("/purchase-orders", { token: null })).status).toBe(401)
    expect((await agent.call("/stock-items", { token: "not-a-token-0123456789" })).status).toBe(401)
    const bad = await agent.call("/stock-items/CHAIR-9", {
      method: "PUT",
      body: {
        tenantId: "shop",
        name: "Desk",
        reorderPoint: -1,
        reorderQuantity: 5,
        neededWithinDays: 3,
        suppliers: [],
      },
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ field: "reorderPoint" })
    const receipt = await agent.call("/purchase-orders/po-none/receipts", {
      method: "POST",
      body: { quantity: 1, deliveryId: "x" },
    })
    expect(receipt.status).toBe(409)
    expect(await agent.call("/stock-items/CHAIR-9")).toMatchObject({ status: 404 })
    const tooLong = await agent.call(`/stock-items/${"S".repeat(64)}`, { method: "PUT", body: {} })
    expect(tooLong.status).toBe(400)
    expect(await tooLong.json()).toMatchObject({ field: "sku" })
    // A SKU that could not be a tenant's is refused by name wherever one is given.
    for (const path of [`/stock-items/${"S".repeat(64)}`, "/purchase-orders?sku=MUG%201"]) {
      const response = await agent.call(path)
      expect(response.status, path).toBe(400)
      const answer = (await response.json()) as { error: string; field: string }
      expect(answer.field).toBe("sku")
      expect(answer.error).toMatch(/^"(S{64}|MUG 1)" is not a SKU/)
    }
    const badTenant = await agent.call("/purchase-orders?sku=MUG-1&tenantId=Shop")
    expect(badTenant.status).toBe(400)
    expect(await badTenant.json()).toMatchObject({ field: "tenantId" })
  })
})
