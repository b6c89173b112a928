import { Effect, Schema } from "effect"
import {
  type DatabaseIntrospector,
  type Kysely,
  type Migration,
  Migrator,
  sql,
  type TableMetadata,
} from "kysely"

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

/**
 * A migration failed (it was rolled back) or the database could not be reached; `cause` is what was
 * thrown, so that a supervisor can tell a bad migration from a database that went away.
 */
export class MigrationError extends Schema.TaggedError<MigrationError>()("MigrationError", {
  schema: Schema.String,
  migration: Schema.NullOr(Schema.String),
  cause: Schema.Defect(),
}) {
  override get message(): string {
    return this.migration === null
      ? `migrating schema ${this.schema} failed: ${describe(this.cause)}`
      : `migration ${this.migration} of schema ${this.schema} failed and was rolled back: ${describe(this.cause)}`
  }
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

// Thrown inside the promise code only, to carry which migration failed out to the Effect boundary.
class FailedMigration extends Error {
  readonly migration: string
  constructor(migration: string, cause: unknown) {
    super(describe(cause), { cause })
    this.migration = migration
  }
}

/**
 * kysely's migrator asks whether its tables exist by introspecting every column of every table in
 * the database, through functions that look schemas up by name: a schema dropped meanwhile by
 * anyone (a projection rebuild's swap, another service) failed the migration with "schema … does
 * not exist", and a large database made every start slow. It only needs to know the tables of its
 * own schema.
 */
const schemaIntrospector = (conn: Kysely<unknown>, schema: string): DatabaseIntrospector => {
  const getTables = async (): Promise<Array<TableMetadata>> => {
    const result = await sql<{ name: string; is_view: boolean }>`
      select c.relname as name, c.relkind = 'v' as is_view
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${schema} and c.relkind in ('r', 'v', 'p')`.execute(conn)
    return result.rows.map((r) => ({ name: r.name, schema, isView: r.is_view, columns: [] }))
  }
  return {
    getSchemas: async () =>
      (
        await sql<{ name: string }>`
          select nspname as name from pg_catalog.pg_namespace where nspname = ${schema}`.execute(conn)
      ).rows,
    getTables,
    getMetadata: async () => ({ tables: await getTables() }),
  }
}

/** `conn` with its introspection narrowed to `schema` (methods stay bound to the real instance). */
const withSchemaIntrospection = <DB>(conn: Kysely<DB>, schema: string): Kysely<DB> => {
  const introspection = schemaIntrospector(conn as unknown as Kysely<unknown>, schema)
  return new Proxy(conn, {
    get: (target, property) => {
      if (property === "introspection") return introspection
      const value: unknown = Reflect.get(target, property, target)
      // Kysely keeps its state in private fields, which only the real instance can reach.
      return typeof value === "function" ? value.bind(target) : value
    },
  })
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
          db: withSchemaIntrospection(conn, schema) as unknown as Kysely<never>,
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
          cause: cause instanceof FailedMigration ? cause.cause : cause,
        }),
    }).pipe(
      Effect.map((executed) => ({ schema: plan.schema, executed })),
      Effect.withSpan("runMigrations", { attributes: { schema: plan.schema } }),
    )
  })
