import { randomBytes } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { type Kysely, sql } from "kysely"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeKysely, openPGlite, openPostgresPool } from "./postgres.ts"
import { EMBEDDED_DATABASE_NICENESS, parseDatabaseUrl, ReadModelDb, ReadModelDbError } from "./readModelDb.ts"

// This package sits beneath the test helpers of @mesh/stack, so it reads the test database itself.
const testUrl = process.env.MESH_TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test"

// A type alias, not an interface: kysely's `withTables` wants an index signature.
type NoteDb = {
  note: { id: number; body: string }
}

const exerciseNotes = async (db: Kysely<NoteDb>): Promise<Array<string>> => {
  await sql`create table if not exists note (id integer primary key, body text not null)`.execute(db)
  await db.insertInto("note").values({ id: 1, body: "first" }).execute()
  return (await db.selectFrom("note").select("body").orderBy("id").execute()).map((r) => r.body)
}

const admin = async (statement: string) => {
  const client = new pg.Client({ connectionString: testUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

let dataRoot = ""
let schema = ""
let schemaUrl = ""
beforeAll(async () => {
  dataRoot = await mkdtemp(join(tmpdir(), "mesh-sql-spec-"))
  schema = `sql_${randomBytes(6).toString("hex")}`
  await admin(`create schema "${schema}"`)
  const url = new URL(testUrl)
  url.searchParams.set("options", `-c search_path=${schema}`)
  schemaUrl = url.toString()
})
afterAll(async () => {
  await rm(dataRoot, { recursive: true, force: true })
  await admin(`drop schema if exists "${schema}" cascade`)
})

/** Builds the layer, runs `use` on its service, and releases the layer. */
const withReadModelDb = <A, E>(
  layer: Layer.Layer<ReadModelDb, E>,
  use: (service: ReadModelDb["Service"]) => Promise<A>,
): Promise<A> =>
  Effect.runPromise(
    Effect.provide(
      Effect.flatMap(Effect.service(ReadModelDb), (service) => Effect.promise(() => use(service))),
      layer,
    ),
  )

describe("parseDatabaseUrl", () => {
  it("reads a server URL and hides its password in the printable location", () => {
    const target = parseDatabaseUrl("postgres://mesh:s3cret@db.internal:5432/mesh")
    expect(target).toEqual({
      _tag: "postgres",
      url: "postgres://mesh:s3cret@db.internal:5432/mesh",
      location: "postgres://mesh:***@db.internal:5432/mesh",
    })
  })

  it("reads an embedded PGlite folder or pglite:memory", () => {
    expect(parseDatabaseUrl("pglite:memory")).toMatchObject({ _tag: "pglite", dir: undefined })
    expect(parseDatabaseUrl("pglite:/srv/mesh/pglite")).toMatchObject({
      _tag: "pglite",
      dir: "/srv/mesh/pglite",
    })
    expect(parseDatabaseUrl("pglite:data/rm")).toMatchObject({ dir: join(process.cwd(), "data/rm") })
  })

  it("names the variable and what is wrong with a URL it cannot open", () => {
    for (const [url, problem] of [
      ["mysql://db/mesh", /MESH_DATABASE_URL has scheme "mysql:"/],
      ["not a url", /MESH_DATABASE_URL must be postgres:\/\//],
      ["pglite:", /MESH_DATABASE_URL "pglite:" needs a folder/],
    ] as const) {
      expect(() => parseDatabaseUrl(url)).toThrow(problem)
      expect(() => parseDatabaseUrl(url)).toThrow(ReadModelDbError)
    }
  })
})

describe("ReadModelDb", () => {
  it("opens a Postgres server through a pg pool", async () => {
    const [notes, current, source] = await withReadModelDb(
      ReadModelDb.layer(Redacted.make(schemaUrl)),
      async ({ db, source }) => {
        const typed = db.withTables<NoteDb>()
        const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(db)
        return [await exerciseNotes(typed), rows[0]?.s, source] as const
      },
    )
    expect(notes).toEqual(["first"])
    expect(current).toBe(schema)
    expect(source).toBe("postgres")
  })

  it("keeps embedded PGlite data in its folder across close and reopen", async () => {
    const layer = ReadModelDb.layer(Redacted.make(`pglite:${join(dataRoot, "pglite")}`))
    expect(await withReadModelDb(layer, ({ db }) => exerciseNotes(db.withTables<NoteDb>()))).toEqual([
      "first",
    ])
    const again = await withReadModelDb(layer, async ({ db }) =>
      (await db.withTables<NoteDb>().selectFrom("note").select("body").execute()).map((r) => r.body),
    )
    expect(again).toEqual(["first"])
  })

  it("closes the database when its scope closes", async () => {
    const db = await withReadModelDb(ReadModelDb.layer(Redacted.make(schemaUrl)), async ({ db }) => db)
    await expect(sql`select 1`.execute(db)).rejects.toThrow(/end|closed|destroy/i)
  })

  it("fails naming the place when the server does not answer, without the password", async () => {
    const error = await Effect.runPromise(
      Effect.flip(
        Effect.provide(
          Effect.service(ReadModelDb),
          ReadModelDb.layer(Redacted.make("postgres://mesh:hunter2@127.0.0.1:1/mesh")),
        ),
      ),
    )
    expect(error).toBeInstanceOf(ReadModelDbError)
    expect(error.message).toContain("postgres://mesh:***@127.0.0.1:1/mesh is unavailable")
    expect(error.message).not.toContain("hunter2")
    expect(error.reason._tag === "DatabaseUnavailable" && error.reason.cause).toBeInstanceOf(Error)
  })

  it("requires MESH_DATABASE_URL from config and names it when missing", async () => {
    const error = await Effect.runPromise(
      Effect.flip(
        Effect.provide(
          Effect.service(ReadModelDb),
          ReadModelDb.layerFromConfig.pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))),
          ),
        ),
      ),
    )
    expect(String(error)).toContain("MESH_DATABASE_URL")
  })
})

/** This process's threads, from /proc: each one's id, name and nice value. */
const threadsOfThisProcess = () =>
  readdirSync("/proc/self/task").flatMap((id) => {
    try {
      const stat = readFileSync(`/proc/self/task/${id}/stat`, "utf8")
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
      // Fields after the name: state is the first, nice the 17th.
      const nice = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])
      return [{ id, name, nice }]
    } catch {
      return [] // ended meanwhile
    }
  })

const mainThreadNice = () => threadsOfThisProcess().find((t) => t.id === String(process.pid))!.nice

/** The nice value of every PGlite thread `open` starts (those of earlier specs in this process aside). */
const nicenessOfPGliteOpenedBy = async (open: Layer.Layer<ReadModelDb, unknown>) => {
  const before = new Set(threadsOfThisProcess().map((t) => t.id))
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        yield* Layer.build(open)
        const started = threadsOfThisProcess().filter((t) => !before.has(t.id) && t.name === "pglite")
        return { started: started.map((t) => t.nice), main: mainThreadNice() }
      }),
    ),
  )
}

describe("the embedded database's thread", () => {
  it.skipIf(process.platform !== "linux")(
    "yields the CPU to the event loop in a process configured from its environment, as an agent is (Linux only: nice values per thread)",
    async () => {
      const threads = await nicenessOfPGliteOpenedBy(
        ReadModelDb.layerFromConfig.pipe(
          Layer.provide(
            ConfigProvider.layer(ConfigProvider.fromUnknown({ MESH_DATABASE_URL: "pglite:memory" })),
          ),
        ),
      )
      // Named, so that top -H shows it; lowered, and nothing else of the process is.
      expect(threads.started).toEqual([Math.max(mainThreadNice(), EMBEDDED_DATABASE_NICENESS)])
      expect(threads.main).toBe(mainThreadNice())
    },
  )

  it.skipIf(process.platform !== "linux")(
    "keeps the process's priority when a caller opens the database itself, as tests do (Linux only)",
    async () => {
      const threads = await nicenessOfPGliteOpenedBy(ReadModelDb.layerMemory)
      expect(threads.started).toEqual([mainThreadNice()])
    },
  )
})

describe("PGlite", () => {
  it("lends its one session to one borrower at a time", async () => {
    const resolved = await openPGlite()
    const db = makeKysely<NoteDb>(resolved)
    try {
      expect(await exerciseNotes(db)).toEqual(["first"])
      // A query issued while a transaction is open must not land inside it.
      let outside: Promise<unknown> = Promise.resolve()
      await db
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto("note").values({ id: 2, body: "rolled back" }).execute()
          outside = db.insertInto("note").values({ id: 3, body: "outside" }).execute()
          await new Promise((resolve) => setTimeout(resolve, 20))
          throw new Error("roll back")
        })
        .catch(() => undefined)
      await outside
      const bodies = (await db.selectFrom("note").select("body").orderBy("id").execute()).map((r) => r.body)
      expect(bodies).toEqual(["first", "outside"])
    } finally {
      await db.destroy()
    }
  })
})

describe("PGlite and Postgres alike", () => {
  it("report the rows a write touched", async () => {
    for (const resolved of [await openPGlite(), openPostgresPool(testUrl)]) {
      const db = makeKysely<NoteDb>(resolved)
      const table = `note_${randomBytes(4).toString("hex")}`
      try {
        await sql`create table ${sql.table(table)} (id integer primary key, body text not null)`.execute(db)
        const notes = db.withTables<{ [t: string]: NoteDb["note"] }>()
        const inserted = await notes
          .insertInto(table)
          .values([
            { id: 1, body: "a" },
            { id: 2, body: "b" },
            { id: 3, body: "c" },
          ])
          .executeTakeFirst()
        expect(inserted.numInsertedOrUpdatedRows, resolved.source).toBe(3n)
        const updated = await notes
          .updateTable(table)
          .set({ body: "z" })
          .where("id", ">", 1)
          .executeTakeFirst()
        expect(updated.numUpdatedRows, resolved.source).toBe(2n)
        const deleted = await notes.deleteFrom(table).where("id", "=", 1).executeTakeFirst()
        expect(deleted.numDeletedRows, resolved.source).toBe(1n)
        const missed = await notes
          .updateTable(table)
          .set({ body: "y" })
          .where("id", "=", 99)
          .executeTakeFirst()
        expect(missed.numUpdatedRows, resolved.source).toBe(0n)
        expect(await notes.selectFrom(table).select("body").orderBy("id").execute()).toEqual([
          { body: "z" },
          { body: "z" },
        ])
      } finally {
        await sql`drop table if exists ${sql.table(table)}`.execute(db)
        await db.destroy()
      }
    }
  })
})

describe("a pg pool", () => {
  it("survives its server closing a checked-out client mid-transaction", async () => {
    const resolved = openPostgresPool(schemaUrl, { max: 2 })
    const db = makeKysely<NoteDb>(resolved)
    try {
      const failed = db
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)
          // Another session ends this one, as a server restart would; the client emits 'error'.
          await admin(`select pg_terminate_backend(${rows[0]!.pid})`)
          await sql`select pg_sleep(0.2)`.execute(trx)
        })
        .then(
          () => "committed",
          (error: Error) => error.message,
        )
      expect(await failed).toMatch(/terminat|connection/i)
      // The process is still here, and the pool serves the next query on a fresh client.
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db)
      expect(rows[0]?.one).toBe(1)
    } finally {
      await db.destroy()
    }
  })
})
