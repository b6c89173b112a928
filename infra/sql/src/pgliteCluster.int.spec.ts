import { execFile } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as pglite from "@electric-sql/pglite"
import { afterAll, describe, expect, it } from "vitest"
import { openPGliteCluster } from "./pgliteCluster.ts"

// Each test keeps its clusters in a folder of its own, so that it sees the cluster being made and
// never disturbs the shared one other suites start from.
const scratch = mkdtempSync(join(tmpdir(), "mesh-pglite-cluster-spec-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const tablesOf = async (db: pglite.PGlite) =>
  (
    await db.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = 'public' order by 1",
    )
  ).rows.map((r) => r.name)

describe("an embedded database started from this PGlite build's initialised cluster", () => {
  it("makes the cluster once, and each new database, in a folder or in memory, starts from it clean", async () => {
    const clusters = join(scratch, "once")
    const first = await openPGliteCluster(pglite, join(scratch, "once-a"), clusters)
    await first.exec("create table tickets (id text primary key); insert into tickets values ('t-1')")
    await first.close()

    const [version] = readdirSync(clusters)
    expect(version).toMatch(/^\d+\.\d+\.\d+/)
    expect(existsSync(join(clusters, version!, "cluster", "PG_VERSION"))).toBe(true)
    expect(existsSync(join(clusters, version!, "cluster.tar"))).toBe(true)
    expect(readdirSync(clusters), "no half-built cluster is left").toEqual([version])

    // Another database never sees the first one's tables: each is a copy of the untouched cluster.
    const second = await openPGliteCluster(pglite, join(scratch, "once-b"), clusters)
    expect(await tablesOf(second)).toEqual([])
    await second.close()
    const inMemory = await openPGliteCluster(pglite, undefined, clusters)
    expect(await tablesOf(inMemory)).toEqual([])
    await inMemory.exec("create table orders (id text)")
    await inMemory.close()
    const again = await openPGliteCluster(pglite, undefined, clusters)
    expect(await tablesOf(again)).toEqual([])
    await again.close()

    // A folder that holds a database is opened as it is.
    const reopened = await openPGliteCluster(pglite, join(scratch, "once-a"), clusters)
    expect((await reopened.query<{ id: string }>("select id from tickets")).rows).toEqual([{ id: "t-1" }])
    await reopened.close()
  })

  it("still opens a working database, by initdb, when no cluster can be kept", async () => {
    // The clusters' folder is a file: nothing can be made there.
    const blocked = join(scratch, "blocked")
    writeFileSync(blocked, "not a folder")
    const db = await openPGliteCluster(pglite, join(scratch, "blocked-db"), blocked)
    await db.exec("create table t (x int); insert into t values (1)")
    expect((await db.query<{ x: number }>("select x from t")).rows).toEqual([{ x: 1 }])
    await db.close()
    const inMemory = await openPGliteCluster(pglite, undefined, blocked)
    expect(await tablesOf(inMemory)).toEqual([])
    await inMemory.close()
  })

  it("takes no cluster from a folder another user could write, and opens by initdb instead", async () => {
    const shared = join(scratch, "shared")
    const planted = await openPGliteCluster(pglite, join(scratch, "shared-a"), shared)
    await planted.close()
    const [version] = readdirSync(shared)
    // Someone else's table in the cluster, as a writer of the folder could put there.
    const tampered = new pglite.PGlite(join(shared, version!, "cluster"))
    await tampered.exec("create table planted (x int)")
    await tampered.close()
    chmodSync(shared, 0o777)
    const db = await openPGliteCluster(pglite, join(scratch, "shared-b"), shared)
    expect(await tablesOf(db)).toEqual([])
    await db.close()
    const inMemory = await openPGliteCluster(pglite, undefined, shared)
    expect(await tablesOf(inMemory)).toEqual([])
    await inMemory.close()
  })

  it("gives every process a working database when several make the cluster at once, and keeps one", async () => {
    const clusters = join(scratch, "raced")
    const module = new URL("./pgliteCluster.ts", import.meta.url).pathname
    const child = (n: number) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `import * as pglite from "@electric-sql/pglite"
             import { openPGliteCluster } from ${JSON.stringify(module)}
             const db = await openPGliteCluster(pglite, ${JSON.stringify(join(scratch, `raced-${n}`))}, ${JSON.stringify(clusters)})
             await db.exec("create table t (x int); insert into t values (${n})")
             const { rows } = await db.query("select x from t")
             await db.close()
             console.log(JSON.stringify(rows))`,
          ],
          { cwd: import.meta.dirname, timeout: 120_000 },
          (error, stdout, stderr) => (error === null ? resolve(stdout.trim()) : reject(new Error(stderr))),
        ),
      )
    expect(await Promise.all([child(1), child(2)])).toEqual([
      JSON.stringify([{ x: 1 }]),
      JSON.stringify([{ x: 2 }]),
    ])
    const [version, ...others] = readdirSync(clusters)
    expect(others, "one cluster kept, no half-built one left").toEqual([])
    expect(existsSync(join(clusters, version!, "cluster", "PG_VERSION"))).toBe(true)
    expect(readdirSync(scratch).filter((name) => name.includes(".copying-"))).toEqual([])
  }, 180_000)
})
