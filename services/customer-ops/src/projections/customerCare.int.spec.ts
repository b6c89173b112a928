import { customerEvents, makeCatalog, procurementEvents } from "@mesh/contracts"
import { applyTopology, declareTopology, makeEventLog, openNats } from "@mesh/eventlog"
import { openTestPostgres, projectedOnce, type TestDatabase } from "@mesh/kernel/projections/testing"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import type { Kysely } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type CustomerCareReadModel,
  customerCareProjection,
  earlierTicketsOf,
  ordersOfCustomer,
} from "./customerCare.ts"

// The customer's history as the answering reaction reads it, from the read model projected from
// the customer stream: only what came before the message it answers counts, as it stood then.

const nats = useNatsServer()
let database: TestDatabase

beforeAll(async () => {
  database = await openTestPostgres()
})
afterAll(async () => {
  await database?.close()
})

/** A fresh namespace's customer stream and a read model projected from it on demand. */
const customerStream = async (handles: Awaited<ReturnType<typeof openNats>>) => {
  const namespace = uniqueNamespace("cc")
  await Effect.runPromise(applyTopology(handles.jsm, declareTopology({ namespace })))
  const log = makeEventLog({
    nats: handles,
    catalog: makeCatalog([...customerEvents, ...procurementEvents]),
    namespace,
  })
  const metadata = (correlationId: string) => ({
    correlationId,
    causationId: null,
    actor: { kind: "agent" as const, id: "customer-ops" },
  })
  /** Appends to an aggregate of the customer stream; the commit's sequence. */
  const append = (
    type: "ticket" | "order",
    id: string,
    version: number,
    events: ReadonlyArray<{ readonly type: string; readonly payload: unknown }>,
  ) =>
    Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type, id },
        expected: version === 0 ? { version: 0, sequence: 0 } : "any",
        events: events as never,
        metadata: metadata(id),
      }),
    ).then((appended) => appended.position.sequence)
  const project = async () =>
    (database.db as Kysely<CustomerCareReadModel>).withSchema(
      await projectedOnce({ projection: customerCareProjection, database, eventLog: log }),
    )
  return { append, project }
}

const opening = (ticketId: string) => ({
  type: "TicketOpened",
  payload: {
    tenantId: "shop",
    customerId: "ana",
    channel: "email",
    subject: `About ${ticketId}`,
    body: "Where is my parcel?",
    orderId: null,
  },
})

describe("a customer's earlier tickets", () => {
  it("are those opened before the ticket asked about, not the ones that came after it", async () => {
    const handles = await openNats(nats.url)
    try {
      const stream = await customerStream(handles)
      const opened: Array<number> = []
      for (const ticketId of ["t-1", "t-2", "t-3"])
        opened.push(await stream.append("ticket", ticketId, 0, [opening(ticketId)]))
      const model = await stream.project()
      const earlier = (ticketId: string, before: number) =>
        earlierTicketsOf(model, "shop", "ana", ticketId, before).then((rows) => rows.map((r) => r.ticket_id))
      expect(await earlier("t-1", opened[0]!)).toEqual([])
      // t-3 is in the read model too (a reaction that lags, or a replay), but came after t-2.
      expect(await earlier("t-2", opened[1]!)).toEqual(["t-1"])
      expect(await earlier("t-3", opened[2]!)).toEqual(["t-2", "t-1"])
    } finally {
      await handles.connection.drain()
    }
  })
})

describe("a customer's orders as a message found them", () => {
  it("are those placed before it, each at its last change before it; without a place, as they stand now", async () => {
    const handles = await openNats(nats.url)
    try {
      const stream = await customerStream(handles)
      const at = (minute: number) => `2026-12-05T10:${String(minute).padStart(2, "0")}:00.000Z`
      const placed = (orderId: string, minute: number) => ({
        type: "OrderPlaced",
        payload: {
          tenantId: "shop",
          orderId,
          customerId: "ana",
          lines: [
            {
              sku: "MUG-1",
              name: "Blue mug",
              quantity: 1,
              unitPrice: { amountMinor: 1200, currency: "EUR" },
            },
          ],
          total: { amountMinor: 1200, currency: "EUR" },
          placedAt: at(minute),
        },
      })
      const changed = (status: string, minute: number, carrier: string | null = null) => ({
        type: "OrderStatusChanged",
        payload: {
          status,
          carrier,
          trackingNumber: carrier === null ? null : "JD1",
          expectedDelivery: null,
          changedAt: at(minute),
        },
      })
      await stream.append("order", "shop_1001", 0, [placed("1001", 1)])
      await stream.append("order", "shop_1001", 1, [changed("paid", 2)])
      // Shipped and delivered in one commit, both before the first message.
      await stream.append("order", "shop_1001", 2, [changed("shipped", 3, "DHL"), changed("delivered", 4)])
      const firstMessage = await stream.append("ticket", "t-1", 0, [opening("t-1")])
      await stream.append("order", "shop_1001", 4, [changed("returned", 5)])
      await stream.append("order", "shop_1002", 0, [placed("1002", 6)])
      const secondMessage = await stream.append("ticket", "t-2", 0, [opening("t-2")])
      await stream.append("order", "shop_1002", 1, [changed("paid", 7)])
      const model = await stream.project()

      const asOf = (before?: number) =>
        ordersOfCustomer(model, "shop", "ana", before === undefined ? {} : { before }).then((orders) =>
          orders.map((o) => ({ orderId: o.orderId, status: o.status, carrier: o.carrier })),
        )
      // The first message came when order 1001 had been delivered, before its return and before 1002.
      expect(await asOf(firstMessage)).toEqual([{ orderId: "1001", status: "delivered", carrier: "DHL" }])
      // The second: 1001 back, 1002 placed and not yet paid.
      expect(await asOf(secondMessage)).toEqual([
        { orderId: "1002", status: "placed", carrier: null },
        { orderId: "1001", status: "returned", carrier: "DHL" },
      ])
      expect(await asOf()).toEqual([
        { orderId: "1002", status: "paid", carrier: null },
        { orderId: "1001", status: "returned", carrier: "DHL" },
      ])
    } finally {
      await handles.connection.drain()
    }
  })
})
