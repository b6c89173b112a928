import { meshCatalog } from "@mesh/contracts"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect, Fiber } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runDurableConsumer } from "./durableConsumer.ts"
import { EventLogError } from "./errors.ts"
import { type EventLog, initialPosition, makeEventLog } from "./eventLog.ts"
import { type NatsHandles, openNats } from "./natsClient.ts"
import { applyTopology, declareTopology } from "./topology.ts"

// What a request does while the connection to the server is lost (a restart, a failover, a node
// drained). nats.js as released let such a request wait out its whole timeout, seconds after the
// connection was back: its bytes went out on the dead socket, or sat in the outbound buffer that
// the next dial empties. Our patch of nats-core (patches/) fails it at once as a connection error,
// which every caller retries.

let server: NatsServerHandle
let nats: NatsHandles
let responder: NatsHandles

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url, "requests-through-outages")
  responder = await openNats(server.url, "silent-responder")
})
afterAll(async () => {
  await nats?.connection.close().catch(() => undefined)
  await responder?.connection.close().catch(() => undefined)
  await server?.stop()
})

/** The rejection of `promise`, and how long after `since` it came. */
const rejectionOf = async (promise: Promise<unknown>, since: number) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  return {
    error: error as { name?: string; message?: string; cause?: { name?: string } },
    afterMs: performance.now() - since,
  }
}

const nextStatus = (handles: NatsHandles, type: string) =>
  (async () => {
    for await (const status of handles.connection.status()) if (status.type === type) return
  })()

const timeoutMs = 30_000

/** A customer's first message, appended to a ticket of its own. */
const openTicket = (log: EventLog<(typeof meshCatalog.definitions)[number]>, ticketId: string) =>
  log.append({
    aggregate: { domain: "customer", type: "ticket", id: ticketId },
    expected: initialPosition,
    events: [
      {
        type: "TicketOpened",
        payload: {
          tenantId: "acme",
          customerId: "c-1",
          channel: "chat",
          subject: "Where is my order?",
          body: "It has been a week.",
          orderId: "o-1",
        },
      },
    ],
    metadata: { correlationId: ticketId, causationId: null, actor: { kind: "agent", id: "customer-ops" } },
  })

describe("a request while the connection to NATS is lost", () => {
  it("fails at once as a connection error, whether it was waiting or made during the outage, and works when the server is back", async () => {
    const namespace = uniqueNamespace("rq")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })

    // Waiting: someone listens on the subject but never answers.
    const silent = responder.connection.subscribe("rq.silent")
    await responder.connection.flush()
    const waiting = nats.connection.request("rq.silent", "are you there?", { timeout: timeoutMs })
    await new Promise((resolve) => setTimeout(resolve, 100))

    const disconnected = nextStatus(nats, "disconnect")
    const killedAt = performance.now()
    await server.kill("SIGKILL")
    const inFlight = await rejectionOf(waiting, killedAt)
    await disconnected
    expect(inFlight.error.name).toBe("RequestError")
    expect(inFlight.error.cause?.name).toBe("ConnectionError")
    expect(inFlight.afterMs).toBeLessThan(timeoutMs / 3)

    // Made during the outage: a JetStream API call, and an append of the log.
    const madeAt = performance.now()
    const apiCall = await rejectionOf(nats.jsm.getAccountInfo(), madeAt)
    expect(apiCall.error.cause?.name).toBe("ConnectionError")
    const append = await rejectionOf(Effect.runPromise(openTicket(log, "T-outage")), madeAt)
    expect(append.error).toBeInstanceOf(EventLogError)
    expect((append.error as EventLogError).reason._tag).toBe("Unavailable")
    expect(performance.now() - madeAt).toBeLessThan(timeoutMs / 3)

    // Back: the same connection answers again, with what the server kept.
    const reconnected = nextStatus(nats, "reconnect")
    await server.restart()
    await reconnected
    const info = await nats.jsm.getAccountInfo()
    expect(info.streams).toBeGreaterThan(0)
    silent.unsubscribe()
  }, 60_000)

  it("leaves a consumer's nak until the connection is back, so that its message comes again in seconds, not after its ack deadline", async () => {
    const namespace = uniqueNamespace("rn")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    await Effect.runPromise(openTicket(log, "T-nak"))
    const ackWaitMs = 60_000
    const deliveries: Array<number> = []
    let outageBegun: () => void = () => undefined
    const begun = new Promise<void>((resolve) => (outageBegun = resolve))
    let handledAgainAt = 0
    const consumer = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: meshCatalog,
        spec: {
          name: "outage-reader",
          domain: "customer",
          ackWaitMs,
          backoff: { initialMs: 100, maxMs: 100, factor: 1 },
        },
        isTransient: () => true,
        handle: (_, delivery) =>
          Effect.gen(function* () {
            deliveries.push(delivery.deliveryCount)
            if (delivery.deliveryCount > 1) {
              handledAgainAt = performance.now()
              return
            }
            // The server goes away under the reaction, whose next request fails with the connection.
            yield* Effect.promise(() => server.kill("SIGKILL"))
            const failed = yield* Effect.flip(Effect.tryPromise(() => nats.jsm.getAccountInfo()))
            outageBegun()
            return yield* Effect.fail(failed)
          }),
      }),
    )
    try {
      await begun
      await new Promise((resolve) => setTimeout(resolve, 300))
      await server.restart()
      const restartedAt = performance.now()
      const deadline = restartedAt + ackWaitMs / 2
      while (handledAgainAt === 0 && performance.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50))
      expect(deliveries).toEqual([1, 2])
      expect(handledAgainAt - restartedAt).toBeLessThan(ackWaitMs / 2)
    } finally {
      await Effect.runPromise(Fiber.interrupt(consumer))
    }
  }, 90_000)
})
