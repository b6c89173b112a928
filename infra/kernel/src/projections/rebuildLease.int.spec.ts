import { type EventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer } from "@mesh/stack"
import { Effect, Fiber } from "effect"
import { type Kysely, sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Projection } from "./projection.ts"
import { makeProjector } from "./projector.ts"
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
  type TicketReadModel,
  ticketProjection,
  ticketReadModelChecksum,
} from "./testing/ticketProjection.ts"
import { makeTicketAppender, ticketTraffic } from "./testing/traffic.ts"

// One rebuild of a projection at a time across replicas: the lease row in `mesh_rebuilds`, taken
// under the setup lock, renewed while the rebuild runs, and checked by every write into the shadow
// tables. Replicas are projectors on one database and schema, as separate pods would be.

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

const appendAll = async (log: EventLog<MeshDefinition>, events: number, prefix: string) => {
  const appender = makeTicketAppender(log)
  for (const round of ticketTraffic({ events, tickets: 10, prefix })) await run(appender.appendRound(round))
}

const leaseRow = async (db: Kysely<unknown>, schema: string) =>
  (
    await sql<{ holder: string; token: string }>`
      select holder, token from ${sql.id(schema, "mesh_rebuilds")} where projection = 'tickets'`.execute(db)
  ).rows[0]

/** The tickets projection's registration as the database holds it. */
const registrationRow = async (db: Kysely<unknown>, schema: string) =>
  (
    await sql<{ version: number; rolled_back_from: number | null }>`
      select version, rolled_back_from from ${sql.id(schema, "mesh_projections")} where projection = 'tickets'`.execute(
      db,
    )
  ).rows[0]

const schemaExists = async (db: Kysely<unknown>, schema: string) =>
  (
    await sql<{ n: number }>`select count(*)::int as n from pg_namespace where nspname = ${schema}`.execute(
      db,
    )
  ).rows[0]!.n === 1

describe.each([
  { dialect: "postgres", open: openTestPostgres },
  { dialect: "pglite", open: openTestPGlite },
])("rebuild leases on $dialect", ({ open }) => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await open()
  })
  afterAll(async () => {
    await database?.close()
  })

  /** A log of 90 events projected live at version 1 into a new schema. */
  const projected = async () => {
    const log = await freshEventLog(nats)
    const schema = database.newSchema()
    await appendAll(log, 90, "a")
    const live = makeProjector({ projection: ticketProjection(), db: database.db, schema, eventLog: log })
    const fiber = Effect.runFork(live.run)
    await caughtUp(live, [fiber])
    await run(Fiber.interrupt(fiber))
    return { log, schema, checksum: await ticketReadModelChecksum(database.db, schema) }
  }

  it("refuses a second rebuild while a replica holds the lease, naming it, and takes a lapsed lease over", async () => {
    const { log, schema, checksum } = await projected()
    const replica = makeProjector({
      projection: ticketProjection(),
      db: database.db,
      schema,
      eventLog: log,
      instance: "replica-b",
    })
    // Another replica's rebuild, renewed just now.
    await sql`insert into ${sql.id(schema, "mesh_rebuilds")} (projection, holder, token, version)
      values ('tickets', 'replica-a', 'token-a', 1)`.execute(database.db)
    const status = await run(replica.status)
    expect(status.rebuilding).toMatchObject({ holder: "replica-a", version: 1 })

    const refused = failureOf(await Effect.runPromiseExit(replica.rebuild()))
    expect(refused.reason).toMatchObject({ _tag: "RebuildRunning", holder: "replica-a", version: 1 })
    expect(refused.message).toMatch(
      /already being rebuilt to version 1 by replica-a .*one rebuild runs at a time/,
    )
    expect(await leaseRow(database.db, schema)).toEqual({ holder: "replica-a", token: "token-a" })

    // replica-a died: it has not renewed for longer than the lease lasts.
    await sql`update ${sql.id(schema, "mesh_rebuilds")} set renewed_at = now() - interval '1 hour'`.execute(
      database.db,
    )
    expect((await run(replica.status)).rebuilding).toBeUndefined()
    const report = await run(replica.rebuild())
    expect(report.events).toBe(90)
    // The lease went with the swap; the rebuilt model is the one live projection would make.
    expect(await leaseRow(database.db, schema)).toBeUndefined()
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(checksum)
    expect(await doubleApplied(database.db, schema)).toEqual([])
  })

  it("stops a rebuild whose lease was taken over before it writes into its successor's shadow tables", async () => {
    const { log, schema, checksum } = await projected()
    const base = ticketProjection()
    let tookOver = false
    // While the first shadow batch is in its transaction, another replica takes the lease over (as
    // after a stall longer than the lease); the takeover lands when that batch commits. Batches of
    // one commit, and no final tail until the shadow reaches the live checkpoint: many batches follow.
    const stalled: Projection<MeshDefinition, TicketReadModel> = {
      ...base,
      apply: async (trx, events, target) => {
        if (target.rebuild && !tookOver) {
          tookOver = true
          void sql`update ${sql.id(schema, "mesh_rebuilds")} set holder = 'replica-b', token = 'token-b'`
            .execute(database.db)
            .catch(() => undefined)
        }
        return base.apply(trx, events, target)
      },
    }
    const rebuilding = makeProjector({
      projection: stalled,
      db: database.db,
      schema,
      eventLog: log,
      instance: "replica-a",
    })
    const superseded = failureOf(
      await Effect.runPromiseExit(rebuilding.rebuild({ batchSize: 1, catchUpLag: 0 })),
    )
    expect(superseded.reason).toEqual({ _tag: "RebuildSuperseded", holder: "replica-a" })
    expect(superseded.message).toMatch(/lost its lease to another replica/)
    // The successor's lease and shadow schema are left to it; the live tables never moved.
    await waitUntil(async () => (await leaseRow(database.db, schema))?.holder === "replica-b")
    expect(await schemaExists(database.db, `${schema}__rebuild_tickets`)).toBe(true)
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(checksum)
  })

  it("rebuilds once when three replicas start on a new version together; the others wait and then serve", async () => {
    const { log, schema } = await projected()
    const base = ticketProjection({ version: 2 })
    let shadowBuilds = 0
    const counted: Projection<MeshDefinition, TicketReadModel> = {
      ...base,
      createTables: async (trx, target) => {
        if (target.rebuild) shadowBuilds++
        return base.createTables(trx, target)
      },
    }
    // Each replica says when it serves; the version live then must be its own, never the old one.
    const liveWhenServing: Array<Promise<number | undefined>> = []
    const liveVersion = async () => (await registrationRow(database.db, schema))?.version
    const replicas = ["r1", "r2", "r3"].map((instance) =>
      makeProjector({
        projection: counted,
        db: database.db,
        schema,
        eventLog: log,
        instance,
        onServing: (serving) => {
          if (serving) liveWhenServing.push(liveVersion())
        },
      }),
    )
    const fibers = replicas.map((r) => Effect.runFork(r.run))
    await waitUntil(async () => (await run(replicas[0]!.status)).liveVersion === 2, { watched: fibers })
    await appendAll(log, 30, "b")
    // A replica that waited serves once it sees the swap (it looks again every second).
    await waitUntil(() => liveWhenServing.length === 3, { watched: fibers })
    for (const replica of replicas) await caughtUp(replica, fibers)
    await run(Fiber.interruptAll(fibers))
    expect(shadowBuilds).toBe(1)
    expect(await Promise.all(liveWhenServing)).toEqual([2, 2, 2])
    expect(await leaseRow(database.db, schema)).toBeUndefined()
    expect(await doubleApplied(database.db, schema)).toEqual([])
    const fresh = database.newSchema()
    const check = makeProjector({ projection: base, db: database.db, schema: fresh, eventLog: log })
    const fiber = Effect.runFork(check.run)
    await caughtUp(check, [fiber])
    await run(Fiber.interrupt(fiber))
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(
      await ticketReadModelChecksum(database.db, fresh),
    )
  })

  it("never rebuilds a newer version back: an old replica stops writing at the swap and waits, until an operator rolls back", async () => {
    const { log, schema } = await projected()
    const registered = async () => (await registrationRow(database.db, schema))?.version
    const rolledBackFrom = async () => (await registrationRow(database.db, schema))?.rolled_back_from
    // Each build counts its shadow builds, and the events it applied to live tables that were
    // another version's (read in the batch's own transaction, after its checkpoint lock).
    const build = (version: number) => {
      const base = ticketProjection({ version })
      const counts = { shadowBuilds: 0, foreignWrites: 0 }
      const projection: Projection<MeshDefinition, TicketReadModel> = {
        ...base,
        createTables: async (trx, target) => {
          if (target.rebuild) counts.shadowBuilds++
          return base.createTables(trx, target)
        },
        apply: async (trx, events, target) => {
          if (!target.rebuild) {
            const live = await sql<{ version: number }>`
              select version from ${sql.id(schema, "mesh_projections")} where projection = 'tickets'`.execute(
              trx,
            )
            if (live.rows[0]?.version !== version) counts.foreignWrites += events.length
          }
          return base.apply(trx, events, target)
        },
      }
      return { projection, counts }
    }
    const replica = (b: ReturnType<typeof build>, instance: string) => {
      const seen: Array<boolean> = []
      const projector = makeProjector({
        projection: b.projection,
        db: database.db,
        schema,
        eventLog: log,
        instance,
        rebuildLeaseMs: 600,
        swapWatchMs: 200,
        onServing: (serving) => {
          seen.push(serving)
        },
      })
      return { projector, seen, serving: () => seen.at(-1) === true }
    }
    const v1 = build(1)
    const v2 = build(2)

    // The old build serves; the new build's first replica starts, rebuilds and swaps v2 in.
    const old = replica(v1, "old-1")
    const oldFiber = Effect.runFork(old.projector.run)
    await waitUntil(async () => old.serving(), { watched: [oldFiber] })
    const fresh = replica(v2, "new-1")
    const freshFiber = Effect.runFork(fresh.projector.run)
    await waitUntil(async () => (await registered()) === 2 && fresh.serving(), { watched: [freshFiber] })
    // With no traffic, the old replica sees the swap all the same and stops serving (its routes
    // would read v2's tables); it keeps running, waiting. Traffic after it: nothing of it goes
    // into v2's tables from the old replica.
    await waitUntil(async () => !old.serving(), { watched: [oldFiber] })
    await appendAll(log, 30, "b")
    await caughtUp(fresh.projector, [freshFiber, oldFiber])
    expect(v1.counts.foreignWrites).toBe(0)

    // An old replica that restarts now (its pod rescheduled mid-rollout) does not rebuild v1 back.
    await run(Fiber.interrupt(oldFiber))
    const restarted = replica(v1, "old-2")
    const restartedFiber = Effect.runFork(restarted.projector.run)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(restartedFiber.pollUnsafe()).toBeUndefined()
    expect(restarted.seen).toEqual([])
    expect(await registered()).toBe(2)
    expect(v1.counts.shadowBuilds).toBe(0)
    // An operator's rebuild that reaches it is refused unless it is asked as a rollback.
    const refused = failureOf(await Effect.runPromiseExit(restarted.projector.rebuild()))
    expect(refused.reason).toEqual({
      _tag: "NewerVersionLive",
      version: 1,
      liveVersion: 2,
      instance: "old-2",
    })
    expect(refused.message).toMatch(/v2 is live, newer than v1 .*--rollback/)
    expect(await registered()).toBe(2)
    expect(await doubleApplied(database.db, schema)).toEqual([])

    // A rollback: v1 is rebuilt and swapped in; the waiting v1 replica serves, and the v2 replica
    // stops writing and waits in turn, without rebuilding v2 forward over the operator's rollback.
    await run(restarted.projector.rebuild({ rollback: true }))
    expect(await registered()).toBe(1)
    expect(await rolledBackFrom()).toBe(2)
    await appendAll(log, 30, "c")
    await waitUntil(async () => restarted.serving() && !fresh.serving(), {
      watched: [restartedFiber, freshFiber],
    })
    await caughtUp(restarted.projector, [restartedFiber, freshFiber])
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(v2.counts.shadowBuilds).toBe(1)
    expect(v2.counts.foreignWrites).toBe(0)
    expect(v1.counts.foreignWrites).toBe(0)
    expect(await registered()).toBe(1)
    expect(await doubleApplied(database.db, schema)).toEqual([])
    // The rolled-back tables are what v1 makes of the whole log.
    const check = database.newSchema()
    const checker = makeProjector({
      projection: ticketProjection(),
      db: database.db,
      schema: check,
      eventLog: log,
    })
    const checkFiber = Effect.runFork(checker.run)
    await caughtUp(checker, [checkFiber])
    await run(Fiber.interrupt(checkFiber))
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(
      await ticketReadModelChecksum(database.db, check),
    )

    // Rolling forward is an operator's rebuild on the new build: v2 serves again, v1 waits.
    await run(fresh.projector.rebuild())
    await appendAll(log, 10, "d")
    await waitUntil(async () => fresh.serving() && !restarted.serving(), {
      watched: [restartedFiber, freshFiber],
    })
    await caughtUp(fresh.projector, [restartedFiber, freshFiber])
    expect(await registered()).toBe(2)
    expect(await rolledBackFrom()).toBeNull()
    expect(v1.counts.foreignWrites + v2.counts.foreignWrites).toBe(0)
    expect(await doubleApplied(database.db, schema)).toEqual([])
    await run(Fiber.interruptAll([restartedFiber, freshFiber]))
  })
})
