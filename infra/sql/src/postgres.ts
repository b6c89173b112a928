import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from "kysely"
import pg from "pg"
import { openPGliteThread, type PGliteSession, type PGliteThreadOptions } from "./pgliteThread.ts"

/** Where a read-model database lives: a Postgres server, or embedded PGlite. */
export type PostgresSource = "postgres" | "pglite"

/** A Postgres database ready for kysely; `close` releases what was opened (pool or PGlite). */
export interface ResolvedPostgres {
  readonly dialect: Dialect
  readonly source: PostgresSource
  /** The connection string when `source` is "postgres"; undefined for PGlite. */
  readonly url: string | undefined
  /** Where PGlite keeps its files; undefined for in-memory PGlite and for a server. */
  readonly dataDir: string | undefined
  /** Ends the pool or closes PGlite. Idempotent; also what `Kysely#destroy` calls. */
  close(): Promise<void>
  /**
   * PGlite only: settles with the reason when the embedded database is lost without being closed
   * (its thread died). A server's outage is not a loss: the pool connects again when it is back.
   */
  readonly lost?: Promise<Error>
}

const once = (fn: () => Promise<void>): (() => Promise<void>) => {
  let running: Promise<void> | undefined
  return () => {
    running ??= fn()
    return running
  }
}

// kysely's drivers keep state in #private fields, so delegate method by method (not via a prototype).
const delegatingDriver = (inner: Driver, destroy: () => Promise<void>): Driver => ({
  init: () => inner.init(),
  acquireConnection: () => inner.acquireConnection(),
  releaseConnection: (connection) => inner.releaseConnection(connection),
  beginTransaction: (connection, settings) => inner.beginTransaction(connection, settings),
  commitTransaction: (connection) => inner.commitTransaction(connection),
  rollbackTransaction: (connection) => inner.rollbackTransaction(connection),
  ...(inner.savepoint && { savepoint: inner.savepoint.bind(inner) }),
  ...(inner.rollbackToSavepoint && { rollbackToSavepoint: inner.rollbackToSavepoint.bind(inner) }),
  ...(inner.releaseSavepoint && { releaseSavepoint: inner.releaseSavepoint.bind(inner) }),
  destroy,
})

/** A `pg.Pool` dialect whose `destroy` is the shared idempotent close. */
export const postgresDialect = (pool: pg.Pool, close: () => Promise<void>): Dialect => {
  const inner = new PostgresDialect({ pool })
  return {
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createDriver: () => delegatingDriver(inner.createDriver(), close),
  }
}

/** Opens a `pg.Pool` on `url` as a {@link ResolvedPostgres} with source "postgres". */
export const openPostgresPool = (
  url: string,
  poolConfig: Omit<pg.PoolConfig, "connectionString"> = {},
): ResolvedPostgres => {
  // A server that hangs (stopped, partitioned) must fail a call rather than hold it forever, so
  // that the host sees the outage and retries: a connection within 10 s, an answer within 60 s
  // (well above the longest batch or migration statement measured here).
  const pool = new pg.Pool({
    max: 10,
    connectionTimeoutMillis: 10_000,
    query_timeout: 60_000,
    ...poolConfig,
    connectionString: url,
  })
  // A client losing its server (a restart, a failover) must not crash the process. An idle client
  // reports it on the pool; a checked-out one (a projector's open transaction) on the client
  // itself, where Node treats an unheard 'error' as fatal. The query in flight still rejects with
  // the error, and the pool replaces the broken client on the next checkout.
  pool.on("error", () => undefined)
  pool.on("connect", (client) => {
    client.on("error", () => undefined)
  })
  const close = once(async () => {
    if (!pool.ended) await pool.end()
  })
  return { dialect: postgresDialect(pool, close), source: "postgres", url, dataDir: undefined, close }
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`

// Statements whose affected-row count kysely reports (as its Postgres driver reads pg's rowCount).
const countsRows = /^\s*(insert|update|delete|merge)\b/i
// A transaction's begin and its `set local` (a projection's search path): nothing to read from either.
const opensTransaction = /^\s*(?:start\s+transaction|begin|set\s+local)\b/i

/**
 * The one session of a PGlite database as kysely connections, each query run as it comes. Ours
 * rather than kysely-pglite's: importing that package loads its code generator too (babel through
 * jiti), about 0.8 s of CPU in every agent process that opens PGlite; and its connections reported
 * no affected rows, so an update's `numUpdatedRows` was always 0 on PGlite.
 */
const pgliteSession = (client: PGliteSession): Driver => ({
  init: async () => undefined,
  acquireConnection: async () => {
    // A transaction's opening statements, held until its next statement goes: they answer nothing
    // a caller reads, and sent with it they cost one hand-over to PGlite's thread instead of three,
    // while the one session is held. The first of them to fail fails that statement, which then
    // does not run (a begin or a search path that failed must not let it run elsewhere).
    let opening: Array<string> = []
    return {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        if (query.parameters.length === 0 && opensTransaction.test(query.sql)) {
          opening.push(query.sql)
          return { rows: [] }
        }
        const before = opening
        opening = []
        const result = await client.query<R>(query.sql, query.parameters, before)
        return countsRows.test(query.sql) && result.affectedRows !== undefined
          ? { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) }
          : { rows: result.rows }
      },
      // biome-ignore lint/correctness/useYield: PGlite answers a query whole; there is nothing to stream
      streamQuery: async function* () {
        throw new Error("PGlite does not stream query results")
      },
    }
  },
  beginTransaction: async () => undefined,
  commitTransaction: async () => undefined,
  rollbackTransaction: async () => undefined,
  releaseConnection: async () => undefined,
  destroy: async () => undefined,
})

/**
 * PGlite is one session, and a connection of {@link pgliteSession} is unsynchronised: a query
 * issued while another caller's transaction is open would run inside it. This driver lends the one
 * session to one borrower at a time (like kysely's SQLite driver); inside `db.transaction()` use
 * the `trx` handle, never the outer `db`, or the call waits for itself.
 */
const serialisedPGliteDriver = (inner: Driver, close: () => Promise<void>): Driver => {
  let tail: Promise<void> = Promise.resolve()
  const releases = new Map<DatabaseConnection, () => void>()
  const raw = (connection: DatabaseConnection, sql: string) =>
    connection.executeQuery(CompiledQuery.raw(sql)).then(() => undefined)
  return {
    init: () => inner.init(),
    acquireConnection: async () => {
      const previous = tail
      let release!: () => void
      tail = new Promise((resolve) => {
        release = resolve
      })
      await previous
      try {
        const connection = await inner.acquireConnection()
        releases.set(connection, release)
        return connection
      } catch (error) {
        release()
        throw error
      }
    },
    releaseConnection: async (connection) => {
      await inner.releaseConnection(connection)
      const release = releases.get(connection)
      releases.delete(connection)
      release?.()
    },
    beginTransaction: (connection, settings: TransactionSettings) => {
      const modes = [
        settings.isolationLevel ? `isolation level ${settings.isolationLevel}` : undefined,
        settings.accessMode,
      ].filter((m) => m !== undefined)
      return raw(connection, `start transaction${modes.length > 0 ? ` ${modes.join(", ")}` : ""}`)
    },
    commitTransaction: (connection) => raw(connection, "commit"),
    rollbackTransaction: (connection) => raw(connection, "rollback"),
    savepoint: (connection, name) => raw(connection, `savepoint ${quoteIdent(name)}`),
    rollbackToSavepoint: (connection, name) => raw(connection, `rollback to savepoint ${quoteIdent(name)}`),
    releaseSavepoint: (connection, name) => raw(connection, `release savepoint ${quoteIdent(name)}`),
    destroy: close,
  }
}

/** Opens embedded PGlite (files in `dataDir`, or in memory) as a {@link ResolvedPostgres}. */
export const openPGlite = async (
  dataDir?: string,
  options: PGliteThreadOptions = {},
): Promise<ResolvedPostgres> => {
  // A process on Postgres never starts the thread, nor loads PGlite's WebAssembly.
  const client = await openPGliteThread(dataDir, options)
  // Idempotent by itself: every caller of a second close waits for the first.
  const close = client.close
  const dialect: Dialect = {
    createAdapter: () => new PostgresAdapter(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createDriver: () => serialisedPGliteDriver(pgliteSession(client), close),
  }
  return { dialect, source: "pglite", url: undefined, dataDir, close, lost: client.lost }
}

/** A typed Kysely over a resolved database; `destroy()` on it closes the database too. */
export const makeKysely = <DB>(resolved: Pick<ResolvedPostgres, "dialect">): Kysely<DB> =>
  new Kysely<DB>({ dialect: resolved.dialect })
