import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { openPGliteThread, type PGliteSession } from "./pgliteThread.ts"

// The statements an agent sends its embedded database are prepared once per text and search path
// (pgliteStatements.ts). These specs hold it to answering exactly as PGlite's own query does:
// wherever the same text names another table, after definitions change, and after errors.

let db: PGliteSession
beforeEach(async () => {
  db = await openPGliteThread(undefined)
})
afterEach(async () => {
  await db.close()
})

const inTransaction = async <A>(path: string, work: () => Promise<A>): Promise<A> => {
  await db.query("start transaction", [])
  try {
    await db.query(`set local search_path to ${path}, public`, [])
    const result = await work()
    await db.query("commit", [])
    return result
  } catch (error) {
    await db.query("rollback", [])
    throw error
  }
}

/** Two versions of a projection's tables: the same column, text in v1 and json in v2. */
const createFactsVersions = async (): Promise<void> => {
  for (const statement of [
    "create schema v1",
    "create table v1.facts (id int primary key, value text)",
    "create schema v2",
    "create table v2.facts (id int primary key, value jsonb)",
  ])
    await db.query(statement, [])
}

const preparedCount = async (text: string): Promise<number> =>
  (
    await db.query<{ n: number }>(
      "select count(*)::int as n from pg_prepared_statements where statement = $1",
      [text],
    )
  ).rows[0]!.n

describe("statements prepared once on the embedded database", () => {
  it("prepares a text once and answers it as often as it is asked", async () => {
    await db.query("create table notes (id int primary key, body text)", [])
    const insert = "insert into notes (id, body) values ($1, $2)"
    for (let id = 1; id <= 5; id++) {
      expect((await db.query(insert, [id, `note ${id}`])).affectedRows).toBe(1)
    }
    expect(await preparedCount(insert)).toBe(1)
    const select = "select id, body from notes where id > $1 order by id"
    expect((await db.query(select, [3])).rows).toEqual([
      { id: 4, body: "note 4" },
      { id: 5, body: "note 5" },
    ])
    expect((await db.query(select, [4])).rows).toEqual([{ id: 5, body: "note 5" }])
    expect(await preparedCount(select)).toBe(1)
  })

  it("keeps one statement per search path: the same text names each schema's own table, with its own types", async () => {
    await createFactsVersions()
    const insert = "insert into facts (id, value) values ($1, $2)"
    const read = "select value from facts where id = $1"
    for (let round = 1; round <= 3; round++) {
      await inTransaction("v1", () => db.query(insert, [round, `plain ${round}`]))
      await inTransaction("v2", () => db.query(insert, [round, { round }]))
      expect(await inTransaction("v1", () => db.query(read, [round]))).toMatchObject({
        rows: [{ value: `plain ${round}` }],
      })
      expect(await inTransaction("v2", () => db.query(read, [round]))).toMatchObject({
        rows: [{ value: { round } }],
      })
    }
    // Outside a transaction the session's own path holds: public, where there is no such table.
    await expect(db.query(read, [1])).rejects.toMatchObject({ code: "42P01" })
    // A session-wide path is followed too.
    await db.query("set search_path to v2, public", [])
    expect((await db.query(read, [2])).rows).toEqual([{ value: { round: 2 } }])
    await db.query("reset search_path", [])
    await expect(db.query(read, [2])).rejects.toMatchObject({ code: "42P01" })
    // A path set from inside a statement is followed as well: after set_config names v1, the text
    // last prepared for v2 (its value json) is not used for v1's text column.
    await db.query("set search_path to v2, public", [])
    await db.query(insert, [10, { round: 10 }])
    await db.query("select set_config('search_path', 'v1, public', false)", [])
    await db.query(insert, [10, "plain 10"])
    expect((await db.query(read, [10])).rows).toEqual([{ value: "plain 10" }])
    await db.query("reset search_path", [])
  })

  it("prepares again after a table's definition changes, in a transaction that commits or rolls back", async () => {
    await db.query("create table counters (id int primary key, n int)", [])
    const insert = "insert into counters (id, n) values ($1, $2)"
    const read = "select n from counters where id = $1"
    await db.query(insert, [1, 7])
    expect((await db.query(read, [1])).rows).toEqual([{ n: 7 }])
    // The column becomes json: a value is now serialised as json, and read back as such.
    await db.query("alter table counters alter column n type jsonb using to_jsonb(n)", [])
    await db.query(insert, [2, { n: 8 }])
    expect((await db.query(read, [2])).rows).toEqual([{ n: { n: 8 } }])
    expect((await db.query(read, [1])).rows).toEqual([{ n: 7 }])
    // Changed and used inside a transaction that rolls back: the old definition is back.
    await db.query("start transaction", [])
    await db.query("alter table counters alter column n type text using n::text", [])
    await db.query(insert, [3, "three"])
    expect((await db.query(read, [3])).rows).toEqual([{ n: "three" }])
    await db.query("rollback", [])
    await db.query(insert, [3, [3]])
    expect((await db.query(read, [3])).rows).toEqual([{ n: [3] }])
  })

  it("follows the path back when a savepoint is rolled back to", async () => {
    for (const statement of [
      "create schema a",
      "create table a.t (v text)",
      "create schema b",
      "create table b.t (v jsonb)",
    ])
      await db.query(statement, [])
    const insert = "insert into t (v) values ($1)"
    await db.query("start transaction", [])
    await db.query("set local search_path to a, public", [])
    await db.query("savepoint s", [])
    await db.query("set local search_path to b, public", [])
    await db.query(insert, [{ in: "b" }])
    await db.query("rollback to savepoint s", [])
    // Back on a, whose column is text: the value goes there as it is, not as json.
    await db.query(insert, ["in a"])
    await db.query("commit", [])
    expect((await db.query("select v from a.t", [])).rows).toEqual([{ v: "in a" }])
    expect((await db.query("select v from b.t", [])).rows).toEqual([])
  })

  it("fails a statement with Postgres's own error and code, and goes on serving", async () => {
    await db.query("create table keys (id int primary key)", [])
    const insert = "insert into keys (id) values ($1)"
    await db.query(insert, [1])
    await expect(db.query(insert, [1])).rejects.toMatchObject({
      code: "23505",
      message: expect.stringContaining("duplicate key"),
    })
    await expect(db.query("select from keys wher id = $1", [1])).rejects.toMatchObject({ code: "42601" })
    await expect(db.query("create table keys (id int)", [])).rejects.toMatchObject({
      code: "42P07",
      message: expect.stringContaining("already exists"),
    })
    await expect(db.query("select 1 / 0", [])).rejects.toMatchObject({ code: "22012" })
    await expect(db.query(insert, ["not a number"])).rejects.toMatchObject({ code: "22P02" })
    // In a transaction an error aborts it; statements fail until it is rolled back, then all is well.
    await db.query("start transaction", [])
    await expect(db.query(insert, [1])).rejects.toMatchObject({ code: "23505" })
    await expect(db.query(insert, [2])).rejects.toMatchObject({ code: "25P02" })
    await db.query("rollback", [])
    await db.query(insert, [2])
    expect((await db.query("select id from keys order by id", [])).rows).toEqual([{ id: 1 }, { id: 2 }])
  })

  it("follows a chained commit, a commented statement, and statements dropped behind its back", async () => {
    await createFactsVersions()
    const insert = "insert into facts (id, value) values ($1, $2)"
    // The session's path is v2: the insert is prepared for it, its value json.
    await db.query("set search_path to v2, public", [])
    await db.query(insert, [1, { at: 1 }])
    // commit and chain begins the next transaction at once: its local path (v1, set by a statement
    // that opens with a comment) holds, not the session's.
    await db.query("start transaction", [])
    await db.query("set local search_path to v2, public", [])
    await db.query(insert, [2, { at: 2 }])
    await db.query("commit and chain", [])
    await db.query("/* the next version */ set local search_path to v1, public", [])
    await db.query(insert, [3, "three"])
    await db.query("commit", [])
    expect((await db.query("select id, value from v1.facts", [])).rows).toEqual([{ id: 3, value: "three" }])
    await db.query("reset search_path", [])
    // A caller's deallocate drops the runner's statements too: they are prepared again.
    await db.query("deallocate all", [])
    await inTransaction("v2", () => db.query(insert, [4, { at: 4 }]))
    expect((await db.query("select count(*)::int as n from v2.facts", [])).rows).toEqual([{ n: 3 }])
  })

  it("runs the statements sent before one first, and fails it without running it when one of them fails", async () => {
    await db.query("create table marks (n int)", [])
    const answer = await db.query(
      "insert into marks values ($1)",
      [1],
      ["start transaction", "set local work_mem = '8MB'"],
    )
    expect(answer.affectedRows).toBe(1)
    expect((await db.query("show work_mem", [])).rows).toEqual([{ work_mem: "8MB" }])
    await db.query("commit", [])
    await expect(
      db.query("insert into marks values ($1)", [2], ["start transaction", "set local no_such.setting to"]),
    ).rejects.toMatchObject({ code: "42601", query: "set local no_such.setting to" })
    await db.query("rollback", [])
    expect((await db.query("select n from marks", [])).rows).toEqual([{ n: 1 }])
  })

  it("answers every statement sent before a close, then closes", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "pglite-statements-"))
    try {
      const kept = await openPGliteThread(dataDir)
      await kept.query("create table sent (n int)", [])
      // A long statement first, so that the close arrives while the inserts still wait their turn.
      const long = kept.query("select count(*)::int as n from generate_series(1, 3000000)", [])
      const sent = Array.from({ length: 20 }, (_, n) => kept.query("insert into sent values ($1)", [n]))
      const closed = kept.close()
      expect((await Promise.all(sent)).map((answer) => answer.affectedRows)).toEqual(Array(20).fill(1))
      expect((await long).rows).toEqual([{ n: 3_000_000 }])
      await closed
      const reopened = await openPGliteThread(dataDir)
      expect((await reopened.query("select count(*)::int as n from sent", [])).rows).toEqual([{ n: 20 }])
      await reopened.close()
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it("answers statements sent together in the order sent", async () => {
    await db.query("create table log (at int primary key)", [])
    const insert = "insert into log (at) values ($1)"
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, at) =>
        at % 10 === 9 ? db.query("select count(*)::int as n from log", []) : db.query(insert, [at]),
      ),
    )
    // Each count saw exactly the inserts sent before it.
    expect(
      answers.flatMap((answer, at) => (at % 10 === 9 ? [(answer.rows[0] as { n: number }).n] : [])),
    ).toEqual([9, 18, 27, 36, 45])
  })
})
