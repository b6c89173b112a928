import { Subjects } from "@mesh/contracts"
import { type NatsHandles, openNats } from "@mesh/eventlog"
import { openPGlite } from "@mesh/sql"
import { type NatsServerHandle, startNatsServer } from "@mesh/stack"
import { Effect, Fiber } from "effect"
import { Kysely } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { NOTED_COMMIT_TRUSTED_MS } from "./liveCommits.ts"
import { makeProjector } from "./projector.ts"
import { awaitReadModelAt, ReadModelBehind } from "./readModelAt.ts"
import { caughtUp, freshEventLog, openTestPGlite, type TestDatabase } from "./testing/harness.ts"
import { ticketProjection } from "./testing/ticketProjection.ts"
import { makeTicketAppender, ticketTraffic } from "./testing/traffic.ts"

// A reaction reads a read model as of its cause: it waits until the projection's live tables, of
// the version it reads, have applied the cause's commit.

let server: NatsServerHandle
let nats: NatsHandles
let database: TestDatabase
beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  database = await openTestPGlite()
})
afterAll(async () => {
  await database?.close()
  await nats?.connection.drain()
  await server?.stop()
})

describe("awaitReadModelAt", () => {
  it("returns once the projection has applied the cause's commit, and says where it stands when it has not", async () => {
    const log = await freshEventLog(nats, "rma")
    const schema = database.newSchema()
    const projection = ticketProjection()
    const stream = Subjects.streamName(log.namespace, "customer")
    const at = (sequence: number, version = projection.version, timeoutMs = 300) =>
      Effect.runPromise(
        Effect.flip(
          awaitReadModelAt({
            db: database.db,
            schema,
            projection: { name: projection.name, version },
            cause: { stream, sequence },
            timeoutMs,
          }),
        ),
      ).then(
        (error) => error,
        () => "reached" as const,
      )

    // Before the projection has set up, nothing is there to read.
    const none = await at(1)
    expect(none).toBeInstanceOf(ReadModelBehind)
    expect((none as ReadModelBehind).message).toContain("has no checkpoint on it yet")

    const appender = makeTicketAppender(log)
    for (const round of ticketTraffic({ events: 40, tickets: 4, prefix: "r" }))
      await Effect.runPromise(appender.appendRound(round))
    const head = await Effect.runPromise(log.headSequence("customer"))
    const projector = makeProjector({ projection, db: database.db, schema, eventLog: log })
    const fiber = Effect.runFork(projector.run)
    try {
      // Asked while it catches up, it waits for it.
      expect(await at(head, projection.version, 30_000)).toBe("reached")
      await caughtUp(projector, [fiber])
      expect(await at(1)).toBe("reached")

      // A commit it has not applied (not yet written): it says how far it got.
      const ahead = await at(head + 5)
      expect(ahead).toBeInstanceOf(ReadModelBehind)
      expect((ahead as ReadModelBehind).message).toBe(
        `read model ${projection.name} (version ${projection.version}) has not applied ${stream}#${head + 5}: it stands at #${head} for version ${projection.version}`,
      )
      // Written, it is read as soon as the projection applies it.
      const waiting = at(head + 1, projection.version, 30_000)
      for (const round of ticketTraffic({ events: 2, tickets: 1, prefix: "s" }))
        await Effect.runPromise(appender.appendRound(round))
      expect(await waiting).toBe("reached")

      // Tables of another version than the reader's (a rebuild into it not yet swapped in) are not read.
      const other = await at(1, projection.version + 1)
      expect(other).toBeInstanceOf(ReadModelBehind)
      expect((other as ReadModelBehind).message).toContain(`for version ${projection.version}`)
    } finally {
      await Effect.runPromise(Fiber.interrupt(fiber))
    }
  })
  it("takes the projector beside it at its word once it has just committed the cause, and asks the checkpoint otherwise", async () => {
    // The reader and the projector share one database handle, as in an agent's process; the
    // handle counts the reader's checkpoint reads.
    const pglite = await openPGlite()
    let checkpointReads = 0
    const db = new Kysely<unknown>({
      dialect: pglite.dialect,
      log: (event) => {
        if (/^select "sequence", "version" from .*"mesh_checkpoints"/.test(event.query.sql)) checkpointReads++
      },
    })
    const log = await freshEventLog(nats, "rmw")
    const schema = database.newSchema()
    const projection = ticketProjection()
    const stream = Subjects.streamName(log.namespace, "customer")
    const appender = makeTicketAppender(log)
    const projector = makeProjector({ projection, db, schema, eventLog: log })
    const fiber = Effect.runFork(projector.run)
    const readAt = (sequence: number, version = projection.version, timeoutMs = 30_000) =>
      Effect.runPromise(
        awaitReadModelAt({
          db,
          schema,
          projection: { name: projection.name, version },
          cause: { stream, sequence },
          timeoutMs,
        }),
      )
    try {
      for (const round of ticketTraffic({ events: 4, tickets: 1, prefix: "w" }))
        await Effect.runPromise(appender.appendRound(round))
      await caughtUp(projector, [fiber])
      const head = await Effect.runPromise(log.headSequence("customer"))

      for (let n = 0; n < 5; n++) {
        checkpointReads = 0
        const started = performance.now()
        const waiting = readAt(head + n + 1)
        for (const round of ticketTraffic({ events: 1, tickets: 1, prefix: `w${n}` }))
          await Effect.runPromise(appender.appendRound(round))
        await waiting
        // Woken by the projector's commit of its cause, it reads no checkpoint: once for each
        // quarter second it went without a commit at most (a slow machine). A reader polling on its
        // 5 ms doubling interval asks several times within the projector's 50 ms linger alone.
        const quarters = Math.floor((performance.now() - started) / 250)
        expect(checkpointReads).toBeLessThanOrEqual(quarters)
      }
      const last = head + 5

      // Another version than the one committed here: the checkpoint row is asked, and says no.
      checkpointReads = 0
      await expect(readAt(last, projection.version + 1, 100)).rejects.toBeInstanceOf(ReadModelBehind)
      expect(checkpointReads).toBeGreaterThanOrEqual(1)

      // A commit noted longer ago than it is trusted for (another replica may have swapped in
      // another version since): the checkpoint row is asked, once.
      await new Promise((resolve) => setTimeout(resolve, NOTED_COMMIT_TRUSTED_MS + 100))
      checkpointReads = 0
      await readAt(last)
      expect(checkpointReads).toBe(1)
    } finally {
      await Effect.runPromise(Fiber.interrupt(fiber))
      await db.destroy()
    }
  })
  it("has a lingering projector apply its partial batch at once for a reader beside it, and batch as before without one", async () => {
    const log = await freshEventLog(nats, "rml")
    const schema = database.newSchema()
    // A linger far longer than any wait below: a batch applied before it ran out was cut short.
    const lingerMs = 20_000
    const projection = ticketProjection({ lingerMs })
    const stream = Subjects.streamName(log.namespace, "customer")
    const appender = makeTicketAppender(log)
    const append = async (prefix: string, events: number) => {
      for (const round of ticketTraffic({ events, tickets: 1, prefix }))
        await Effect.runPromise(appender.appendRound(round))
      return Effect.runPromise(log.headSequence("customer"))
    }
    const batches: Array<number> = []
    const projector = makeProjector({
      projection,
      db: database.db,
      schema,
      eventLog: log,
      afterCommit: (outcome) => Effect.sync(() => void batches.push(outcome.commits)),
    })
    const fiber = Effect.runFork(projector.run)
    const readAt = (sequence: number) =>
      Effect.runPromise(
        awaitReadModelAt({
          db: database.db,
          schema,
          projection: { name: projection.name, version: projection.version },
          cause: { stream, sequence },
          timeoutMs: 60_000,
        }),
      )
    try {
      // The first commits, with a reader waiting for the last of them.
      const first = await append("l1", 3)
      const started = performance.now()
      await readAt(first)
      expect(performance.now() - started).toBeLessThan(lingerMs)

      // Commits no reader waits for stay in the partial batch until a reader comes for them.
      const before = batches.length
      const second = await append("l2", 4)
      expect(second - first).toBeGreaterThan(1)
      // Time for the projector to receive them all; it holds them, lingering.
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(batches.length).toBe(before)
      await readAt(second)
      // All of them in one transaction: they were held together, not applied one by one.
      expect(batches.slice(before)).toEqual([second - first])
    } finally {
      await Effect.runPromise(Fiber.interrupt(fiber))
    }
  })
})
