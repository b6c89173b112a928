/** The kernel's test projection and its traffic, for tests and benchmarks of other packages. */
export {
  caughtUp,
  openTestPGlite,
  openTestPostgres,
  projectedOnce,
  type TestDatabase,
  waitUntil,
} from "./harness.ts"
export {
  doubleApplied,
  type MeshDefinition,
  type TicketProjectionOptions,
  type TicketReadModel,
  tableChecksum,
  ticketProjection,
  ticketReadModelChecksum,
} from "./ticketProjection.ts"
export {
  eventCount,
  makeTicketAppender,
  type TrafficCommit,
  type TrafficOptions,
  ticketTraffic,
} from "./traffic.ts"
