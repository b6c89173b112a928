/** Resolving local infrastructure (env, private process, container) and its scoped Effect forms. */
export {
  findRepoRoot,
  type NatsSource,
  NatsUnavailable,
  PostgresUnavailable,
  projectDataDir,
  type ResolvedNats,
  type ResolveNatsOptions,
  resolveNats,
  scopedNats,
  scopedNatsServer,
  scopedPostgres,
} from "./localStack.ts"

/** Private nats-server processes and clusters for tests, the demo and `mesh dev`. */
export {
  assertReplicatedCapable,
  freePorts,
  isReplicatedCapable,
  type NatsClusterHandle,
  type NatsClusterMembership,
  type NatsClusterOptions,
  type NatsServerHandle,
  NatsServerNotFound,
  type NatsServerOptions,
  NatsServerStartFailed,
  NatsServerUnsupported,
  type NatsServerVersion,
  natsServerVersion,
  parseNatsServerVersion,
  startNatsCluster,
  startNatsServer,
} from "./natsServer.ts"

/** Postgres for kysely: DATABASE_URL through a pg pool, or embedded PGlite. */
export {
  makeKysely,
  openPGlite,
  openPostgresPool,
  type PostgresSource,
  postgresDialect,
  type ResolvedPostgres,
  type ResolvePostgresOptions,
  resolvePostgres,
} from "./postgres.ts"

/** Test helpers without a test runner: unique namespaces and a Postgres schema per test file. (vitest hooks: `@mesh/stack/vitest`.) */
export {
  freshPostgresSchema,
  type NatsServerFixture,
  type PostgresTestSchema,
  postgresTestUrl,
  uniqueNamespace,
  withSearchPath,
  workspaceNode,
} from "./testing.ts"
