import { spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import type { Worker } from "node:worker_threads"
import { sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { openPGliteThread, type PGliteSession } from "./pgliteThread.ts"
import { makeKysely, openPGlite } from "./postgres.ts"

let scratch: string
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "pglite-thread-"))
})
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

/** Runs a script in a Node process of its own; resolves with what it printed once it ends by itself. */
const runScript = async (name: string, source: string) => {
  const script = join(scratch, name)
  await writeFile(script, source)
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] })
  let out = ""
  child.stdout.on("data", (d) => (out += d))
  // One that never ends by itself is ended here, and says so, rather than outlive the spec.
  const stuck = setTimeout(() => child.kill("SIGKILL"), 30_000)
  const code = await new Promise<number | null>((resolve) =>
    child.on("exit", (exit, signal) => resolve(signal === null ? exit : -1)),
  )
  clearTimeout(stuck)
  return { out: out.trim(), code }
}

describe("PGlite on a thread of its own", () => {
  it("answers statements in the order sent while the caller's thread stays free", async () => {
    const db = await openPGliteThread(undefined)
    try {
      await db.query("create table notes (id int primary key, body text, at timestamptz, tags jsonb)", [])
      const at = new Date("2026-12-06T08:00:00.000Z")
      // Sent together, as a projection's batch and a reaction's read may be: answered in order.
      const answers = await Promise.all([
        db.query("insert into notes values ($1, $2, $3, $4)", [1, "first", at, JSON.stringify(["a"])]),
        db.query("update notes set body = $1 where id = $2", ["changed", 1]),
        db.query<{ id: number; body: string; at: Date; tags: Array<string> }>("select * from notes", []),
      ])
      expect(answers[0].affectedRows).toBe(1)
      expect(answers[1].affectedRows).toBe(1)
      // Values keep their types across the thread: a timestamp is a Date, json is parsed.
      expect(answers[2].rows).toEqual([{ id: 1, body: "changed", at, tags: ["a"] }])
      // While a long statement runs, the caller's timers fire on time: its event loop is not held.
      const started = performance.now()
      let firedAfter = Number.NaN
      const timer = setTimeout(() => (firedAfter = performance.now() - started), 20)
      await db.query("select count(*) from generate_series(1, 4000000)", [])
      const tookMs = performance.now() - started
      clearTimeout(timer)
      expect(tookMs).toBeGreaterThan(200)
      expect(firedAfter).toBeLessThan(tookMs / 2)
    } finally {
      await db.close()
    }
  })

  it("fails a statement with Postgres's own error fields, and goes on answering the next", async () => {
    const db = await openPGliteThread(undefined)
    try {
      await db.query("create table skus (sku text primary key)", [])
      await db.query("insert into skus values ($1)", ["MUG-1"])
      const duplicate = await db.query("insert into skus values ($1)", ["MUG-1"]).catch((e: unknown) => e)
      expect(duplicate).toBeInstanceOf(Error)
      // What callers classify by (transient.ts reads the SQLSTATE) survives the thread.
      expect(duplicate).toMatchObject({ code: "23505", constraint: "skus_pkey", table: "skus" })
      expect((duplicate as Error).message).toMatch(
        /duplicate key value violates unique constraint "skus_pkey"/,
      )
      expect((await db.query("select count(*)::int as n from skus", [])).rows).toEqual([{ n: 1 }])
    } finally {
      await db.close()
    }
  })

  it("refuses a parameter that cannot be sent, naming the statement, and loses nothing else", async () => {
    const db = await openPGliteThread(undefined)
    try {
      const refused = await db.query("select $1::text as v", [() => "a function"]).catch((e: unknown) => e)
      expect(String(refused)).toMatch(/cannot be sent to PGlite's thread .*select \$1::text as v/)
      expect((await db.query("select $1::text as v", ["still here"])).rows).toEqual([{ v: "still here" }])
    } finally {
      await db.close()
    }
  })

  it("keeps a database's files across a close and a reopen, and fails statements after the close", async () => {
    const dataDir = join(scratch, "kept")
    const first: PGliteSession = await openPGliteThread(dataDir)
    await first.query("create table kept (n int)", [])
    await first.query("insert into kept values (7)", [])
    // A statement sent while the database closes fails; it is not run during the shutdown.
    const closing = first.close()
    await expect(first.query("select 1", [])).rejects.toThrow("the PGlite database is closed")
    await closing
    await first.close()
    await expect(first.query("select 1", [])).rejects.toThrow("the PGlite database is closed")
    const again = await openPGliteThread(dataDir)
    try {
      expect((await again.query("select n from kept", [])).rows).toEqual([{ n: 7 }])
    } finally {
      await again.close()
    }
  })

  it("tells a database lost with its thread (statements in flight fail, and every later one), never one closed", async () => {
    const dataDir = join(scratch, "lost")
    let thread: Worker | undefined
    const db = await openPGliteThread(dataDir, { started: (worker) => (thread = worker) })
    await db.query("create table kept (n int)", [])
    await db.query("insert into kept values (1)", [])
    let lostWith: Error | undefined
    void db.lost.then((reason) => (lostWith = reason))
    const inFlight = db.query("select pg_sleep(0.5)", [])
    // Ended from outside, as out-of-memory or a crash in the WebAssembly would end it.
    await thread!.terminate()
    await expect(inFlight).rejects.toThrow("PGlite's thread ended unasked")
    expect((await db.lost).message).toMatch(/^PGlite's thread ended unasked \(exit code \d+\)$/)
    expect(lostWith).toBe(await db.lost)
    await expect(db.query("select 1", [])).rejects.toThrow("PGlite's thread ended unasked")
    await db.close()
    // What it had written is in its files for the next process that opens them.
    const again = await openPGliteThread(dataDir)
    try {
      expect((await again.query("select n from kept", [])).rows).toEqual([{ n: 1 }])
      await again.close()
      const settled = await Promise.race([again.lost.then(() => "lost"), sleep(200).then(() => "not lost")])
      expect(settled).toBe("not lost")
    } finally {
      await again.close()
    }
  })

  it("says why it cannot open a database, and leaves no thread behind", async () => {
    const notAFolder = join(scratch, "a-file")
    await writeFile(notAFolder, "not a database")
    await expect(openPGliteThread(notAFolder)).rejects.toThrow(
      `PGlite could not open a database in ${notAFolder}`,
    )
    // In a process of its own: the failed open leaves nothing that keeps the process alive.
    const { out, code } = await runScript(
      "fails.ts",
      `import { openPGliteThread } from ${JSON.stringify(join(import.meta.dirname, "pgliteThread.ts"))}
await openPGliteThread(${JSON.stringify(notAFolder)}).catch((e) => console.log(e.message.split(":")[0]))
`,
    )
    expect(out).toBe(`PGlite could not open a database in ${notAFolder}`)
    expect(code).toBe(0)
  })

  it("serves kysely through the agents' driver: transactions see their own writes, a rollback leaves nothing", async () => {
    const db = makeKysely<{ tally: { n: number } }>(await openPGlite())
    try {
      await sql`create table tally (n int)`.execute(db)
      await db
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto("tally").values({ n: 1 }).execute()
          expect(await trx.selectFrom("tally").select("n").execute()).toEqual([{ n: 1 }])
          throw new Error("changed my mind")
        })
        .catch(() => undefined)
      const updated = await db.insertInto("tally").values({ n: 2 }).executeTakeFirst()
      expect(updated.numInsertedOrUpdatedRows).toBe(1n)
      expect(await db.selectFrom("tally").select("n").execute()).toEqual([{ n: 2 }])
    } finally {
      await db.destroy()
    }
  })

  it("never keeps its process alive once idle", async () => {
    // A script that opens a database, asks one statement and forgets to close it: it still ends.
    const { out, code } = await runScript(
      "forgets.ts",
      `import { openPGliteThread } from ${JSON.stringify(join(import.meta.dirname, "pgliteThread.ts"))}
const db = await openPGliteThread(undefined)
console.log(JSON.stringify((await db.query("select 41 + 1 as n", [])).rows))
`,
    )
    expect(out).toBe('[{"n":42}]')
    expect(code).toBe(0)
  })
})
