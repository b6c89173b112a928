import type { EventDefinition } from "@mesh/contracts"
import { meshCatalog } from "@mesh/contracts"
import { applyTopology, declareTopology, type EventLog, makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { makeKysely, openPGlite } from "@mesh/sql"
import { freshPostgresSchema, uniqueNamespace } from "@mesh/stack"
import { Cause, Effect, Exit, Fiber } from "effect"
import { type Kysely, sql } from "kysely"
import type { Projection } from "../projection.ts"
import { makeProjector } from "../projector.ts"
import type { MeshDefinition } from "./ticketProjection.ts"

/** A database for the projection tests, with a fresh service schema per call of `newSchema`. */
export interface TestDatabase {
  readonly dialect: "postgres" | "pglite"
  readonly db: Kysely<unknown>
  /** A schema name nobody uses yet; dropped (with any shadow schemas) by `close`. */
  readonly newSchema: () => string
  readonly close: () => Promise<void>
}

const schemaName = () => uniqueNamespace("kp").replaceAll("-", "_")

/** Real Postgres: a pool on the test database (its schemas are dropped on close). */
export const openTestPostgres = async (): Promise<TestDatabase> => {
  const postgres = await freshPostgresSchema({ prefix: "kpbase" })
  const db = makeKysely<unknown>(postgres)
  const created: Array<string> = []
  return {
    dialect: "postgres",
    db,
    newSchema: () => {
      const schema = schemaName()
      created.push(schema)
      return schema
    },
    close: async () => {
      for (const schema of created) {
        const derived = await sql<{ nspname: string }>`
          select nspname from pg_namespace where nspname = ${schema} or nspname like ${`${schema}\\_\\_%`}`.execute(
          db,
        )
        for (const { nspname } of derived.rows)
          await sql`drop schema if exists ${sql.id(nspname)} cascade`.execute(db)
      }
      await db.destroy()
    },
  }
}

/** Embedded PGlite in memory (the demo's default). */
export const openTestPGlite = async (): Promise<TestDatabase> => {
  const pglite = await openPGlite()
  const db = makeKysely<unknown>(pglite)
  return { dialect: "pglite", db, newSchema: schemaName, close: () => db.destroy() }
}

/** A fresh namespace with its streams declared, and its event log. */
export const freshEventLog = async (nats: NatsHandles, prefix = "kp"): Promise<EventLog<MeshDefinition>> => {
  const namespace = uniqueNamespace(prefix)
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  return makeEventLog({ nats, catalog: meshCatalog, namespace })
}

/**
 * Polls until `condition` holds; fails at once with the fiber's cause when one of `watched` ends
 * first (a projector that stopped), and after `timeoutMs` otherwise.
 */
export const waitUntil = async (
  condition: () => Promise<boolean> | boolean,
  options: {
    readonly timeoutMs?: number
    readonly watched?: ReadonlyArray<Fiber.Fiber<unknown, unknown>>
  } = {},
): Promise<void> => {
  const deadline = performance.now() + (options.timeoutMs ?? 30_000)
  for (;;) {
    if (await condition()) return
    for (const fiber of options.watched ?? []) {
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) {
        throw new Error(
          `a watched fiber ended early: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "it succeeded"}`,
        )
      }
    }
    if (performance.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The typed error a projector's effect failed with; throws when it succeeded or died. */
export const failureOf = <E>(exit: Exit.Exit<unknown, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected the projector to fail")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail")
    throw new Error(`expected a typed failure: ${Cause.pretty(exit.cause)}`)
  return reason.error
}

/** Waits until a projector has no lag (failing at once if one of `watched` ends first). */
export const caughtUp = (
  projector: { readonly status: Effect.Effect<{ readonly lag: number }, unknown> },
  watched: ReadonlyArray<Fiber.Fiber<unknown, unknown>> = [],
) =>
  waitUntil(async () => (await Effect.runPromise(projector.status)).lag === 0, { watched, timeoutMs: 60_000 })

/**
 * Projects `eventLog` with `projection` into a fresh schema of `database` until it has no lag, then
 * stops the projector: the read model as the log stands, for a test to query. The schema's name.
 */
export const projectedOnce = async <D extends EventDefinition, DB>(options: {
  readonly projection: Projection<D, DB>
  readonly database: TestDatabase
  readonly eventLog: EventLog<D>
}): Promise<string> => {
  const schema = options.database.newSchema()
  const projector = makeProjector({
    projection: options.projection,
    db: options.database.db as Kysely<DB>,
    schema,
    eventLog: options.eventLog,
  })
  const fiber = Effect.runFork(projector.run)
  await caughtUp(projector, [fiber])
  await Effect.runPromise(Fiber.interrupt(fiber))
  return schema
}
