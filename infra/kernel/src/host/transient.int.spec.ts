import { makeKysely, openPostgresPool } from "@mesh/sql"
import { freePorts, postgresTestUrl, startNatsServer } from "@mesh/stack"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { sql } from "kysely"
import pg from "pg"
import { describe, expect, it } from "vitest"
import { isTransientError } from "./transient.ts"

// The errors real servers give, classified as the supervisor will see them.

const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error("expected a failure")
    },
    (error: unknown) => error,
  )

describe("errors from a real Postgres", () => {
  it("a backend terminated under a query, a transaction, or found dead in the pool is transient; bad SQL and a broken constraint are not", async () => {
    const db = makeKysely<unknown>(openPostgresPool(postgresTestUrl(), { max: 3 }))
    const admin = new pg.Client({ connectionString: postgresTestUrl() })
    await admin.connect()
    try {
      const tag = `mesh_transient_${process.pid}_${Date.now()}`
      const terminate = async () => {
        // Wait until the victim's statement is running, then end its backend as an operator would.
        for (let i = 0; i < 100; i++) {
          const { rowCount } = await admin.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where query like $1 and pid <> pg_backend_pid()",
            [`%${tag}%`],
          )
          if ((rowCount ?? 0) > 0) return
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        throw new Error("the victim's query never showed up")
      }

      const alone = failureOf(sql`select pg_sleep(10), ${sql.lit(tag)}`.execute(db))
      await terminate()
      const terminated = await alone
      expect(terminated).toMatchObject({ code: "57P01" })
      expect(isTransientError(terminated)).toBe(true)

      // Whether the pool hands the terminated client out again depends on whether its socket's end
      // arrived before the next checkout (seen both ways in CI): when it does, the next BEGIN fails
      // and must read as transient; when it does not, the pool has dropped the client and BEGIN works.
      const reused = await db
        .transaction()
        .execute((trx) => sql`select 1`.execute(trx))
        .then(
          () => undefined,
          (error: unknown) => error,
        )
      if (reused !== undefined) {
        expect(reused).toMatchObject({ message: "Connection terminated unexpectedly" })
        expect(isTransientError(reused)).toBe(true)
      }

      // Inside a transaction kysely's rollback meets the dead connection, and its error is what surfaces.
      const inTransaction = failureOf(
        db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx)
          await sql`select pg_sleep(10), ${sql.lit(tag)}`.execute(trx)
        }),
      )
      await terminate()
      expect(isTransientError(await inTransaction)).toBe(true)

      const syntax = await failureOf(sql`selec 1`.execute(db))
      expect(syntax).toMatchObject({ code: "42601" })
      expect(isTransientError(syntax)).toBe(false)
      const duplicate = await failureOf(
        db.transaction().execute(async (trx) => {
          await sql`create temp table once (n int primary key) on commit drop`.execute(trx)
          await sql`insert into once values (1), (1)`.execute(trx)
        }),
      )
      expect(duplicate).toMatchObject({ code: "23505" })
      expect(isTransientError(duplicate)).toBe(false)
    } finally {
      await admin.end()
      await db.destroy()
    }
  })

  it("a socket cut under a query is transient, and so is the broken client used again", async () => {
    // The network between us and Postgres failing mid-statement: the client's socket is destroyed
    // while pg waits for rows, which pg reports without a SQLSTATE.
    const client = new pg.Client({ connectionString: postgresTestUrl() })
    client.on("error", () => {})
    await client.connect()
    try {
      const running = failureOf(client.query("select pg_sleep(10)"))
      await new Promise((resolve) => setTimeout(resolve, 50))
      ;(client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy()
      const cut = await running
      expect(cut).toMatchObject({ message: "Connection terminated unexpectedly" })
      expect(isTransientError(cut)).toBe(true)
      const again = await failureOf(client.query("select 1"))
      expect(isTransientError(again)).toBe(true)
    } finally {
      await client.end().catch(() => {})
    }
  })

  it("a refused connection is transient", async () => {
    const [port] = await freePorts(1)
    const db = makeKysely<unknown>(openPostgresPool(`postgres://postgres@127.0.0.1:${port}/test`, { max: 1 }))
    try {
      const refused = await failureOf(sql`select 1`.execute(db))
      expect(refused).toMatchObject({ code: "ECONNREFUSED" })
      expect(isTransientError(refused)).toBe(true)
    } finally {
      await db.destroy()
    }
  })
})

describe("errors from a real nats-server", () => {
  it("a request while the server is down is transient; a missing stream and a closed connection are not", async () => {
    const server = await startNatsServer()
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1 })
    try {
      const jsm = await jetstreamManager(nc, { timeout: 500 })
      const missing = await failureOf(jsm.streams.info("NO_SUCH_STREAM"))
      expect(isTransientError(missing)).toBe(false)
      await server.kill()
      const down = await failureOf(jsm.streams.info("NO_SUCH_STREAM"))
      // At once, not at the request's timeout (patches/ of nats-core): lost with the connection, or
      // refused while it reconnects.
      expect(down).toMatchObject({ name: "RequestError", cause: { name: "ConnectionError" } })
      expect(isTransientError(down)).toBe(true)
      await nc.close()
      const closed = await failureOf(jsm.streams.info("NO_SUCH_STREAM"))
      expect(closed).toMatchObject({ name: "ClosedConnectionError" })
      expect(isTransientError(closed)).toBe(false)
    } finally {
      await nc.close()
      await server.stop()
    }
  })
})
