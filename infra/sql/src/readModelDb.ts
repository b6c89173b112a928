import { resolve } from "node:path"
import type { Worker } from "node:worker_threads"
import { Config, Context, Duration, Effect, Layer, Redacted, Schema } from "effect"
import { type Kysely, sql } from "kysely"
import { makeKysely, openPGlite, openPostgresPool, type PostgresSource } from "./postgres.ts"

/** The database URL is not one this service can open; `message` names what is wrong with it. */
export const InvalidDatabaseUrl = Schema.TaggedStruct("InvalidDatabaseUrl", { message: Schema.String })
/** The database could not be opened or did not answer. */
export const DatabaseUnavailable = Schema.TaggedStruct("DatabaseUnavailable", {
  /** Where it was looked for, without a password. */
  location: Schema.String,
  cause: Schema.Defect(),
})

/**
 * The embedded database is gone while the process runs (PGlite's thread died): unlike a server's
 * outage it does not come back by itself, since nothing can open its files again beside the dead
 * thread. The process stops so that it is restarted, and its next start opens them again (an
 * in-memory one starts empty, and its read models are built again from the log).
 */
export const DatabaseLost = Schema.TaggedStruct("DatabaseLost", {
  location: Schema.String,
  cause: Schema.Defect(),
})

/** The one error of the read-model database; `reason` says which failure it is and keeps its cause. */
export class ReadModelDbError extends Schema.TaggedError<ReadModelDbError>()("ReadModelDbError", {
  reason: Schema.Union([InvalidDatabaseUrl, DatabaseUnavailable, DatabaseLost]),
}) {
  override get message(): string {
    const reason = this.reason
    if (reason._tag === "InvalidDatabaseUrl") return reason.message
    if (reason._tag === "DatabaseUnavailable")
      return `the read-model database at ${reason.location} is unavailable: ${causeText(reason.cause)}`
    return `the read-model database (${reason.location}) is lost: ${causeText(reason.cause)}; the process must start again to open it`
  }
}

const causeText = (cause: unknown): string =>
  cause instanceof Error
    ? cause.message || cause.name
    : typeof cause === "string"
      ? cause
      : (JSON.stringify(cause) ?? String(cause))

/** Where a database URL points, in the two forms the mesh accepts. */
export type DatabaseTarget =
  | { readonly _tag: "postgres"; readonly url: string; readonly location: string }
  | { readonly _tag: "pglite"; readonly dir: string | undefined; readonly location: string }

/**
 * Reads a read-model database URL: `postgres://…` or `postgresql://…` for a server, `pglite:<dir>`
 * for embedded PGlite keeping its files in `<dir>` (relative to the working directory), or
 * `pglite:memory` for an in-memory one that lives as long as the process.
 */
export const parseDatabaseUrl = (url: string, variable = "MESH_DATABASE_URL"): DatabaseTarget => {
  const trimmed = url.trim()
  if (trimmed.startsWith("pglite:")) {
    const path = trimmed.slice("pglite:".length).replace(/^\/\//, "")
    if (path === "")
      throw invalid(`${variable} "pglite:" needs a folder (pglite:.data/pglite) or pglite:memory`)
    if (path === "memory") return { _tag: "pglite", dir: undefined, location: "in-memory PGlite" }
    const dir = resolve(path)
    return { _tag: "pglite", dir, location: `PGlite in ${dir}` }
  }
  let parsed: URL
  try {
    parsed = new URL(trimmed)
  } catch {
    throw invalid(`${variable} must be postgres://user@host:port/db, pglite:<folder> or pglite:memory`)
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")
    throw invalid(
      `${variable} has scheme "${parsed.protocol}"; expected postgres://, postgresql://, or pglite:<folder>`,
    )
  if (parsed.hostname === "")
    throw invalid(`${variable} names no host; expected postgres://user@host:port/db`)
  const shown = new URL(trimmed)
  if (shown.password !== "") shown.password = "***"
  return { _tag: "postgres", url: trimmed, location: shown.toString() }
}

const invalid = (message: string) => new ReadModelDbError({ reason: { _tag: "InvalidDatabaseUrl", message } })

/** An agent's read-model database: Postgres through a pg pool, or embedded PGlite. */
export interface ReadModelDbShape {
  /**
   * The database, untyped at this boundary: each agent narrows it to its own schema with
   * `db.withTables<Tables>()`, so that no agent reads another's tables by type.
   */
  readonly db: Kysely<unknown>
  readonly source: PostgresSource
  /** Where it lives, safe to print (no password). */
  readonly location: string
  /** Answers when the database does; fails with `DatabaseUnavailable` within `timeoutMs` otherwise. */
  readonly ping: (timeoutMs?: number) => Effect.Effect<void, ReadModelDbError>
  /**
   * Fails with `DatabaseLost` when the database is gone for the rest of the process (an embedded
   * one whose thread died); never ends otherwise. The agent host stops on it, to be restarted.
   */
  readonly lost: Effect.Effect<never, ReadModelDbError>
}

/** How to open the read-model database. */
export interface ReadModelDbOptions {
  /** Connections to a Postgres server (default 10). */
  readonly poolSize?: number
  /** For tests: PGlite's thread once started, e.g. to end it the way a crash would. */
  readonly pgliteThread?: (thread: Worker) => void
  /** Embedded PGlite's thread runs at this nice value once open (see {@link EMBEDDED_DATABASE_NICENESS}). */
  readonly pgliteNiceness?: number
}

/**
 * Opens the database for the life of the scope. Opening PGlite takes seconds, so a process that
 * stops meanwhile (another setting was bad) does not wait for it: the wait is interruptible, and a
 * database that arrives after the interruption is closed when it does.
 */
const acquire = (target: DatabaseTarget, options: ReadModelDbOptions) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const opening =
        target._tag === "postgres"
          ? Promise.resolve(openPostgresPool(target.url, { max: options.poolSize ?? 10 }))
          : openPGlite(target.dir, {
              ...(options.pgliteThread === undefined ? {} : { started: options.pgliteThread }),
              ...(options.pgliteNiceness === undefined ? {} : { niceness: options.pgliteNiceness }),
            })
      return restore(
        Effect.tryPromise({
          try: () => opening,
          catch: (cause) =>
            new ReadModelDbError({
              reason: { _tag: "DatabaseUnavailable", location: target.location, cause },
            }),
        }),
      ).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            opening.then(
              (late) => late.close(),
              () => undefined,
            )
          }),
        ),
        Effect.tap((resolved) =>
          Effect.addFinalizer(() => Effect.promise(() => resolved.close().catch(() => undefined))),
        ),
      )
    }),
  )

/** Opens `target` for the life of the scope, and checks that it answers before handing it out. */
export const makeReadModelDb = (target: DatabaseTarget, options: ReadModelDbOptions = {}) =>
  Effect.gen(function* () {
    const resolved = yield* acquire(target, options)
    const db = makeKysely<unknown>(resolved)
    const ping = (timeoutMs = 5_000) =>
      Effect.tryPromise({
        try: () => sql`select 1`.execute(db),
        catch: (cause) =>
          new ReadModelDbError({
            reason: { _tag: "DatabaseUnavailable", location: target.location, cause },
          }),
      }).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(timeoutMs),
          orElse: () =>
            Effect.fail(
              new ReadModelDbError({
                reason: {
                  _tag: "DatabaseUnavailable",
                  location: target.location,
                  cause: new Error(`no answer within ${timeoutMs} ms`),
                },
              }),
            ),
        }),
        Effect.asVoid,
      )
    yield* ping(10_000)
    const lost: Effect.Effect<never, ReadModelDbError> =
      resolved.lost === undefined
        ? Effect.never
        : Effect.flatMap(
            Effect.promise(() => resolved.lost!),
            (cause) =>
              Effect.fail(
                new ReadModelDbError({ reason: { _tag: "DatabaseLost", location: target.location, cause } }),
              ),
          )
    return ReadModelDb.of({ db, source: resolved.source, location: target.location, ping, lost })
  })

/**
 * The nice value of a process's embedded database thread (PGlite) when the process is configured
 * from its environment, as agents are; tests that open a database themselves keep the process's
 * priority. The database's thread serves the reactions' reads and the projections' writes; the
 * event loop beside it carries every delivery, acknowledgement and append, which each hop between
 * agents waits on. Where cores are short (the shop's day keeps a 2-core machine busy), the database
 * lowered yields a core to the event loop rather than share it. Measured with `pnpm bench day`
 * (200 tickets), 2026-12-07, the two played in turn: the mesh's part of a hop p99 18.9-60.3 ms
 * over 10 runs (median 30), where it was 32.8-113 ms over 9 at the process's priority (median 51);
 * its commit p99 13-28 ms where it was 24-57 ms; the reactions' own work and the whole hop no
 * longer (hop p99 130-194 ms against 181-293 ms), and the full day as long (43.4-51.9 s over 5
 * runs against 45.8-46.3 s). At nice 19 the mesh's part fell further (p99 19-24 ms, 3 runs) but
 * the full day took 48-57 s. Lowering V8's helper threads, LanceDB's or the demo's process instead
 * gained nothing over the noise.
 */
export const EMBEDDED_DATABASE_NICENESS = 10

const PoolSize = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 1000 })),
)

/** The read-model database of a process: one per process, closed when its layer's scope closes. */
export class ReadModelDb extends Context.Service<ReadModelDb, ReadModelDbShape>()("mesh/ReadModelDb") {
  /** Opens the database a URL names (see {@link parseDatabaseUrl}); a secret, so it is kept redacted. */
  static readonly layer = (
    url: Redacted.Redacted<string>,
    options: Pick<ReadModelDbOptions, "poolSize" | "pgliteNiceness"> & { readonly variable?: string } = {},
  ): Layer.Layer<ReadModelDb, ReadModelDbError> =>
    Layer.effect(
      ReadModelDb,
      Effect.suspend(() => {
        const target = Effect.try({
          try: () => parseDatabaseUrl(Redacted.value(url), options.variable),
          catch: (error) =>
            error instanceof ReadModelDbError
              ? error
              : new ReadModelDbError({
                  reason: { _tag: "InvalidDatabaseUrl", message: causeText(error) },
                }),
        })
        return Effect.flatMap(target, (t) =>
          makeReadModelDb(t, {
            ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
            ...(options.pgliteNiceness === undefined ? {} : { pgliteNiceness: options.pgliteNiceness }),
          }),
        )
      }),
    )

  /** In-memory PGlite: for tests and one-off tools, gone when the process ends. */
  static readonly layerMemory: Layer.Layer<ReadModelDb, ReadModelDbError> = Layer.effect(
    ReadModelDb,
    Effect.suspend(() => makeReadModelDb({ _tag: "pglite", dir: undefined, location: "in-memory PGlite" })),
  )

  /**
   * Reads `MESH_DATABASE_URL` (required, redacted) and `MESH_DATABASE_POOL_SIZE` (default 10). A
   * process without it stops with an error naming the variable: production never falls back to an
   * embedded database it was not told to use.
   */
  static readonly layerFromConfig: Layer.Layer<ReadModelDb, ReadModelDbError | Config.ConfigError> =
    Layer.unwrap(
      Effect.gen(function* () {
        const url = yield* Config.Redacted("MESH_DATABASE_URL")
        const poolSize = yield* Config.schema(PoolSize, "MESH_DATABASE_POOL_SIZE").pipe(
          Config.withDefault(10),
        )
        return ReadModelDb.layer(url, { poolSize, pgliteNiceness: EMBEDDED_DATABASE_NICENESS })
      }),
    )
}
