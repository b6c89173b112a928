export * from "./deciders/commandHandler.ts"
export * from "./deciders/decidedOtherwise.ts"
export * from "./deciders/decider.ts"
export * from "./deciders/errors.ts"
export * from "./deciders/ids.ts"
export * from "./deciders/snapshots.ts"
export * from "./deciders/stateForReaction.ts"
export * from "./host/agentDefinition.ts"
export * from "./host/agentHost.ts"
export * from "./host/agentSettings.ts"
export { type MeshLogFormat, MeshLogger, type MeshLogLevel } from "./host/logging.ts"
export * from "./host/main.ts"
export {
  type RebuildAnswer,
  RebuildCommand,
  type RedeliveryAnswer,
  RedeliveryCommand,
} from "./host/operations.ts"
export * from "./host/partSupervisor.ts"
export { processVitals } from "./host/processVitals.ts"
export * from "./host/projectionWorker.ts"
export { bearerOf, decoderOf, problem, readBody, readJson, tenantQueryOf } from "./host/routeHelpers.ts"
export { isTransientError, isTransientFailure } from "./host/transient.ts"
export * from "./migrations/index.ts"
export * from "./projections/index.ts"
export * from "./reactors/reactionsDecidedOtherwise.ts"
export * from "./reactors/reactionTimes.ts"
export * from "./reactors/reactor.ts"
export * from "./reactors/recordedCommands.ts"
export * from "./replay/replay.ts"
export {
  bodyDigest,
  makeReceive,
  makeRequestLog,
  type OutsideRequest,
  type RecordedRequest,
  RequestIdReused,
  type RequestLog,
  RequestLogError,
  requestCommandId,
} from "./requests/outsideRequests.ts"
