import {
  type MeshEvent,
  makeCatalog,
  meshCatalog,
  meshEventDefinitions,
  Subjects,
  TicketOpened,
} from "@mesh/contracts"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect, Exit, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EventLogError } from "./errors.ts"
import { type AggregateRef, type EventLog, initialPosition, makeEventLog } from "./eventLog.ts"
import { type NatsHandles, openNats } from "./natsClient.ts"
import { applyTopology, declareTopology } from "./topology.ts"
import { parentSpanOf } from "./traceContext.ts"

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

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const runExit = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromiseExit(effect)

const freshLog = async (): Promise<EventLog<(typeof meshCatalog.definitions)[number]>> => {
  const namespace = uniqueNamespace("el")
  await run(applyTopology(nats.jsm, declareTopology({ namespace })))
  return makeEventLog({ nats, catalog: meshCatalog, namespace })
}

const metadata = {
  correlationId: "corr-1",
  causationId: null,
  actor: { kind: "agent", id: "customer-ops" },
} as const

const ticket = (id: string): AggregateRef => ({ domain: "customer", type: "ticket", id })

const opened = {
  type: "TicketOpened",
  payload: {
    tenantId: "acme",
    customerId: "c-1",
    channel: "chat",
    subject: "Where is my order?",
    body: "It has been a week.",
    orderId: "o-1",
  },
} as const

const subjectMessages = async (log: { readonly namespace: string }, id: string) => {
  const stream = Subjects.streamName(log.namespace, "customer")
  const info = await nats.jsm.streams.info(stream, { subjects_filter: ">" })
  return info.state.subjects?.[Subjects.aggregate(log.namespace, "customer", "ticket", id)] ?? 0
}

/** The stream sequences of an aggregate's commits, in order. */
const subjectSequences = async (log: { readonly namespace: string }, id: string) => {
  const stream = Subjects.streamName(log.namespace, "customer")
  const subject = Subjects.aggregate(log.namespace, "customer", "ticket", id)
  const sequences: Array<number> = []
  let next = 1
  for (;;) {
    const msg = await nats.jsm.direct.getMessage(stream, { seq: next, next_by_subj: subject })
    if (msg === null) return sequences
    sequences.push(msg.seq)
    next = msg.seq + 1
  }
}

const failureOf = (exit: Exit.Exit<unknown, EventLogError>): EventLogError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") throw new Error("expected a typed failure")
  return error.error
}

describe("append", () => {
  it("lets exactly one of two concurrent writers win; the loser's error names both versions", async () => {
    const log = await freshLog()
    await run(log.append({ aggregate: ticket("t1"), expected: initialPosition, events: [opened], metadata }))
    const loaded = await run(log.load(ticket("t1")))
    const triage = (confidence: number) => ({
      type: "TicketTriaged" as const,
      payload: {
        intent: "order_status" as const,
        sentiment: "neutral" as const,
        priority: "normal" as const,
        confidence,
        decisionId: `d-${confidence}`,
      },
    })
    const [a, b] = await Promise.all([
      runExit(
        log.append({ aggregate: ticket("t1"), expected: loaded.position, events: [triage(0.5)], metadata }),
      ),
      runExit(
        log.append({ aggregate: ticket("t1"), expected: loaded.position, events: [triage(0.9)], metadata }),
      ),
    ])
    const outcomes = [a, b]
    expect(outcomes.filter(Exit.isSuccess)).toHaveLength(1)
    const loser = failureOf(outcomes.find(Exit.isFailure)!)
    expect(loser.reason).toMatchObject({
      _tag: "ConcurrencyConflict",
      aggregateId: "t1",
      expectedVersion: 1,
      actualVersion: 2,
    })
    expect(loser.message).toContain("expected version 1")
    expect(loser.message).toContain("at version 2")
    const after = await run(log.load(ticket("t1")))
    expect(after.events.map((e) => e.aggregateVersion)).toEqual([1, 2])
  })

  it("stores a republished event id once", async () => {
    const log = await freshLog()
    const eventId = "01936b2e-0000-7000-8000-000000000001"
    const request = {
      aggregate: ticket("t2"),
      expected: initialPosition,
      events: [{ ...opened, eventId }],
      metadata,
    }
    const first = await run(log.append(request))
    const second = await run(log.append(request))
    expect(first.duplicate).toBe(false)
    expect(second.duplicate).toBe(true)
    // Past the server's dedup window the expected sequence still catches the retry.
    const third = await run(log.append({ ...request, expected: initialPosition }))
    expect(third.duplicate).toBe(true)
    expect(await subjectMessages(log, "t2")).toBe(1)
    const loaded = await run(log.load(ticket("t2")))
    expect(loaded.events.map((e) => e.eventId)).toEqual([eventId])
  })

  it("answers a duplicate with the envelopes the log holds, inside the server's dedup window and past it", async () => {
    const log = await freshLog()
    const stream = Subjects.streamName(log.namespace, "customer")
    // The first event's id is the commit's message id; the second's is left to the log, so a
    // retry builds it afresh, as it does the timestamps.
    const request = {
      aggregate: ticket("t10"),
      expected: initialPosition,
      events: [
        { ...opened, eventId: "01936b2e-0000-7000-8000-000000000010" },
        { type: "TicketEscalated", payload: { reason: "angry", queue: "tier-2" } },
      ],
      metadata,
    } as const
    const first = await run(log.append(request))
    await new Promise((r) => setTimeout(r, 5))
    const inWindow = await run(log.append(request))
    expect(inWindow.duplicate).toBe(true)
    expect(inWindow.events).toEqual(first.events)
    expect(inWindow.position).toEqual(first.position)

    await nats.jsm.streams.update(stream, { duplicate_window: 100_000_000 })
    await new Promise((r) => setTimeout(r, 300))
    const pastWindow = await run(log.append(request))
    expect(pastWindow.duplicate).toBe(true)
    expect(pastWindow.events).toEqual(first.events)
    expect(pastWindow.position).toEqual(first.position)
    expect((await run(log.load(ticket("t10")))).events).toEqual(first.events)
    expect(await subjectMessages(log, "t10")).toBe(1)
  })

  it("writes the current span's trace context into the envelopes; the caller's wins", async () => {
    const log = await freshLog()
    const { span, appended } = await run(
      Effect.gen(function* () {
        const span = yield* Effect.currentSpan
        const appended = yield* log.append({
          aggregate: ticket("t11"),
          expected: initialPosition,
          events: [opened],
          metadata,
        })
        return { span, appended }
      }).pipe(Effect.withSpan("open ticket")),
    )
    const stored = (await run(log.load(ticket("t11")))).events[0]!
    expect(stored.trace).toEqual({ traceparent: `00-${span.traceId}-${span.spanId}-01` })
    expect(appended.events[0]!.trace).toEqual(stored.trace)

    // Continuing an event's trace carries its tracestate on.
    const given = {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "vendor=opaque",
    }
    const continued = await run(
      log
        .append({ aggregate: ticket("t12"), expected: initialPosition, events: [opened], metadata })
        .pipe(Effect.withSpan("react", { parent: parentSpanOf(given)! })),
    )
    expect(continued.events[0]!.trace).toMatchObject({ tracestate: "vendor=opaque" })
    expect(continued.events[0]!.trace!.traceparent).toMatch(
      /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/,
    )
    expect(continued.events[0]!.trace!.traceparent).not.toBe(given.traceparent)

    const explicit = await run(
      log
        .append({
          aggregate: ticket("t13"),
          expected: initialPosition,
          events: [opened],
          metadata: { ...metadata, trace: given },
        })
        .pipe(Effect.withSpan("open ticket")),
    )
    expect(explicit.events[0]!.trace).toEqual(given)
    const untraced = await run(
      log.append({ aggregate: ticket("t14"), expected: initialPosition, events: [opened], metadata }),
    )
    expect(untraced.events[0]!.trace).toBeUndefined()
  })

  it("rejects an event that fails its schema before publishing, naming the field", async () => {
    const log = await freshLog()
    const exit = await runExit(
      log.append({
        aggregate: ticket("t3"),
        expected: initialPosition,
        events: [
          { type: "TicketOpened", payload: { ...opened.payload, customerId: 42 as unknown as string } },
        ],
        metadata,
      }),
    )
    const error = failureOf(exit)
    expect(error.reason._tag).toBe("InvalidEvent")
    expect(error.message).toContain("customerId")
    expect(await subjectMessages(log, "t3")).toBe(0)
  })

  it("refuses an event of another aggregate type", async () => {
    const log = await freshLog()
    const exit = await runExit(
      log.append({
        aggregate: { domain: "content", type: "listing", id: "l1" },
        expected: initialPosition,
        events: [opened],
        metadata,
      }),
    )
    expect(failureOf(exit).message).toContain("belongs to customer/ticket")
  })

  it("commits a multi-event command all or nothing", async () => {
    const log = await freshLog()
    const escalate = { type: "TicketEscalated", payload: { reason: "angry", queue: "tier-2" } } as const
    const broken = { type: "TicketEscalated", payload: { reason: "", queue: "tier-2" } } as const
    const rejected = await runExit(
      log.append({
        aggregate: ticket("t4"),
        expected: initialPosition,
        events: [opened, escalate, broken],
        metadata,
      }),
    )
    expect(failureOf(rejected).message).toContain("reason")
    expect(await subjectMessages(log, "t4")).toBe(0)

    const committed = await run(
      log.append({
        aggregate: ticket("t4"),
        expected: initialPosition,
        events: [opened, escalate, escalate],
        metadata,
      }),
    )
    expect(committed.position.version).toBe(3)
    expect(await subjectMessages(log, "t4")).toBe(1)

    // A competing three-event commit on the stale position lands none of its events.
    const stale = await runExit(
      log.append({
        aggregate: ticket("t4"),
        expected: initialPosition,
        events: [opened, escalate, escalate],
        metadata,
      }),
    )
    expect(failureOf(stale).reason).toMatchObject({ _tag: "ConcurrencyConflict", actualVersion: 3 })
    const loaded = await run(log.load(ticket("t4")))
    expect(loaded.events.map((e) => e.aggregateVersion)).toEqual([1, 2, 3])
  })

  it("appends with expected 'any' at the right version", async () => {
    const log = await freshLog()
    await run(log.append({ aggregate: ticket("t5"), expected: "any", events: [opened], metadata }))
    const second = await run(
      log.append({
        aggregate: ticket("t5"),
        expected: "any",
        events: [{ type: "TicketResolved", payload: { resolution: "answered" } }],
        metadata,
      }),
    )
    expect(second.position.version).toBe(2)
  })
})

describe("load", () => {
  it("upcasts an event written at an old schema version", async () => {
    const log = await freshLog()
    // An old writer's v1 TicketOpened: no channel field yet.
    const v1 = {
      eventId: "01936b2e-0000-7000-8000-0000000000aa",
      type: "TicketOpened",
      schemaVersion: 1,
      aggregateType: "ticket",
      aggregateId: "t6",
      aggregateVersion: 1,
      occurredAt: "2025-01-01T00:00:00.000Z",
      correlationId: "c",
      causationId: null,
      actor: { kind: "system", id: "legacy" },
      payload: { tenantId: "acme", customerId: "c-9", subject: "hi", body: "old", orderId: null },
    }
    await nats.js.publish(
      Subjects.aggregate(log.namespace, "customer", "ticket", "t6"),
      new TextEncoder().encode(JSON.stringify([v1])),
    )
    const loaded = await run(log.load(ticket("t6")))
    const event = loaded.events[0] as MeshEvent
    expect(event.schemaVersion).toBe(TicketOpened.version)
    expect(event.type === "TicketOpened" && event.payload.channel).toBe("email")
  })

  it("reads a long history and a tail after a position", async () => {
    const log = await freshLog()
    let position = (
      await run(
        log.append({ aggregate: ticket("t7"), expected: initialPosition, events: [opened], metadata }),
      )
    ).position
    for (let i = 0; i < 40; i++) {
      position = (
        await run(
          log.append({
            aggregate: ticket("t7"),
            expected: position,
            events: [{ type: "TicketEscalated", payload: { reason: `r${i}`, queue: "q" } }],
            metadata,
          }),
        )
      ).position
    }
    // Interleave another aggregate so that stream sequences and versions differ.
    await run(
      log.append({ aggregate: ticket("other"), expected: initialPosition, events: [opened], metadata }),
    )
    const all = await run(log.load(ticket("t7")))
    expect(all.events).toHaveLength(41)
    expect(all.position).toEqual(position)
    const middle = { version: 20, sequence: all.position.sequence - 21 }
    const tail = await run(log.load(ticket("t7"), middle))
    expect(tail.events.map((e) => e.aggregateVersion)).toEqual(Array.from({ length: 21 }, (_, i) => 21 + i))
    const empty = await run(log.load(ticket("never")))
    expect(empty).toEqual({ events: [], position: initialPosition })
  })
})

describe("reads leave nothing on the server", () => {
  it("loads interleaved aggregates, short and long, in order, and keeps no consumer once a read is done", async () => {
    const log = await freshLog()
    const escalated = (i: number) => ({
      type: "TicketEscalated" as const,
      payload: { reason: `r${i}`, queue: "q" },
    })
    const positions = new Map<string, { version: number; sequence: number }>()
    // Three aggregates written turn by turn, so that each one's commits are spread over the stream:
    // "short" has 3 commits (read by direct gets), "long" 30 (too many: an ordered consumer).
    for (let i = 0; i < 30; i++) {
      for (const id of ["short", "long", "noise"]) {
        if (id === "short" && i >= 3) continue
        const expected = positions.get(id) ?? initialPosition
        const result = await run(
          log.append({
            aggregate: ticket(id),
            expected,
            events: [i === 0 ? opened : escalated(i)],
            metadata,
          }),
        )
        positions.set(id, result.position)
      }
    }
    const short = await run(log.load(ticket("short")))
    expect(short.events.map((e) => e.aggregateVersion)).toEqual([1, 2, 3])
    expect(short.position).toEqual(positions.get("short"))
    const long = await run(log.load(ticket("long")))
    expect(long.events.map((e) => e.aggregateVersion)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(long.events.every((e) => e.aggregateId === "long")).toBe(true)
    expect(long.position).toEqual(positions.get("long"))
    // A tail after a position in the middle of the long one.
    const middle = long.events[9]!
    const tail = await run(
      log.load(ticket("long"), {
        version: middle.aggregateVersion,
        sequence: (await subjectSequences(log, "long"))[9]!,
      }),
    )
    expect(tail.events.map((e) => e.aggregateVersion)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11))
    // A short tail of the long one (5 events) is read by direct gets.
    const shortTail = await run(
      log.load(ticket("long"), { version: 25, sequence: (await subjectSequences(log, "long"))[24]! }),
    )
    expect(shortTail.events.map((e) => e.aggregateVersion)).toEqual([26, 27, 28, 29, 30])
    await run(log.follow("customer").pipe(Stream.take(5), Stream.runDrain))
    // Deleting a consumer is not awaited by the read: the server forgets it a moment later.
    const stream = Subjects.streamName(log.namespace, "customer")
    await expect
      .poll(async () => (await nats.jsm.streams.info(stream)).state.consumer_count, { timeout: 5_000 })
      .toBe(0)
  })
})

describe("a stream that refuses direct gets", () => {
  it("still loads an aggregate whole, through an ordered consumer", async () => {
    const log = await freshLog()
    const stream = Subjects.streamName(log.namespace, "customer")
    const info = await nats.jsm.streams.info(stream)
    // Drifted from its declaration (an operator's edit): the loads' direct gets find no responder.
    await nats.jsm.streams.update(stream, { ...info.config, allow_direct: false })
    let position = initialPosition
    for (let i = 0; i < 3; i++) {
      const events = [
        i === 0 ? opened : { type: "TicketEscalated" as const, payload: { reason: `r${i}`, queue: "q" } },
      ]
      position = (
        await run(log.append({ aggregate: ticket("drifted"), expected: position, events, metadata }))
      ).position
    }
    const loaded = await run(log.load(ticket("drifted")))
    expect(loaded.events.map((e) => e.aggregateVersion)).toEqual([1, 2, 3])
    expect(loaded.position).toEqual(position)
  })
})

describe("a reader older than the writer", () => {
  // An older build's catalogue: it has never heard of TicketEscalated.
  const olderCatalog = makeCatalog(meshEventDefinitions.filter((d) => d.type !== "TicketEscalated"))
  const escalate = { type: "TicketEscalated", payload: { reason: "angry", queue: "tier-2" } } as const

  it("follows past event types it does not know, naming them, and still fails on a known type's bad payload", async () => {
    const log = await freshLog()
    const older = makeEventLog({ nats, catalog: olderCatalog, namespace: log.namespace })
    await run(log.append({ aggregate: ticket("a"), expected: "any", events: [opened], metadata }))
    await run(log.append({ aggregate: ticket("a"), expected: "any", events: [escalate], metadata }))
    await run(log.append({ aggregate: ticket("b"), expected: "any", events: [opened, escalate], metadata }))
    const commits = await run(older.follow("customer").pipe(Stream.take(3), Stream.runCollect))
    expect(commits.map((c) => [c.sequence, c.events.map((e) => e.type), c.unknownTypes])).toEqual([
      [1, ["TicketOpened"], []],
      [2, [], ["TicketEscalated"]],
      [3, ["TicketOpened"], ["TicketEscalated"]],
    ])

    // A known type whose payload does not decode is still an error, as is a version beyond its upcasters.
    const stored = JSON.parse(
      new TextDecoder().decode(
        (await nats.jsm.streams.getMessage(Subjects.streamName(log.namespace, "customer"), { seq: 1 }))!.data,
      ),
    )
    for (const broken of [
      { ...stored[0], aggregateId: "c", payload: { ...stored[0].payload, channel: "fax" } },
      { ...stored[0], aggregateId: "d", schemaVersion: TicketOpened.version + 1 },
    ]) {
      const { seq } = await nats.js.publish(
        Subjects.aggregate(log.namespace, "customer", "ticket", broken.aggregateId),
        new TextEncoder().encode(JSON.stringify([broken])),
      )
      const exit = await runExit(older.follow("customer", { fromSequence: seq }).pipe(Stream.runHead))
      expect(failureOf(exit).reason).toMatchObject({ _tag: "UndecodableMessage", sequence: seq })
    }
  })

  it("refuses to load a history holding a type it does not know, yet appends after it with 'any'", async () => {
    const log = await freshLog()
    const older = makeEventLog({ nats, catalog: olderCatalog, namespace: log.namespace })
    await run(log.append({ aggregate: ticket("a"), expected: "any", events: [opened], metadata }))
    await run(log.append({ aggregate: ticket("a"), expected: "any", events: [escalate], metadata }))
    await run(log.append({ aggregate: ticket("b"), expected: "any", events: [opened, escalate], metadata }))
    await run(log.append({ aggregate: ticket("c"), expected: "any", events: [escalate, opened], metadata }))
    for (const id of ["a", "b", "c"]) {
      const error = failureOf(await runExit(older.load(ticket(id))))
      expect(error.reason._tag).toBe("UndecodableMessage")
      expect(error.message).toContain('unknown event type "TicketEscalated", written by a newer build')
    }
    // Appending where the aggregate stands needs only the last event's version, known type or not.
    const resolved = await run(
      older.append({
        aggregate: ticket("a"),
        expected: "any",
        events: [{ type: "TicketResolved", payload: { resolution: "answered" } }],
        metadata,
      }),
    )
    expect(resolved.position.version).toBe(3)
    expect((await run(log.load(ticket("a")))).events.map((e) => e.type)).toEqual([
      "TicketOpened",
      "TicketEscalated",
      "TicketResolved",
    ])
  })
})

describe("the stream", () => {
  it("refuses delete and purge", async () => {
    const log = await freshLog()
    await run(log.append({ aggregate: ticket("t8"), expected: initialPosition, events: [opened], metadata }))
    const stream = Subjects.streamName(log.namespace, "customer")
    await expect(nats.jsm.streams.deleteMessage(stream, 1)).rejects.toThrow(/delete/i)
    await expect(nats.jsm.streams.purge(stream)).rejects.toThrow(/purge/i)
    expect(await subjectMessages(log, "t8")).toBe(1)
  })

  it("is an edge error, not a crash, when a stored message is not an event", async () => {
    const log = await freshLog()
    await nats.js.publish(
      Subjects.aggregate(log.namespace, "customer", "ticket", "t9"),
      new TextEncoder().encode("{"),
    )
    const exit = await runExit(log.load(ticket("t9")))
    const error = failureOf(exit)
    expect(error).toBeInstanceOf(EventLogError)
    expect(error.reason._tag).toBe("UndecodableMessage")
    expect(error.message).toMatch(/malformed commit/)
  })
})
