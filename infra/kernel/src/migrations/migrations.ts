import { Effect, Schema } from "effect"
import { type Kysely, type Migration, Migrator, sql } from "kysely"

/** The migrations of one service schema: kysely migrations keyed by name (a sortable timestamp, e.g. `2026-11-25T1000_tickets`). */
export interface MigrationPlan {
  /** The service schema; created if missing. Migrations run with `search_path` set to it. */
  readonly schema: string
  readonly migrations: Readonly<Record<string, Migration>>
  /**
   * kysely's bookkeeping table in `schema` (default `kysely_migration`). Independent migration sets
   * that share a schema (the kernel's own tables and a service's) each keep their own.
   */
  readonly tableName?: string
}

/** What a migration run did. */
export interface MigrationReport {
  readonly schema: string
  /** Migrations this call executed, in order; empty when another replica had already run them. */
  readonly executed: ReadonlyArray<string>
}

/** A migration failed (it was rolled back) or the database could not be reached. */
export class MigrationError extends Schema.TaggedError<MigrationError>()("MigrationError", {
  schema: Schema.String,
  migration: Schema.NullOr(Schema.String),
  cause: Schema.String,
}) {
  override get message(): string {
    return this.migration === null
      ? `migrating schema ${this.schema} failed: ${this.cause}`
      : `migration ${this.migration} of schema ${this.schema} failed and was rolled back: ${this.cause}`
  }
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

// Thrown inside the promise code only, to carry which migration failed out to the Effect boundary.
class FailedMigration extends Error {
  readonly migration: string
  constructor(migration: string, cause: unknown) {
    super(describe(cause))
    this.migration = migration
  }
}

const migrate = <DB>(db: Kysely<DB>, plan: MigrationPlan): Promise<ReadonlyArray<string>> => {
  const { schema } = plan
  const tableName = plan.tableName ?? "kysely_migration"
  // Everything runs on one connection: a session-level advisory lock is only released by the
  // session that took it, and the migrator must run inside that session so replicas starting
  // together queue on the lock and the later ones find nothing left to do. On PGlite there is one
  // session and the serialised driver lends it to one caller at a time, so the lock is granted at
  // once and concurrency is excluded by the driver instead.
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtext('mesh_migrations'), hashtext(${schema}))`.execute(conn)
    try {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(conn)
      // Session-level (not LOCAL) because the migrator opens its own transaction; reset below
      // so that the pooled connection goes back with its original search_path.
      await sql`set search_path to ${sql.id(schema)}, public`.execute(conn)
      try {
        const migrator = new Migrator({
          db: conn as unknown as Kysely<never>,
          provider: { getMigrations: async () => ({ ...plan.migrations }) },
          migrationTableSchema: schema,
          migrationTableName: tableName,
          migrationLockTableName: `${tableName}_lock`,
        })
        const { error, results = [] } = await migrator.migrateToLatest()
        if (error !== undefined) {
          const failed = results.find((r) => r.status === "Error")
          if (failed !== undefined) throw new FailedMigration(failed.migrationName, error)
          throw error
        }
        return results.filter((r) => r.status === "Success").map((r) => r.migrationName)
      } finally {
        await sql`reset search_path`.execute(conn)
      }
    } finally {
      await sql`select pg_advisory_unlock(hashtext('mesh_migrations'), hashtext(${schema}))`.execute(conn)
    }
  })
}

/**
 * Brings a service schema to its latest migration with kysely's migrator, under a per-schema
 * advisory lock, so that replicas starting at once migrate exactly once and all succeed. Each
 * migration runs in its own transaction with `search_path` set to the schema.
 */
export const runMigrations = <DB>(
  db: Kysely<DB>,
  plan: MigrationPlan,
): Effect.Effect<MigrationReport, MigrationError> =>
  Effect.suspend(() => {
    if (!schemaPattern.test(plan.schema)) {
      return Effect.fail(
        new MigrationError({
          schema: plan.schema,
          migration: null,
          cause: "a schema name is 1-63 characters of lowercase letters, digits or '_'",
        }),
      )
    }
    return Effect.tryPromise({
      try: () => migrate(db, plan),
      catch: (cause) =>
        new MigrationError({
          schema: plan.schema,
          migration: cause instanceof FailedMigration ? cause.migration : null,
          cause: describe(cause),
        }),
    }).pipe(
      Effect.map((executed) => ({ schema: plan.schema, executed })),
      Effect.withSpan("runMigrations", { attributes: { schema: plan.schema } }),
    )
  })
