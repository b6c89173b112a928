import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect } from "effect"
import { type Kysely, sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  findRepoRoot,
  NatsUnavailable,
  projectDataDir,
  resolveNats,
  scopedNats,
  scopedPostgres,
} from "./localStack.ts"
import { makeKysely, resolvePostgres } from "./postgres.ts"
import { freshPostgresSchema, postgresTestUrl, uniqueNamespace } from "./testing.ts"
import { useNatsServer, usePostgresSchema } from "./vitest.ts"

const nats = useNatsServer()
const fileSchema = usePostgresSchema({ prefix: "stack_file_" })

let dataRoot = ""
beforeAll(async () => {
  dataRoot = await mkdtemp(join(tmpdir(), "mesh-localstack-spec-"))
})
afterAll(async () => {
  await rm(dataRoot, { recursive: true, force: true })
})

const roundTrip = async (url: string): Promise<string | undefined> => {
  const nc = await connect({ servers: url })
  try {
    const ns = uniqueNamespace()
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: ns, subjects: [`${ns}.>`], storage: StorageType.File })
    const ack = await jetstream(nc).publish(`${ns}.ping`, "pong")
    return (await jsm.streams.getMessage(ns, { seq: ack.seq }))?.string()
  } finally {
    await nc.close()
  }
}

describe("resolveNats", () => {
  it("uses NATS_URL when set and never stops that server", async () => {
    const resolved = await resolveNats({ env: { NATS_URL: nats.url }, dataDir: join(dataRoot, "env") })
    expect(resolved.source).toBe("env")
    expect(resolved.url).toBe(nats.url)
    expect(resolved.server).toBeUndefined()
    await resolved.stop()
    expect(nats.server.running).toBe(true)
    expect(await roundTrip(nats.url)).toBe("pong")
    expect(existsSync(join(dataRoot, "env"))).toBe(false)
  })

  it("starts a private server with its store under <dataDir>/nats and stops only that one", async () => {
    const dataDir = join(dataRoot, "private")
    const resolved = await resolveNats({ env: {}, dataDir })
    try {
      expect(resolved.source).toBe("private")
      expect(resolved.server?.storeDir).toBe(join(dataDir, "nats"))
      expect(resolved.url).not.toBe(nats.url)
      expect(await roundTrip(resolved.url)).toBe("pong")
    } finally {
      await resolved.stop()
    }
    expect(resolved.server?.running).toBe(false)
    expect(existsSync(join(dataDir, "nats", "jetstream"))).toBe(true)
    expect(nats.server.running).toBe(true)
  })

  it("says how to get a server when there is no NATS_URL, binary or Docker", async () => {
    const failure = resolveNats({ env: {}, binary: "nats-server-that-does-not-exist", allowContainer: false })
    await expect(failure).rejects.toBeInstanceOf(NatsUnavailable)
    await expect(failure).rejects.toThrow(/NATS_URL.*nats-server >= 2\.10\.23.*trixie.*Docker/s)
  })

  it("releases a private server when its Effect scope closes", async () => {
    const server = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const resolved = yield* scopedNats({ env: {} })
          expect(resolved.source).toBe("private")
          expect(resolved.server?.running).toBe(true)
          return resolved.server
        }),
      ),
    )
    expect(server?.running).toBe(false)
  })
})

interface NoteDb {
  note: { id: number; body: string }
}

const exerciseNotes = async (db: Kysely<NoteDb>, table = "note"): Promise<Array<string>> => {
  await sql`create table if not exists ${sql.table(table)} (id integer primary key, body text not null)`.execute(
    db,
  )
  await db.insertInto("note").values({ id: 1, body: "first" }).execute()
  return (await db.selectFrom("note").select("body").orderBy("id").execute()).map((r) => r.body)
}

describe("resolvePostgres", () => {
  it("uses DATABASE_URL through a pg pool", async () => {
    const schema = await freshPostgresSchema({ prefix: "stack_" })
    try {
      const resolved = await resolvePostgres({ env: { DATABASE_URL: schema.url } })
      expect(resolved.source).toBe("env")
      const db = makeKysely<NoteDb>(resolved)
      expect(await exerciseNotes(db)).toEqual(["first"])
      const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(db)
      expect(rows[0]?.s).toBe(schema.schema)
      await db.destroy()
      await resolved.close() // after destroy: idempotent
    } finally {
      await schema.close()
    }
  })

  it("gives the test file its own schema as search_path", async () => {
    expect(fileSchema.schema).toMatch(/^stack_file_[0-9a-f]{12}$/)
    const db = makeKysely<NoteDb>(fileSchema.postgres)
    expect(await exerciseNotes(db)).toEqual(["first"])
    const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(db)
    expect(rows[0]?.s).toBe(fileSchema.schema)
  })

  it("drops a fresh test schema on close", async () => {
    const schema = await freshPostgresSchema()
    const db = makeKysely<NoteDb>(schema)
    await exerciseNotes(db)
    await schema.close()
    const check = await resolvePostgres({ env: { DATABASE_URL: postgresTestUrl() } })
    const probe = makeKysely(check)
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.schemata where schema_name = ${schema.schema}`.execute(
      probe,
    )
    expect(rows[0]?.n).toBe(0)
    await probe.destroy()
  })

  it("falls back to in-memory PGlite without DATABASE_URL or dataDir", async () => {
    const resolved = await resolvePostgres({ env: {} })
    expect(resolved.source).toBe("pglite")
    expect(resolved.dataDir).toBeUndefined()
    const db = makeKysely<NoteDb>(resolved)
    try {
      expect(await exerciseNotes(db)).toEqual(["first"])

      // One PGlite session: a query issued while a transaction is open must not land inside it.
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
      await resolved.close()
    }
  })

  it("keeps PGlite data under <dataDir>/pglite across close and reopen", async () => {
    const dataDir = join(dataRoot, "pglite-disk")
    const first = await resolvePostgres({ env: {}, dataDir })
    expect(first.dataDir).toBe(join(dataDir, "pglite"))
    const db1 = makeKysely<NoteDb>(first)
    await exerciseNotes(db1)
    await first.close()

    const second = await resolvePostgres({ env: {}, dataDir })
    const db2 = makeKysely<NoteDb>(second)
    try {
      expect((await db2.selectFrom("note").select("body").execute()).map((r) => r.body)).toEqual(["first"])
    } finally {
      await second.close()
    }
  })

  it("closes the database when its Effect scope closes", async () => {
    const failure = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const resolved = yield* scopedPostgres({ env: { DATABASE_URL: postgresTestUrl() } })
          const db = makeKysely(resolved)
          yield* Effect.promise(() => sql`select 1`.execute(db))
          return db
        }),
      ).pipe(
        Effect.flatMap((db) => Effect.promise(() => sql`select 1`.execute(db).then(() => "open", String))),
      ),
    )
    expect(failure).toMatch(/end|closed|destroy/i)
  })
})

describe("projectDataDir", () => {
  it("is <repo root>/.data unless MESH_DATA_DIR overrides it", () => {
    const root = findRepoRoot()
    expect(existsSync(join(root, "pnpm-workspace.yaml"))).toBe(true)
    expect(projectDataDir({ env: {} })).toBe(join(root, ".data"))
    expect(projectDataDir({ env: { MESH_DATA_DIR: "/srv/mesh" } })).toBe("/srv/mesh")
  })
})
