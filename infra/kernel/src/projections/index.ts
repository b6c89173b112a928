/** Projections into Postgres/PGlite read models: batched, checkpointed in the same transaction, rebuildable. */
export type { BatchOutcome, FailedEvent, PendingCommit } from "./batch.ts"
export {
  DeadLetterFailed,
  describeProjectionError,
  HandlerFailed,
  LogFailed,
  Misconfigured,
  NewerVersionLive,
  ProjectionError,
  ProjectionErrorReason,
  RebuildRunning,
  RebuildSuperseded,
  StoreFailed,
  VersionSuperseded,
} from "./errors.ts"
export { quoteIdentifier, readModelSchemaOf, shadowSchemaName } from "./names.ts"
export {
  defaultBatchSize,
  defaultLingerMs,
  defineProjection,
  type FailurePolicy,
  kernelTableNames,
  type Projection,
  type ProjectionEvent,
  type ProjectionSpec,
  type ProjectionStream,
  type ProjectionTarget,
} from "./projection.ts"
export {
  defaultRebuildLeaseMs,
  makeProjector,
  type ProjectionSetup,
  type ProjectionStatus,
  type Projector,
  type ProjectorOptions,
  type RebuildOptions,
  type RebuildProgress,
  type RebuildReport,
  rebuildBatchFactor,
  type StreamStatus,
} from "./projector.ts"
export { awaitReadModelAt, type ProjectionAt, ReadModelBehind } from "./readModelAt.ts"
export {
  type Checkpoints,
  kernelMigrations,
  kernelMigrationTable,
  type RebuildLease,
  readCheckpointOn,
  readCheckpoints,
} from "./store.ts"
