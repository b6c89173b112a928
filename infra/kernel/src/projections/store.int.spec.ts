import { Effect } from "effect"
import { sql, type Transaction } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMigrations } from "../migrations/migrations.ts"
import {
  initCheckpoints,
  kernelMigrations,
  kernelMigrationTable,
  lockAndAdvanceCheckpoints,
  readCheckpoints,
} from "./store.ts"
import { openTestPGlite, openTestPostgres, type TestDatabase } from "./testing/harness.ts"

// A batch applied whole locks its checkpoint rows and moves them in one statement; what it reads
// back decides which of its commits are fresh, so it must be the rows as they were.
describe.each([
  { dialect: "postgres", open: openTestPostgres },
  { dialect: "pglite", open: openTestPGlite },
])("checkpoints locked and moved in one statement on $dialect", ({ open }) => {
  let database: TestDatabase
  let schema: string
  beforeAll(async () => {
    database = await open()
    schema = database.newSchema()
    await Effect.runPromise(
      runMigrations(database.db, { schema, migrations: kernelMigrations, tableName: kernelMigrationTable }),
    )
    await database.db
      .transaction()
      .execute((trx) => initCheckpoints(trx as Transaction<unknown>, schema, "tickets", ["A", "B"], 3))
  })
  afterAll(async () => {
    await database?.close()
  })

  const updatedAt = async (stream: string) =>
    (
      await sql<{ at: Date }>`select updated_at as at from ${sql.id(schema, "mesh_checkpoints")}
        where projection = 'tickets' and stream = ${stream}`.execute(database.db)
    ).rows[0]!.at.getTime()

  const advance = (to: ReadonlyMap<string, number>) =>
    database.db
      .transaction()
      .execute((trx) => lockAndAdvanceCheckpoints(trx as Transaction<unknown>, schema, "tickets", to))

  it("returns the rows as they were, with their version, and moves each forward only", async () => {
    const first = await advance(new Map([["A", 7]]))
    expect(first.checkpoints).toEqual(new Map([["A", 0]]))
    expect(first.versions).toEqual(new Set([3]))

    const bStill = await updatedAt("B")
    const second = await advance(
      new Map([
        ["B", 4],
        ["A", 5],
      ]),
    )
    expect(second.checkpoints).toEqual(
      new Map([
        ["A", 7],
        ["B", 0],
      ]),
    )
    // A batch of commits already applied on A leaves A where it was, and its time.
    const aStill = await updatedAt("A")
    await advance(new Map([["A", 6]]))
    expect(await readCheckpoints(database.db, schema, "tickets")).toEqual(
      new Map([
        ["A", 7],
        ["B", 4],
      ]),
    )
    expect(await updatedAt("A")).toBe(aStill)
    expect(await updatedAt("B")).toBeGreaterThan(bStill)
  })

  it("moves nothing when the batch's transaction rolls back", async () => {
    const before = await readCheckpoints(database.db, schema, "tickets")
    await expect(
      database.db.transaction().execute(async (trx) => {
        await lockAndAdvanceCheckpoints(trx as Transaction<unknown>, schema, "tickets", new Map([["A", 99]]))
        throw new Error("the handler failed")
      }),
    ).rejects.toThrow("the handler failed")
    expect(await readCheckpoints(database.db, schema, "tickets")).toEqual(before)
  })

  it("names a stream with no checkpoint row, and moves none", async () => {
    const before = await readCheckpoints(database.db, schema, "tickets")
    await expect(
      advance(
        new Map([
          ["A", 50],
          ["C", 1],
        ]),
      ),
    ).rejects.toThrow("no checkpoint row for tickets on C (the projection was not set up)")
    expect(await readCheckpoints(database.db, schema, "tickets")).toEqual(before)
  })

  it("makes a second batch on the same rows wait, then read the first one's move", async () => {
    const before = (await readCheckpoints(database.db, schema, "tickets")).get("A")!
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let firstLocked!: () => void
    const locked = new Promise<void>((resolve) => {
      firstLocked = resolve
    })
    const first = database.db.transaction().execute(async (trx) => {
      await lockAndAdvanceCheckpoints(
        trx as Transaction<unknown>,
        schema,
        "tickets",
        new Map([["A", before + 10]]),
      )
      firstLocked()
      await held
    })
    await locked
    if (database.dialect === "pglite") {
      // One connection: the second waits for the first's transaction in the driver, not in a lock.
      release()
      await first
    }
    let secondDone = false
    const second = advance(new Map([["A", before + 20]])).finally(() => {
      secondDone = true
    })
    if (database.dialect === "postgres") {
      await new Promise((resolve) => setTimeout(resolve, 200))
      // Still waiting on the first's lock.
      expect(secondDone).toBe(false)
      release()
      await first
    }
    expect((await second).checkpoints.get("A")).toBe(before + 10)
    expect((await readCheckpoints(database.db, schema, "tickets")).get("A")).toBe(before + 20)
  })
})
