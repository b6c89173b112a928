import { makeKysely, openPostgresPool } from "@mesh/sql"
import { postgresTestUrl } from "@mesh/stack"
import { Effect, Exit } from "effect"
import { type Kysely, type Migration, sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { openTestPGlite, openTestPostgres, type TestDatabase } from "../projections/testing/harness.ts"
import { MigrationError, runMigrations } from "./migrations.ts"

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

/** Two migrations that record each execution in a table and sleep, to widen any race between replicas. */
const countingMigrations: Record<string, Migration> = {
  "2026-11-25T1000_runs": {
    up: async (db) => {
      await sql`create table runs (migration text not null)`.execute(db)
      await sql`insert into runs values ('first')`.execute(db)
      await sql`select pg_sleep(0.3)`.execute(db)
    },
  },
  "2026-11-25T1100_things": {
    up: async (db) => {
      await db.schema
        .createTable("things")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .execute()
      await sql`insert into runs values ('second')`.execute(db)
    },
  },
}

const rows = async (db: Kysely<unknown>, query: ReturnType<typeof sql>) =>
  (await query.execute(db)).rows as Array<Record<string, unknown>>

describe.each([
  { dialect: "postgres", open: openTestPostgres },
  { dialect: "pglite", open: openTestPGlite },
])("migrations on $dialect", ({ dialect, open }) => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await open()
  })
  afterAll(async () => {
    await database?.close()
  })

  it("lets replicas starting at once migrate exactly once, all of them succeeding", async () => {
    const schema = database.newSchema()
    // On Postgres every replica has its own pool; PGlite is one in-process database, so the
    // "replicas" are concurrent callers on it (its driver serialises them).
    const replicas =
      dialect === "postgres"
        ? [0, 1, 2].map(() => makeKysely<unknown>(openPostgresPool(postgresTestUrl(), { max: 2 })))
        : [database.db, database.db, database.db]
    try {
      const reports = await Promise.all(
        replicas.map((db) => run(runMigrations(db, { schema, migrations: countingMigrations }))),
      )
      const executed = reports.map((r) => r.executed)
      expect(executed.filter((e) => e.length > 0)).toEqual([Object.keys(countingMigrations)])
      expect(executed.filter((e) => e.length === 0)).toHaveLength(2)
      expect(
        await rows(database.db, sql`select migration from ${sql.id(schema, "runs")} order by 1`),
      ).toEqual([{ migration: "first" }, { migration: "second" }])
      expect(
        await rows(database.db, sql`select name from ${sql.id(schema, "kysely_migration")} order by 1`),
      ).toEqual(Object.keys(countingMigrations).map((name) => ({ name })))
      const again = await run(runMigrations(database.db, { schema, migrations: countingMigrations }))
      expect(again.executed).toEqual([])
    } finally {
      if (dialect === "postgres") await Promise.all(replicas.map((db) => db.destroy()))
    }
  })

  it("rolls a failing migration back and names it; the next start applies the fixed one", async () => {
    const schema = database.newSchema()
    const broken: Record<string, Migration> = {
      "2026-11-25T1000_half": {
        up: async (db) => {
          await sql`create table half (id integer)`.execute(db)
          throw new Error("column type missing")
        },
      },
    }
    const exit = await Effect.runPromiseExit(runMigrations(database.db, { schema, migrations: broken }))
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
    expect(error).toBeInstanceOf(MigrationError)
    expect(error?.migration).toBe("2026-11-25T1000_half")
    expect(error?.message).toContain(
      `migration 2026-11-25T1000_half of schema ${schema} failed and was rolled back`,
    )
    expect(await rows(database.db, sql`select to_regclass(${`${schema}.half`})::text as found`)).toEqual([
      { found: null },
    ])

    const fixed: Record<string, Migration> = {
      "2026-11-25T1000_half": {
        up: async (db) => void (await sql`create table half (id integer)`.execute(db)),
      },
    }
    expect((await run(runMigrations(database.db, { schema, migrations: fixed }))).executed).toEqual([
      "2026-11-25T1000_half",
    ])
  })

  it("creates unqualified names in the service schema and gives the connection back with its search_path", async () => {
    const schema = database.newSchema()
    const single =
      dialect === "postgres"
        ? makeKysely<unknown>(openPostgresPool(postgresTestUrl(), { max: 1 }))
        : database.db
    try {
      const before = await rows(single, sql`show search_path`)
      await run(
        runMigrations(single, {
          schema,
          migrations: {
            "2026-11-25T1000_t": { up: async (db) => void (await sql`create table t (id int)`.execute(db)) },
          },
        }),
      )
      expect(await rows(single, sql`select to_regclass(${`${schema}.t`})::text as found`)).toEqual([
        { found: `${schema}.t` },
      ])
      expect(await rows(single, sql`show search_path`)).toEqual(before)
    } finally {
      if (dialect === "postgres") await single.destroy()
    }
  })

  // Skipped on PGlite: it is one session in one process, so nothing can drop a schema beside it.
  it.runIf(dialect === "postgres")(
    "migrates while other schemas of the database are dropped (a rebuild's swap, another service; Postgres only)",
    async () => {
      // Another session keeps creating and dropping schemas with tables, as rebuilds do.
      const churn = makeKysely<unknown>(openPostgresPool(postgresTestUrl(), { max: 1 }))
      const churned = database.newSchema()
      let churning = true
      const churner = (async () => {
        for (let i = 0; churning; i++) {
          const other = `${churned}__${i}`
          await sql`create schema ${sql.id(other)}`.execute(churn)
          await sql`create table ${sql.id(other, "t")} (id serial primary key, v text)`.execute(churn)
          await sql`drop schema ${sql.id(other)} cascade`.execute(churn)
        }
      })()
      try {
        for (let i = 0; i < 20; i++) {
          const schema = database.newSchema()
          const report = await run(runMigrations(database.db, { schema, migrations: countingMigrations }))
          expect(report.executed).toEqual(Object.keys(countingMigrations))
        }
      } finally {
        churning = false
        await churner
        await churn.destroy()
      }
    },
  )

  it("rejects a schema name that is not a plain identifier", async () => {
    const exit = await Effect.runPromiseExit(
      runMigrations(database.db, { schema: "Bad-Name", migrations: {} }),
    )
    expect(Exit.isFailure(exit)).toBe(true)
  })
})
