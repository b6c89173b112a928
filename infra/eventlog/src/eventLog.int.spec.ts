import { type MeshEvent, meshCatalog, Subjects, TicketOpened } from "@mesh/contracts"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EventLogError } from "./errors.ts"
import { type AggregateRef, type EventLog, initialPosition, makeEventLog } from "./eventLog.ts"
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
