import { makeCatalog, meshCatalog, meshEventDefinitions, Subjects } from "@mesh/contracts"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Deferred, Effect, Fiber, Option, type Tracer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  backoffDelay,
  type Delivery,
  ensureDurableConsumer,
  readDeadLetters,
  runDurableConsumer,
} from "./durableConsumer.ts"
import { initialPosition, makeEventLog } from "./eventLog.ts"
import { type NatsHandles, openNats } from "./natsClient.ts"
import { RetryingDeliveries } from "./retryingDeliveries.ts"
import { SkippedEvents } from "./storedCommit.ts"
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
    const retrying = new RetryingDeliveries()
    const waiting: Array<ReturnType<RetryingDeliveries["summary"]>> = []
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
        retrying,
        handle: (_, delivery) =>
          Effect.suspend(() => {
            deliveries.push(delivery.deliveryCount)
            // What /status shows while it waits: the delivery, since when, and on what.
            waiting.push(retrying.summary())
            return delivery.deliveryCount <= 5 ? Effect.fail(new Error("store away")) : Effect.void
          }),
      }),
    )
    await waitFor(() => deliveries.includes(6))
    await new Promise((r) => setTimeout(r, 300))
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(deliveries).toEqual([1, 2, 3, 4, 5, 6])
    expect(await Effect.runPromise(readDeadLetters(nats, namespace))).toEqual([])
    const stream = Subjects.streamName(namespace, "customer")
    expect(waiting[0]).toEqual({ count: 0, oldest: [] })
    expect(waiting[5]).toMatchObject({
      count: 1,
      oldest: [{ stream, sequence: 1, deliveries: 5, reason: expect.stringContaining("store away") }],
    })
    // Since its first failure, however often it failed after.
    expect(waiting[5]?.oldest[0]?.since).toBe(waiting[1]?.oldest[0]?.since)
    // Handled: it no longer waits.
    expect(retrying.summary()).toEqual({ count: 0, oldest: [] })
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

  it("skips and counts event types its catalogue lacks, dead-letters none, and handles each event in a span continuing its trace", async () => {
    const namespace = uniqueNamespace("newer")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const escalate = { type: "TicketEscalated", payload: { reason: "angry", queue: "tier-2" } } as const
    const append = (id: string, events: ReadonlyArray<typeof escalate | ReturnType<typeof opened>>) =>
      Effect.runPromise(
        log
          .append({
            aggregate: { domain: "customer", type: "ticket", id },
            expected: "any",
            events,
            metadata,
          })
          .pipe(Effect.withSpan(`request ${id}`)),
      )
    const a = await append("a", [opened("a")])
    await append("a", [escalate])
    await append("b", [opened("b"), escalate])
    const c = await append("c", [opened("c")])

    const olderCatalog = makeCatalog(meshEventDefinitions.filter((d) => d.type !== "TicketEscalated"))
    const skipped = new SkippedEvents()
    const spans: Array<{ readonly id: string; readonly span: Tracer.Span }> = []
    const fiber = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: olderCatalog,
        spec: { name: "older", domain: "customer" },
        skipped,
        handle: (event) =>
          Effect.flatMap(Effect.currentSpan, (span) =>
            Effect.sync(() => spans.push({ id: event.aggregateId, span })),
          ).pipe(Effect.orDie),
      }),
    )
    await waitFor(async () => {
      const info = await nats.jsm.consumers
        .info(Subjects.streamName(namespace, "customer"), "older")
        .catch(() => undefined)
      return info?.num_pending === 0 && info.num_ack_pending === 0
    })
    expect(spans.map((s) => s.id)).toEqual(["a", "b", "c"])
    expect(skipped.counts()).toEqual({ TicketEscalated: 2 })
    expect(await Effect.runPromise(readDeadLetters(nats, namespace))).toEqual([])

    // The handler's span is the consumer's, whose parent is the span that appended the event.
    for (const [{ span }, event] of [
      [spans[0]!, a.events[0]!],
      [spans[2]!, c.events[0]!],
    ] as const) {
      const [, traceId, spanId] = event.trace!.traceparent.split("-")
      expect(span.name).toBe("consume older")
      expect(span.traceId).toBe(traceId)
      expect(Option.getOrThrow(span.parent)).toMatchObject({ _tag: "ExternalSpan", traceId, spanId })
    }
    await Effect.runPromise(Fiber.interrupt(fiber))
  })

  it("gives an existing consumer the filter it is declared with, one subject or several", async () => {
    const namespace = uniqueNamespace("refilter")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const stream = Subjects.streamName(namespace, "customer")
    const tickets = Subjects.aggregateTypeWildcard(namespace, "customer", "ticket")
    const orders = Subjects.aggregateTypeWildcard(namespace, "customer", "order")
    const filterOf = async () => {
      const { config } = await nats.jsm.consumers.info(stream, "reader")
      return config.filter_subjects ?? [config.filter_subject]
    }
    const ensure = (filterSubject: string | ReadonlyArray<string>) =>
      Effect.runPromise(
        ensureDurableConsumer(nats, namespace, { name: "reader", domain: "customer", filterSubject }),
      )
    await ensure(tickets)
    expect(await filterOf()).toEqual([tickets])
    await ensure([tickets, orders])
    expect(await filterOf()).toEqual([orders, tickets])
    await ensure(orders)
    expect(await filterOf()).toEqual([orders])
  })

  it("with a concurrency, handles different aggregates side by side and each aggregate's events in order", async () => {
    const namespace = uniqueNamespace("par")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    // Three tickets with four messages each, appended interleaved.
    const positions = new Map<string, { version: number; sequence: number }>()
    for (let round = 0; round < 4; round++) {
      for (const id of ["t1", "t2", "t3"]) {
        const result = await Effect.runPromise(
          log.append({
            aggregate: { domain: "customer", type: "ticket", id },
            expected: positions.get(id) ?? initialPosition,
            events: [
              round === 0
                ? opened(`cust-${id}`)
                : {
                    type: "TicketMessageReceived",
                    payload: {
                      messageId: `${id}-m${round}`,
                      channel: "web",
                      subject: "s",
                      body: `m${round}`,
                      orderId: null,
                      contact: round + 1,
                      reopened: false,
                    },
                  },
            ],
            metadata,
          }),
        )
        positions.set(id, result.position)
      }
    }
    const seen: Array<string> = []
    let inHand = 0
    let mostInHand = 0
    const fiber = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: meshCatalog,
        spec: { name: "answer", domain: "customer", concurrency: 3 },
        handle: (event) =>
          Effect.gen(function* () {
            inHand += 1
            mostInHand = Math.max(mostInHand, inHand)
            yield* Effect.sleep("40 millis")
            seen.push(`${event.aggregateId} v${event.aggregateVersion}`)
            inHand -= 1
          }),
      }),
    )
    await waitFor(() => seen.length === 12)
    // All acknowledged: nothing pending or in hand on the server (the last ack follows the handler).
    const stream = Subjects.streamName(namespace, "customer")
    await waitFor(async () => {
      const info = await nats.jsm.consumers.info(stream, "answer")
      return info.num_ack_pending + info.num_pending === 0
    })
    await Effect.runPromise(Fiber.interrupt(fiber))
    // Side by side: more than one in hand at once, never more than the concurrency.
    expect(mostInHand).toBeGreaterThan(1)
    expect(mostInHand).toBeLessThanOrEqual(3)
    // In order within each ticket.
    for (const id of ["t1", "t2", "t3"])
      expect(seen.filter((s) => s.startsWith(`${id} `))).toEqual([
        `${id} v1`,
        `${id} v2`,
        `${id} v3`,
        `${id} v4`,
      ])
  })

  it("tells each delivery's store time and how long it waited behind the consumer's own work", async () => {
    // Each handling takes 120 ms. Tickets a, b, c open, a gets a second message, and ticket d opens
    // with two events in one commit.
    const play = async (name: string, concurrency: number, consumerFirst: boolean) => {
      const namespace = uniqueNamespace(name.replace("-", ""))
      await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
      const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
      const again = {
        type: "TicketMessageReceived",
        payload: {
          messageId: "m2",
          channel: "web",
          subject: "s",
          body: "again",
          orderId: null,
          contact: 2,
          reopened: false,
        },
      } as const
      const append = (id: string, events: ReadonlyArray<unknown>, expected = initialPosition) =>
        Effect.runPromise(
          log.append({
            aggregate: { domain: "customer", type: "ticket", id },
            expected,
            events: events as never,
            metadata,
          }),
        )
      const seen: Array<{ key: string; delivery: Delivery; startedAt: number }> = []
      const consume = () =>
        Effect.runFork(
          runDurableConsumer({
            nats,
            namespace,
            catalog: meshCatalog,
            spec: { name, domain: "customer", concurrency },
            handle: (event, delivery) =>
              Effect.suspend(() => {
                const startedAt = Date.now()
                return Effect.sleep("120 millis").pipe(
                  Effect.andThen(
                    Effect.sync(() =>
                      seen.push({
                        key: `${event.aggregateId} v${event.aggregateVersion}`,
                        delivery,
                        startedAt,
                      }),
                    ),
                  ),
                )
              }),
          }),
        )
      const fiber = consumerFirst ? consume() : undefined
      if (fiber !== undefined)
        await waitFor(async () =>
          (await nats.jsm.consumers.list(Subjects.streamName(namespace, "customer")).next()).some(
            (c) => c.name === name,
          ),
        )
      const before = Date.now()
      const a = await append("a", [opened("cust-a")])
      await append("b", [opened("cust-b")])
      await append("c", [opened("cust-c")])
      await append("a", [again], a.position)
      await append("d", [opened("cust-d"), again])
      const after = Date.now()
      const running = fiber ?? consume()
      await waitFor(() => seen.length === 6)
      await Effect.runPromise(Fiber.interrupt(running))
      for (const { key, delivery, startedAt } of seen) {
        expect(delivery.storedAt).toBeGreaterThanOrEqual(before - 1_000)
        expect(delivery.storedAt).toBeLessThanOrEqual(after + 1_000)
        expect(delivery.queuedMs).toBeGreaterThanOrEqual(0)
        // Whatever each waited, nearly all of it is put down to the consumer's own work or absence:
        // what is left is its way from a local server to a free consumer.
        expect(startedAt - delivery.storedAt - delivery.queuedMs, key).toBeLessThan(100)
      }
      return new Map(seen.map((s) => [s.key, s.delivery.queuedMs]))
    }

    // One at a time, running before anything is stored: the first waited behind nothing; the
    // others behind the handlings before them (each 120 ms), d's second event behind its first.
    const inTurn = await play("in-turn", 1, true)
    expect(inTurn.get("a v1")).toBeLessThan(60)
    expect(inTurn.get("d v2")).toBeGreaterThanOrEqual(inTurn.get("d v1")! + 100)
    expect(Math.max(...inTurn.values())).toBeGreaterThanOrEqual(300)
    // Eight at once: no ticket's first event waited; a's second waited behind its first at most
    // that handling (its slot was free: nothing counted twice); d's second event behind its first.
    const together = await play("together", 8, true)
    for (const first of ["a v1", "b v1", "c v1", "d v1"]) expect(together.get(first)).toBeLessThan(60)
    expect(together.get("a v2")).toBeLessThan(200)
    expect(together.get("d v2")).toBeGreaterThanOrEqual(100)
    // Started once the events were stored (a restart's backlog): they waited for the consumer.
    const backlog = await play("backlog", 8, false)
    for (const first of ["a v1", "b v1", "c v1", "d v1"]) expect(backlog.get(first)).toBeGreaterThan(0)
  })

  it("handles each event once though it holds them past the ack wait, and leaves nothing pending", async () => {
    const namespace = uniqueNamespace("held")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const ids = Array.from({ length: 8 }, (_, i) => `t${i}`)
    for (const id of ids)
      await Effect.runPromise(
        log.append({
          aggregate: { domain: "customer", type: "ticket", id },
          expected: initialPosition,
          events: [opened(id)],
          metadata,
        }),
      )
    // Two slots, 600 ms a handling, an ack wait of 1 s: the last tickets are held (pulled, waiting
    // for a slot) past it, so the server sends them again while the first copies wait or run.
    const handled: Array<string> = []
    const deliveries: Array<number> = []
    const spec = { name: "slow", domain: "customer" as const, concurrency: 2, ackWaitMs: 1_000 }
    const fiber = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: meshCatalog,
        spec,
        handle: (event, delivery) =>
          Effect.sync(() => {
            handled.push(event.aggregateId)
            deliveries.push(delivery.deliveryCount)
          }).pipe(Effect.andThen(Effect.sleep("600 millis"))),
      }),
    )
    const stream = Subjects.streamName(namespace, "customer")
    // Copies the server sent and that were still unsettled, at most, while the tickets were handled.
    let copies = 0
    await waitFor(async () => {
      const now = await nats.jsm.consumers.info(stream, spec.name).catch(() => undefined)
      copies = Math.max(copies, now?.num_redelivered ?? 0)
      return handled.length >= ids.length
    })
    // Long enough for any copy sent meanwhile to come, and for another ack wait to run out.
    await new Promise((r) => setTimeout(r, 2_500))
    const info = await nats.jsm.consumers.info(stream, spec.name)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(copies).toBeGreaterThan(0)
    expect([...handled].sort()).toEqual(ids)
    expect(deliveries.every((count) => count === 1)).toBe(true)
    expect(info.num_ack_pending).toBe(0)
    expect(info.num_redelivered).toBe(0)
  }, 30_000)

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

  it("acknowledges a commit of none of its types as it comes, never holding a slot behind its subject's reaction", async () => {
    const namespace = uniqueNamespace("own")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const message = (id: string, contact: number) =>
      ({
        type: "TicketMessageReceived",
        payload: {
          messageId: `${id}-m${contact}`,
          channel: "web",
          subject: "s",
          body: `m${contact}`,
          orderId: null,
          contact,
          reopened: false,
        },
      }) as const
    const append = (
      id: string,
      expected: { version: number; sequence: number },
      event: ReturnType<typeof message> | ReturnType<typeof opened>,
    ) =>
      Effect.runPromise(
        log.append({
          aggregate: { domain: "customer", type: "ticket", id },
          expected,
          events: [event],
          metadata,
        }),
      )
    // The reaction to t1 holds its slot until released; meanwhile t1 gets three commits it does not
    // react to (as a reaction's own writes come back), then t2 is opened.
    const release = Effect.runSync(Deferred.make<void>())
    const started: Array<string> = []
    const fiber = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: meshCatalog,
        spec: { name: "opener", domain: "customer", concurrency: 2 },
        reactsTo: new Set(["TicketOpened"]),
        handle: (event) =>
          Effect.gen(function* () {
            started.push(event.aggregateId)
            if (event.aggregateId === "t1") yield* Deferred.await(release)
          }),
      }),
    )
    let t1 = (await append("t1", initialPosition, opened("t1"))).position
    await waitFor(() => started.includes("t1"))
    for (const contact of [2, 3, 4]) t1 = (await append("t1", t1, message("t1", contact))).position
    await append("t2", initialPosition, opened("t2"))
    // With two slots, t2 is reacted to while t1's reaction is still in hand: t1's other commits
    // took no slot, and are acknowledged already.
    await waitFor(() => started.includes("t2"))
    const stream = Subjects.streamName(namespace, "customer")
    await waitFor(async () => (await nats.jsm.consumers.info(stream, "opener")).num_ack_pending === 1)
    Effect.runSync(Deferred.succeed(release, undefined))
    await waitFor(async () => (await nats.jsm.consumers.info(stream, "opener")).num_ack_pending === 0)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(started).toEqual(["t1", "t2"])
  })

  it("acknowledges a delivery the handler says it already holds without decoding or handling it", async () => {
    const namespace = uniqueNamespace("held")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const subjectOf = (id: string) => Subjects.aggregate(namespace, "customer", "ticket", id)
    await Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type: "ticket", id: "mine" },
        expected: initialPosition,
        events: [opened("mine")],
        metadata,
      }),
    )
    // Bytes no catalogue decodes, on the subject the handler holds: acknowledged as they are.
    await nats.js.publish(subjectOf("mine"), new TextEncoder().encode("not a commit"))
    await Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type: "ticket", id: "theirs" },
        expected: initialPosition,
        events: [opened("theirs")],
        metadata,
      }),
    )
    const seen: Array<string> = []
    const asked: Array<[string, number]> = []
    const fiber = Effect.runFork(
      runDurableConsumer({
        nats,
        namespace,
        catalog: meshCatalog,
        spec: { name: "holder", domain: "customer" },
        handle: (event) => Effect.sync(() => seen.push(event.aggregateId)),
        alreadyHandled: (subject, sequence) => {
          asked.push([subject, sequence])
          return subject === subjectOf("mine")
        },
      }),
    )
    const stream = Subjects.streamName(namespace, "customer")
    await waitFor(() => seen.length === 1)
    await waitFor(async () => (await nats.jsm.consumers.info(stream, "holder")).ack_floor.stream_seq === 3)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(seen).toEqual(["theirs"])
    // Asked as each came; the one it did not hold, again at its turn (the handler may hold it by then).
    expect(asked).toEqual([
      [subjectOf("mine"), 1],
      [subjectOf("mine"), 2],
      [subjectOf("theirs"), 3],
      [subjectOf("theirs"), 3],
    ])
    expect((await Effect.runPromise(readDeadLetters(nats, namespace))).length).toBe(0)
  })
})

describe("backoffDelay", () => {
  it("grows exponentially up to the cap", () => {
    const b = { initialMs: 100, maxMs: 1_000, factor: 2 }
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(b, n))).toEqual([100, 200, 400, 800, 1_000, 1_000])
  })
})
