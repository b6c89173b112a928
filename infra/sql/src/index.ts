/** The read-model database as a service: Postgres through a pg pool, or embedded PGlite. */

/** The connections beneath it, for tests and tools that manage their own: a pg pool, PGlite, a Kysely over either. */
export {
  makeKysely,
  openPGlite,
  openPostgresPool,
  type PostgresSource,
  postgresDialect,
  type ResolvedPostgres,
} from "./postgres.ts"
export {
  DatabaseLost,
  type DatabaseTarget,
  DatabaseUnavailable,
  InvalidDatabaseUrl,
  makeReadModelDb,
  parseDatabaseUrl,
  ReadModelDb,
  ReadModelDbError,
  type ReadModelDbOptions,
  type ReadModelDbShape,
} from "./readModelDb.ts"
