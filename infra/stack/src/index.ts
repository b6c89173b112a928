/** Resolving local infrastructure (env, private process, container) and its scoped Effect forms. */

/** The nats-server a running `mesh dev` keeps on the project's store, for others to reuse. */
export { type DevServerState, findDevServer } from "./devServer.ts"
export {
  findRepoRoot,
  type NatsSource,
  NatsUnavailable,
  projectDataDir,
  type ResolvedNats,
  type ResolveNatsOptions,
  resolveNats,
  scopedNats,
  scopedNatsServer,
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
/**
 * Child processes killed, and temp folders removed, when this process dies, however it dies (a
 * supervisor's agents, a test's config files).
 */
export { ownProcess, ownTempDir, releaseTempDir } from "./ownedProcesses.ts"
/** Private PostgreSQL servers for tests that kill and restart their database. */
export {
  type PostgresServerHandle,
  PostgresServerNotFound,
  type PostgresServerOptions,
  PostgresServerStartFailed,
  startPostgresServer,
} from "./postgresServer.ts"
/** One timed spec at a time across every worker process, released however its holder exits. */
export { type QuietLane, takeQuietLane } from "./quietLane.ts"
/** Docs that compile: README snippets quoted from `// #region readme:<name>` blocks. */
export { readmeQuote, sourceRegion } from "./readmeSnippets.ts"
/** Test helpers without a test runner: unique namespaces and a Postgres schema per test file. (vitest hooks: `@mesh/stack/vitest`.) */
export {
  freshPostgresSchema,
  type NatsServerFixture,
  type PostgresTestSchema,
  postgresTestUrl,
  uniqueNamespace,
  type WaitForOptions,
  waitFor,
  withSearchPath,
  workspaceNode,
} from "./testing.ts"
