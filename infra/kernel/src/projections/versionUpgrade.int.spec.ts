import { Subjects } from "@mesh/contracts"
import { type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer } from "@mesh/stack"
import { Effect, Fiber } from "effect"
import { sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMigrations } from "../migrations/migrations.ts"
import { makeProjector } from "./projector.ts"
import { kernelMigrations, kernelMigrationTable, lockCheckpointRows } from "./store.ts"
import {
  caughtUp,
  freshEventLog,
  openTestPGlite,
  openTestPostgres,
  type TestDatabase,
  waitUntil,
} from "./testing/harness.ts"
import { ticketProjection, ticketReadModelChecksum } from "./testing/ticketProjection.ts"
import { makeTicketAppender, ticketTraffic } from "./testing/traffic.ts"

// A service schema set up by the build before checkpoint rows named their version: the migration
// names each live row with its projection's registered version, leaves a running rebuild's shadow
// rows unnamed, and the projector goes on from where it was, serving.

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

const before = Object.fromEntries(Object.entries(kernelMigrations).filter(([name]) => name < "2026-12-05"))

describe.each([
  { dialect: "postgres", open: openTestPostgres },
  { dialect: "pglite", open: openTestPGlite },
])("upgrading the kernel tables on $dialect", ({ open }) => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await open()
  })
  afterAll(async () => {
    await database?.close()
  })

  it("names the live checkpoint rows with their registered version, and the projector serves on", async () => {
    const log = await freshEventLog(nats)
    const appender = makeTicketAppender(log)
    for (const round of ticketTraffic({ events: 60, tickets: 6, prefix: "a" }))
      await Effect.runPromise(appender.appendRound(round))
    const schema = database.newSchema()
    // The earlier build's tables, as it left them: projection v3 live at #40, another at v1, and a
    // rebuild's shadow rows.
    await Effect.runPromise(
      runMigrations(database.db, { schema, migrations: before, tableName: kernelMigrationTable }),
    )
    const streamName = Subjects.streamName(log.namespace, "customer")
    await sql`insert into ${sql.id(schema, "mesh_projections")} (projection, version, tables)
      values ('tickets', 3, '["tickets","ticket_ledger"]'), ('other', 1, '[]')`.execute(database.db)
    await sql`insert into ${sql.id(schema, "mesh_checkpoints")} (projection, stream, sequence)
      values ('tickets', ${streamName}, 0), ('other', ${streamName}, 7), ('tickets__rebuild', ${streamName}, 3)`.execute(
      database.db,
    )

    await Effect.runPromise(
      runMigrations(database.db, { schema, migrations: kernelMigrations, tableName: kernelMigrationTable }),
    )
    const rows = await sql<{ projection: string; version: number | null }>`
      select projection, version from ${sql.id(schema, "mesh_checkpoints")} order by projection`.execute(
      database.db,
    )
    expect(rows.rows).toEqual([
      { projection: "other", version: 1 },
      { projection: "tickets", version: 3 },
      { projection: "tickets__rebuild", version: null },
    ])
    const locked = await database.db
      .transaction()
      .execute((trx) => lockCheckpointRows(trx, schema, "tickets", [streamName]))
    expect([...locked.versions]).toEqual([3])

    // The build of v3 goes on from its checkpoint and serves; its tables need creating, as a
    // registration without them never happens outside this spec, so they are made first.
    const projection = ticketProjection({ version: 3 })
    await database.db.transaction().execute(async (trx) => {
      await sql`set local search_path to ${sql.id(schema)}, public`.execute(trx)
      await projection.createTables(trx, { schema, rebuild: false })
    })
    let serving = false
    const projector = makeProjector({
      projection,
      db: database.db,
      schema,
      eventLog: log,
      onServing: (now) => {
        serving = now
      },
    })
    const fiber = Effect.runFork(projector.run)
    await waitUntil(async () => serving, { watched: [fiber] })
    await caughtUp(projector, [fiber])
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect((await ticketReadModelChecksum(database.db, schema)).tickets.rows).toBe(6)
  })
})
