import { existsSync } from "node:fs"
import pg from "pg"
import { afterAll, describe, expect, it } from "vitest"
import { type PostgresServerHandle, startPostgresServer } from "./postgresServer.ts"

const started: Array<PostgresServerHandle> = []
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()))
})

const query = async (url: string, text: string) => {
  const client = new pg.Client({ connectionString: url })
  client.on("error", () => undefined)
  await client.connect()
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end().catch(() => undefined)
  }
}

describe("startPostgresServer", () => {
  it("serves a private database that keeps its committed rows through a SIGKILL and a restart on the same port", async () => {
    const server = await startPostgresServer({ database: "mesh" })
    started.push(server)
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/mesh`)
    expect(server.port).not.toBe(5432)
    expect(server.running).toBe(true)
    expect(server.version).toMatch(/^\d+/)

    await query(server.url, "create table kept (n int primary key)")
    await query(server.url, "insert into kept select generate_series(1, 1000)")

    // A session in the middle of a transaction sees its connection die with the server.
    const open = new pg.Client({ connectionString: server.url })
    const broken = new Promise<Error>((resolve) => open.on("error", resolve))
    await open.connect()
    await open.query("begin")
    await open.query("insert into kept values (1001)")

    const firstPid = server.pid
    await server.kill()
    expect(server.running).toBe(false)
    expect(server.pid).toBeUndefined()
    expect((await broken).message).toMatch(/terminated|ECONNRESET|closed/i)
    await expect(query(server.url, "select 1")).rejects.toThrow(/ECONNREFUSED/)

    await server.restart()
    expect(server.running).toBe(true)
    expect(server.pid).not.toBe(firstPid)
    const [row] = await query(server.url, "select count(*)::int as n, max(n) as top from kept")
    expect(row).toEqual({ n: 1000, top: 1000 })
    expect(server.logTail()).toMatch(/not properly shut down|automatic recovery/)

    const dataDir = server.dataDir
    await server.stop()
    expect(server.running).toBe(false)
    expect(existsSync(dataDir)).toBe(false)
    await server.stop()
  })
})
