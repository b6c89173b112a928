import { customerEvents, makeCatalog, procurementEvents } from "@mesh/contracts"
import { applyTopology, declareTopology, makeEventLog, openNats } from "@mesh/eventlog"
import { makeProjector } from "@mesh/kernel/projections"
import { caughtUp, openTestPostgres, type TestDatabase } from "@mesh/kernel/projections/testing"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Fiber } from "effect"
import type { Kysely } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type CustomerCareReadModel, customerCareProjection, earlierTicketsOf } from "./customerCare.ts"

// The customer's history as the answering reaction reads it, from the read model projected from
// the customer stream: only what came before the message it answers counts.

const nats = useNatsServer()
let database: TestDatabase

beforeAll(async () => {
  database = await openTestPostgres()
})
afterAll(async () => {
  await database?.close()
})

describe("a customer's earlier tickets", () => {
  it("are those opened before the ticket asked about, not the ones that came after it", async () => {
    const handles = await openNats(nats.url)
    try {
      const namespace = uniqueNamespace("cc")
      await Effect.runPromise(applyTopology(handles.jsm, declareTopology({ namespace })))
      const log = makeEventLog({
        nats: handles,
        catalog: makeCatalog([...customerEvents, ...procurementEvents]),
        namespace,
      })
      const open = (ticketId: string) =>
        Effect.runPromise(
          log.append({
            aggregate: { domain: "customer", type: "ticket", id: ticketId },
            expected: { version: 0, sequence: 0 },
            events: [
              {
                type: "TicketOpened",
                payload: {
                  tenantId: "shop",
                  customerId: "ana",
                  channel: "email",
                  subject: `About ${ticketId}`,
                  body: "Where is my parcel?",
                  orderId: null,
                },
              },
            ],
            metadata: {
              correlationId: ticketId,
              causationId: null,
              actor: { kind: "agent", id: "customer-ops" },
            },
          }),
        )
      const opened = []
      for (const ticketId of ["t-1", "t-2", "t-3"]) {
        opened.push((await open(ticketId)).events[0]!.occurredAt)
        // Distinct opening times, as two messages of one customer have.
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      const schema = database.newSchema()
      const projector = makeProjector({
        projection: customerCareProjection,
        db: database.db,
        schema,
        eventLog: log,
      })
      const fiber = Effect.runFork(projector.run)
      await caughtUp(projector, [fiber])
      await Effect.runPromise(Fiber.interrupt(fiber))

      const model = (database.db as Kysely<CustomerCareReadModel>).withSchema(schema)
      const earlier = (ticketId: string, openedAt: string) =>
        earlierTicketsOf(model, "shop", "ana", ticketId, openedAt).then((rows) =>
          rows.map((r) => r.ticket_id),
        )
      expect(await earlier("t-1", opened[0]!)).toEqual([])
      // t-3 is in the read model too (a reaction that lags, or a replay), but came after t-2.
      expect(await earlier("t-2", opened[1]!)).toEqual(["t-1"])
      expect(await earlier("t-3", opened[2]!)).toEqual(["t-2", "t-1"])
    } finally {
      await handles.connection.drain()
    }
  })
})
