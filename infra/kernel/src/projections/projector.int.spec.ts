import { Subjects } from "@mesh/contracts"
import { type EventLog, type NatsHandles, openNats, readDeadLetters } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer } from "@mesh/stack"
import { Effect, Fiber } from "effect"
import { type Kysely, sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProjectionError } from "./errors.ts"
import { makeProjector, type RebuildReport } from "./projector.ts"
import {
  caughtUp,
  failureOf,
  freshEventLog,
  openTestPGlite,
  openTestPostgres,
  type TestDatabase,
  waitUntil,
} from "./testing/harness.ts"
import {
  doubleApplied,
  type MeshDefinition,
  type TicketProjectionOptions,
  ticketProjection,
  ticketReadModelChecksum,
} from "./testing/ticketProjection.ts"
import { eventCount, makeTicketAppender, ticketTraffic } from "./testing/traffic.ts"

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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const count = async (db: Kysely<unknown>, schema: string, table: string, where = sql`true`) =>
  (
    await sql<{ n: number }>`select count(*)::int as n from ${sql.id(schema, table)} where ${where}`.execute(
      db,
    )
  ).rows[0]!.n

const appendAll = async (log: EventLog<MeshDefinition>, options: Parameters<typeof ticketTraffic>[0]) => {
  const appender = makeTicketAppender(log)
  for (const round of ticketTraffic(options)) await run(appender.appendRound(round))
  return appender
}

// The same read-model code runs on real PostgreSQL and on embedded PGlite (the demo's default).
describe.each([
  { dialect: "postgres", open: openTestPostgres },
  { dialect: "pglite", open: openTestPGlite },
])("projections on $dialect", ({ open }) => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await open()
  })
  afterAll(async () => {
    await database?.close()
  })

  /** Projects the log into a new schema from zero and returns the read model's checksum. */
  const freshChecksum = async (log: EventLog<MeshDefinition>, options: TicketProjectionOptions = {}) => {
    const schema = database.newSchema()
    const projector = makeProjector({
      projection: ticketProjection(options),
      db: database.db,
      schema,
      eventLog: log,
    })
    const fiber = Effect.runFork(projector.run)
    await caughtUp(projector, [fiber])
    await run(Fiber.interrupt(fiber))
    return ticketReadModelChecksum(database.db, schema)
  }

  it("measures a projection narrowed to one subject against that subject's last commit, not the stream's head", async () => {
    const log = await freshEventLog(nats)
    const schema = database.newSchema()
    await appendAll(log, { events: 120, tickets: 12, prefix: "f" })
    // Other writers' commits land after it: the stream's head is never this projection's.
    await appendAll(log, { events: 60, tickets: 6, prefix: "g" })
    const only = Subjects.aggregate(log.namespace, "customer", "ticket", "f-3")
    const projection = ticketProjection()
    const projector = makeProjector({
      projection: { ...projection, streams: [{ domain: "customer", filterSubject: only }] },
      db: database.db,
      schema,
      eventLog: log,
    })
    await run(projector.setup)
    const fiber = Effect.runFork(projector.run)
    await caughtUp(projector, [fiber])
    const status = await run(projector.status)
    await run(Fiber.interrupt(fiber))
    const streamHead = await run(log.headSequence("customer"))
    const [customer] = status.streams
    expect(customer?.lag).toBe(0)
    expect(customer?.head).toBe(await run(log.headSequence("customer", only)))
    expect(customer?.head).toBeLessThan(streamHead)
    expect(customer?.checkpoint).toBe(customer?.head)
    // It holds that ticket's events and no other's.
    const tickets = await sql<{
      ticket_id: string
    }>`select ticket_id from ${sql.id(schema, "tickets")}`.execute(database.db)
    expect(tickets.rows.map((r) => r.ticket_id)).toEqual(["f-3"])
  })

  it("catches up from zero and follows live in one loop, in batches, exposing lag", async () => {
    const log = await freshEventLog(nats)
    const schema = database.newSchema()
    await appendAll(log, { events: 400, tickets: 40, prefix: "a" })
    const batches: Array<number> = []
    const projector = makeProjector({
      projection: ticketProjection({ batchSize: 32 }),
      db: database.db,
      schema,
      eventLog: log,
      afterCommit: (outcome) => Effect.sync(() => batches.push(outcome.commits)),
    })
    const setup = await run(projector.setup)
    expect(setup).toEqual({ created: true, stale: false, liveVersion: 1 })
    const before = await run(projector.status)
    const head = await run(log.headSequence("customer"))
    expect(before.streams).toEqual([
      {
        domain: "customer",
        stream: Subjects.streamName(log.namespace, "customer"),
        checkpoint: 0,
        head,
        lag: head,
      },
    ])
    expect(before.lag).toBe(head)

    const fiber = Effect.runFork(projector.run)
    await caughtUp(projector, [fiber])
    expect(await count(database.db, schema, "ticket_ledger")).toBe(400)
    expect(Math.max(...batches)).toBeLessThanOrEqual(32)
    expect(batches.length).toBeLessThan(head)

    // Live: new commits arrive while the projector runs.
    await appendAll(log, { events: 150, tickets: 10, prefix: "b" })
    await caughtUp(projector, [fiber])
    await run(Fiber.interrupt(fiber))
    expect(await count(database.db, schema, "ticket_ledger")).toBe(550)
    const applied = await sql<{
      n: number
    }>`select sum(events_applied)::int as n from ${sql.id(schema, "tickets")}`.execute(database.db)
    expect(applied.rows[0]!.n).toBe(550)
    expect(await doubleApplied(database.db, schema)).toEqual([])
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(await freshChecksum(log))
  })

  it("lets two replicas run at once without double-applying an event", async () => {
    const log = await freshEventLog(nats)
    const schema = database.newSchema()
    await appendAll(log, { events: 300, tickets: 30, prefix: "a" })
    const replica = () =>
      makeProjector({
        projection: ticketProjection({ batchSize: 16 }),
        db: database.db,
        schema,
        eventLog: log,
      })
    const [one, two] = [replica(), replica()]
    const fibers = [Effect.runFork(one.run), Effect.runFork(two.run)]
    await appendAll(log, { events: 300, tickets: 30, prefix: "b" })
    await caughtUp(one, fibers)
    await run(Fiber.interruptAll(fibers))
    expect(await doubleApplied(database.db, schema)).toEqual([])
    expect(await count(database.db, schema, "ticket_ledger")).toBe(600)
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(await freshChecksum(log))
  })

  /** 60 events, then a two-event commit whose second event poisons the handler, then 30 more. */
  const poisonedLog = async () => {
    const log = await freshEventLog(nats)
    const appender = await appendAll(log, { events: 60, tickets: 6, prefix: "a" })
    await run(
      appender.appendCommit({
        ticketId: "a-0",
        events: [
          { type: "TicketEscalated", payload: { reason: "fine", queue: "q" } },
          { type: "TicketEscalated", payload: { reason: "poison", queue: "q" } },
        ],
      }),
    )
    const poisonSequence = await run(log.headSequence("customer"))
    await appendAll(log, { events: 30, tickets: 3, prefix: "b" })
    return { log, poisonSequence }
  }

  it("stops on a failing event with an error naming projection, stream, sequence and type, keeping what came before", async () => {
    const { log, poisonSequence } = await poisonedLog()
    const schema = database.newSchema()
    const projector = makeProjector({
      projection: ticketProjection({ name: "strict-tickets", poisonReason: "poison" }),
      db: database.db,
      schema,
      eventLog: log,
    })
    const stream = Subjects.streamName(log.namespace, "customer")
    for (const attempt of [1, 2]) {
      const error = failureOf(await Effect.runPromiseExit(projector.run))
      expect(error).toBeInstanceOf(ProjectionError)
      expect(error.reason).toMatchObject({
        _tag: "HandlerFailed",
        stream,
        sequence: poisonSequence,
        eventType: "TicketEscalated",
      })
      expect(error.message).toContain(`projection strict-tickets failed on TicketEscalated`)
      expect(error.message).toContain(`${stream}#${poisonSequence}`)
      expect(error.message).toContain("poisoned escalation")
      const status = await run(projector.status)
      // Everything before the poisoned commit is applied and checkpointed; nothing of it or after.
      expect(status.streams[0]!.checkpoint, `attempt ${attempt}`).toBe(poisonSequence - 1)
      expect(await count(database.db, schema, "ticket_ledger")).toBe(60)
      expect(await count(database.db, schema, "ticket_ledger", sql`sequence >= ${poisonSequence}`)).toBe(0)
    }
  })

  it("parks a failing commit in the dead-letter stream and goes on, under the dead-letter policy", async () => {
    const { log, poisonSequence } = await poisonedLog()
    const schema = database.newSchema()
    const projector = makeProjector({
      projection: ticketProjection({
        name: "lenient-tickets",
        onFailure: "dead-letter",
        poisonReason: "poison",
      }),
      db: database.db,
      schema,
      eventLog: log,
      nats,
    })
    const fiber = Effect.runFork(projector.run)
    await caughtUp(projector, [fiber])
    await run(Fiber.interrupt(fiber))
    const stream = Subjects.streamName(log.namespace, "customer")
    const letters = await run(readDeadLetters(nats, log.namespace))
    expect(letters).toHaveLength(1)
    const original = await nats.jsm.streams.getMessage(stream, { seq: poisonSequence })
    expect(letters[0]).toMatchObject({
      originalStream: stream,
      originalSequence: poisonSequence,
      originalSubject: Subjects.aggregate(log.namespace, "customer", "ticket", "a-0"),
      consumer: "lenient-tickets",
      deliveries: 1,
    })
    expect(letters[0]!.reason).toContain("TicketEscalated")
    expect(letters[0]!.reason).toContain("poisoned escalation")
    expect(Buffer.from(letters[0]!.data).equals(Buffer.from(original!.data))).toBe(true)
    // The whole commit was parked (its first, healthy event too); every other event is applied.
    expect(await count(database.db, schema, "ticket_ledger")).toBe(90)
    expect(await count(database.db, schema, "ticket_ledger", sql`sequence = ${poisonSequence}`)).toBe(0)
  })

  it("rebuilds from zero under live traffic and swaps in without a gap while the live model keeps serving", async () => {
    const log = await freshEventLog(nats)
    const schema = database.newSchema()
    // More traffic than the rebuild needs: it flows until a few rounds after the swap, so that the
    // swap happens under it however fast or slow this machine is at the moment.
    const rounds = ticketTraffic({ events: 12_000, tickets: 20, prefix: "r" })
    const appender = makeTicketAppender(log)
    // Enough history that even on a fast machine the rebuild outlasts a few rounds of traffic.
    const upfront = 40
    for (const round of rounds.slice(0, upfront)) await run(appender.appendRound(round))
    let liveCheckpoint = 0
    const projector = makeProjector({
      projection: ticketProjection({ batchSize: 16, lingerMs: 5 }),
      db: database.db,
      schema,
      eventLog: log,
      afterCommit: (outcome) =>
        Effect.sync(() => {
          for (const sequence of outcome.checkpoints.values())
            liveCheckpoint = Math.max(liveCheckpoint, sequence)
        }),
    })
    const live = Effect.runFork(projector.run)
    await caughtUp(projector, [live])
    const oid = async () =>
      (
        await sql<{ oid: number }>`select ${`${schema}.ticket_ledger`}::regclass::oid::int as oid`.execute(
          database.db,
        )
      ).rows[0]!.oid
    const oidBefore = await oid()

    let appendedRounds = upfront
    let roundsAtSwap: number | undefined
    const roundsAfterSwap = 10
    // Live traffic the live projector keeps up with (under traffic that outruns it, the live model
    // itself falls ever further behind, and no rebuild can catch up with it): each round waits until
    // the previous one is applied, or 250 ms at most, so that appends go on while the swap pauses it.
    const traffic = (async () => {
      for (const round of rounds.slice(upfront)) {
        if (roundsAtSwap !== undefined && appendedRounds >= roundsAtSwap + roundsAfterSwap) return
        await run(appender.appendRound(round))
        appendedRounds++
        const head = await run(log.headSequence("customer"))
        const deadline = performance.now() + 250
        while (liveCheckpoint < head && performance.now() < deadline) await sleep(5)
        await sleep(10)
      }
    })()
    // Readers keep reading the live model throughout; what they see never goes backwards.
    const seen: Array<number> = []
    let reading = true
    const reader = (async () => {
      while (reading) {
        seen.push(await count(database.db, schema, "ticket_ledger"))
        await sleep(20)
      }
    })()
    // The rebuild starts once the traffic is flowing (however long its first appends take here).
    await waitUntil(() => appendedRounds >= upfront + 3, { timeoutMs: 30_000 })
    const roundsAtStart = appendedRounds
    let report: RebuildReport
    try {
      report = await run(projector.rebuild({ catchUpLag: 32 }))
    } finally {
      roundsAtSwap = appendedRounds
      await traffic
      reading = false
      await reader
    }
    await caughtUp(projector, [live])
    await run(Fiber.interrupt(live))

    expect(roundsAtStart, "the traffic was flowing when the rebuild started").toBeGreaterThan(upfront)
    expect(roundsAtSwap, "the traffic flowed during the rebuild").toBeGreaterThan(roundsAtStart)
    expect(roundsAtSwap, "the traffic was still flowing when the swap happened").toBeLessThan(appendedRounds)
    expect(report.events).toBeGreaterThan(0)
    expect(await oid()).not.toBe(oidBefore)
    expect(seen.length).toBeGreaterThan(2)
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
    const head = await run(log.headSequence("customer"))
    const positions = await sql<{ commits: number; min: number; max: number; events: number }>`
      select count(distinct sequence)::int as commits, min(sequence)::int as min, max(sequence)::int as max,
             count(*)::int as events
      from ${sql.id(schema, "ticket_ledger")}`.execute(database.db)
    expect(positions.rows[0]).toEqual({
      commits: head,
      min: 1,
      max: head,
      events: eventCount(rounds.slice(0, appendedRounds)),
    })
    expect(await doubleApplied(database.db, schema)).toEqual([])
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(await freshChecksum(log))
    const status = await run(projector.status)
    expect(status.liveVersion).toBe(1)
  })

  it("rebuilds a projection whose version changed before it serves", async () => {
    const log = await freshEventLog(nats)
    const schema = database.newSchema()
    await appendAll(log, { events: 120, tickets: 12, prefix: "v" })
    const v1 = makeProjector({
      projection: ticketProjection({ version: 1 }),
      db: database.db,
      schema,
      eventLog: log,
    })
    const first = Effect.runFork(v1.run)
    await caughtUp(v1, [first])
    await run(Fiber.interrupt(first))

    const v2 = makeProjector({
      projection: ticketProjection({ version: 2 }),
      db: database.db,
      schema,
      eventLog: log,
    })
    expect(await run(v2.setup)).toEqual({ created: false, stale: true, liveVersion: 1 })
    const refusing = makeProjector({
      projection: ticketProjection({ version: 2 }),
      db: database.db,
      schema,
      eventLog: log,
      onStaleVersion: "fail",
    })
    expect(failureOf(await Effect.runPromiseExit(refusing.run)).reason._tag).toBe("Misconfigured")
    const second = Effect.runFork(v2.run)
    await waitUntil(async () => (await run(v2.status)).liveVersion === 2, { watched: [second] })
    await appendAll(log, { events: 30, tickets: 3, prefix: "w" })
    await caughtUp(v2, [second])
    await run(Fiber.interrupt(second))
    expect(await count(database.db, schema, "ticket_ledger")).toBe(150)
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(await freshChecksum(log))
  })
})
