/** Shared registers on JetStream KV: the service an agent's layer provides, and its errors. */

/** Conflicts no merge settles, answered by a person, and invariant violations: recorded once each. */
export {
  type Conflict,
  type ConflictAnswer,
  type ConflictEscalation,
  type ConflictResolution,
  type ConflictsShape,
  conflictIdOf,
  makeConflicts,
  type RecordedViolation,
  valuesDigest,
  violationIdOf,
} from "./conflicts.ts"
export {
  describeRegisterError,
  RegisterError,
  RegisterErrorReason,
  registerUnavailable,
} from "./registerError.ts"
export {
  makeRegisters,
  type RegisterChangedEvent,
  type RegisterReading,
  Registers,
  type RegistersOptions,
  type RegistersShape,
  registerSiteConfig,
  type SiteValue,
  type WriteOptions,
  type WriteOutcome,
} from "./registers.ts"

/** Replication of the register buckets between sites. */
export {
  applyReplication,
  declareReplication,
  diffReplication,
  domainApiPrefix,
  type PeerReplicationStatus,
  type PeerSite,
  type PeerSource,
  type ReplicationDeclaration,
  type ReplicationOptions,
  type ReplicationReport,
  replicationStatus,
  resumeReplication,
  type SourceDrift,
  type SupervisionOptions,
  siteKeysFilter,
  superviseReplication,
} from "./sites.ts"
