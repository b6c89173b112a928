import { meshCatalog, Subjects } from "@mesh/contracts"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect, Fiber } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { backoffDelay, readDeadLetters, runDurableConsumer } from "./durableConsumer.ts"
import { initialPosition, makeEventLog } from "./eventLog.ts"
import { type NatsHandles, openNats } from "./natsClient.ts"
import { applyTopology, declareTopology } from "./topology.ts"

let server: NatsServerHandle
let nats: NatsHandles

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

const metadata = { correlationId: "c", causationId: null, actor: { kind: "system", id: "test" } } as const
const opened = (customerId: string) =>
  ({
    type: "TicketOpened",
    payload: { tenantId: "acme", customerId, channel: "web", subject: "s", body: "b", orderId: null },
  }) as const

const waitFor = async (predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe("durable consumer", () => {
  it("dead-letters an event whose handler keeps failing after the configured deliveries, while others flow", async () => {
    const namespace = uniqueNamespace("dlq")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    for (const id of ["a", "poison", "b", "c"]) {
      await Effect.runPromise(
        log.append({
          aggregate: { domain: "customer", type: "ticket", id },
          expected: initialPosition,
          events: [opened(`cust-${id}`)],
          metadata,
        }),
      )
    }
    const handled: Array<string> = []
    const attempts = new Map<string, number>()
    const fiber = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: meshCatalog,
        spec: {
          name: "triage",
          domain: "customer",
          maxDeliveries: 3,
          backoff: { initialMs: 50, maxMs: 200, factor: 2 },
        },
        handle: (event) =>
          Effect.gen(function* () {
            attempts.set(event.aggregateId, (attempts.get(event.aggregateId) ?? 0) + 1)
            if (event.aggregateId === "poison") return yield* Effect.fail(new Error("refund service said no"))
            handled.push(event.aggregateId)
          }),
      }),
    )
    await waitFor(async () => (await Effect.runPromise(readDeadLetters(nats, namespace))).length === 1)
    await waitFor(() => handled.length === 3)
    expect(handled.sort()).toEqual(["a", "b", "c"])
    const [dead] = await Effect.runPromise(readDeadLetters(nats, namespace))
    expect(dead).toMatchObject({
      originalStream: Subjects.streamName(namespace, "customer"),
      originalSequence: 2,
      originalSubject: Subjects.aggregate(namespace, "customer", "ticket", "poison"),
      consumer: "triage",
      deliveries: 3,
    })
    expect(dead!.reason).toContain("refund service said no")
    const original = JSON.parse(new TextDecoder().decode(dead!.data))
    expect(original[0].aggregateId).toBe("poison")
    // Give the server time to redeliver if it were going to: the dead-lettered event is settled.
    await new Promise((r) => setTimeout(r, 500))
    expect(attempts.get("poison")).toBe(3)
    await Effect.runPromise(Fiber.interrupt(fiber))
  })

  it("keeps redelivering an event that fails transiently, past the configured deliveries, until it succeeds", async () => {
    const namespace = uniqueNamespace("outage")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    await Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type: "ticket", id: "t" },
        expected: initialPosition,
        events: [opened("cust-t")],
        metadata,
      }),
    )
    // The store the handler writes to is away for its first five deliveries.
    const deliveries: Array<number> = []
    const fiber = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: meshCatalog,
        spec: {
          name: "writer",
          domain: "customer",
          maxDeliveries: 2,
          backoff: { initialMs: 20, maxMs: 50, factor: 2 },
        },
        // Every failure here is the store being away.
        isTransient: () => true,
        handle: (_, delivery) =>
          Effect.suspend(() => {
            deliveries.push(delivery.deliveryCount)
            return delivery.deliveryCount <= 5 ? Effect.fail(new Error("store away")) : Effect.void
          }),
      }),
    )
    await waitFor(() => deliveries.includes(6))
    await new Promise((r) => setTimeout(r, 300))
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(deliveries).toEqual([1, 2, 3, 4, 5, 6])
    expect(await Effect.runPromise(readDeadLetters(nats, namespace))).toEqual([])
  })

  it("dead-letters an undecodable message at once, naming why", async () => {
    const namespace = uniqueNamespace("bad")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    await nats.js.publish(
      Subjects.aggregate(namespace, "customer", "ticket", "x"),
      new TextEncoder().encode("[]"),
    )
    const seen: Array<string> = []
    const fiber = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: meshCatalog,
        spec: { name: "reader", domain: "customer" },
        handle: (event) => Effect.sync(() => seen.push(event.type)),
      }),
    )
    await waitFor(async () => (await Effect.runPromise(readDeadLetters(nats, namespace))).length === 1)
    const [dead] = await Effect.runPromise(readDeadLetters(nats, namespace))
    expect(dead!.reason).toMatch(/undecodable: malformed commit/)
    expect(dead!.deliveries).toBe(1)
    expect(seen).toEqual([])
    await Effect.runPromise(Fiber.interrupt(fiber))
  })

  it("resumes after a restart without redelivering acknowledged events", async () => {
    const namespace = uniqueNamespace("resume")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const append = (id: string) =>
      Effect.runPromise(
        log.append({
          aggregate: { domain: "customer", type: "ticket", id },
          expected: initialPosition,
          events: [opened(id)],
          metadata,
        }),
      )
    const seen: Array<string> = []
    const consumer = () =>
      Effect.runFork(
        runDurableConsumer({
          nats,
          namespace,
          catalog: meshCatalog,
          spec: { name: "projector", domain: "customer" },
          handle: (event) => Effect.sync(() => seen.push(event.aggregateId)),
        }),
      )
    await append("one")
    const first = consumer()
    await waitFor(() => seen.length === 1)
    await Effect.runPromise(Fiber.interrupt(first))
    await append("two")
    const second = consumer()
    await waitFor(() => seen.length === 2)
    await new Promise((r) => setTimeout(r, 200))
    expect(seen).toEqual(["one", "two"])
    await Effect.runPromise(Fiber.interrupt(second))
  })
})

describe("backoffDelay", () => {
  it("grows exponentially up to the cap", () => {
    const b = { initialMs: 100, maxMs: 1_000, factor: 2 }
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(b, n))).toEqual([100, 200, 400, 800, 1_000, 1_000])
  })
})
