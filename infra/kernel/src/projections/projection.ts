import { assertSubjectToken, type Domain, type EventDefinition, type EventOf } from "@mesh/contracts"
import type { SubjectFilter } from "@mesh/eventlog"
import type { Transaction } from "kysely"
import { assertIdentifier } from "./names.ts"

/** One stream a projection reads: a domain's stream, optionally narrowed to a subject filter. */
export interface ProjectionStream {
  readonly domain: Domain
  /**
   * A subject filter inside the domain stream, e.g. `Subjects.aggregateTypeWildcard(...)` for the
   * aggregate types it reads (several need NATS 2.10); whole domain when omitted. Subjects name
   * aggregate types, not event types: a projection cannot have the server filter by event type.
   */
  readonly filterSubject?: SubjectFilter
}

/** One event handed to a projection, with where its commit sits in the log. */
export interface ProjectionEvent<D extends EventDefinition> {
  readonly event: EventOf<D>
  /** The JetStream stream name, e.g. `MESH_CUSTOMER`. */
  readonly stream: string
  readonly subject: string
  /** The stream sequence of the event's commit (all events of a commit share it). */
  readonly sequence: number
  /** The event's position inside its commit, from 0. */
  readonly index: number
}

/**
 * Where a projection's tables are: the live service schema, or a rebuild's shadow schema. The
 * projector sets `search_path` to `schema` for every transaction it runs, so unqualified table
 * names (query builder and raw SQL alike) reach the right tables.
 */
export interface ProjectionTarget {
  readonly schema: string
  readonly rebuild: boolean
}

/** What a projector does with an event its handler fails on: stop with an error, or park it and go on. */
export type FailurePolicy = "stop" | "dead-letter"

/** Reserved table names of the kernel in every service schema. */
export const kernelTableNames: ReadonlyArray<string> = [
  "mesh_checkpoints",
  "mesh_projections",
  "mesh_rebuilds",
  "mesh_kernel_migration",
  "mesh_kernel_migration_lock",
]

/**
 * A read model as data and functions. `apply` must be deterministic in the events it is given and
 * must not depend on how the events are cut into batches (the projector re-applies a failing batch
 * event by event to pin the failing event), and it must only touch the projection's own `tables`,
 * by unqualified name, so that the same code fills the live tables and a rebuild's shadow copies.
 */
export interface Projection<D extends EventDefinition, DB> {
  /** Unique in its service; a NATS subject token (it names the dead-letter subject). */
  readonly name: string
  /**
   * Bump when `createTables` or `apply` change meaning: a projector then rebuilds before serving.
   * That includes learning an event type: until its catalogue has the type, the projector skips
   * its events (counting them on /status) and its checkpoint moves past them, so only the rebuild
   * a version bump runs applies them.
   */
  readonly version: number
  readonly streams: ReadonlyArray<ProjectionStream>
  /** The read-model tables this projection owns (created by `createTables`, swapped by a rebuild). */
  readonly tables: ReadonlyArray<string>
  readonly onFailure: FailurePolicy
  /** Most commits applied in one transaction. */
  readonly batchSize: number
  /** How long a partial batch waits for more commits before it is applied. */
  readonly lingerMs: number
  /** Creates `tables` (and their indexes) in the target schema; runs inside a transaction with `search_path` set. */
  readonly createTables: (trx: Transaction<DB>, target: ProjectionTarget) => Promise<void>
  /** Applies a batch of events in the projector's transaction; throwing rolls the batch back. */
  readonly apply: (
    trx: Transaction<DB>,
    events: ReadonlyArray<ProjectionEvent<D>>,
    target: ProjectionTarget,
  ) => Promise<void>
}

/** The declaration {@link defineProjection} accepts; batching has defaults. */
export interface ProjectionSpec<D extends EventDefinition, DB>
  extends Omit<Projection<D, DB>, "batchSize" | "lingerMs"> {
  readonly batchSize?: number
  readonly lingerMs?: number
}

/** Default most commits per transaction. */
export const defaultBatchSize = 256
/** Default wait for a partial batch. */
export const defaultLingerMs = 20

/** Declares a projection, rejecting a declaration the projector could not run safely. */
export const defineProjection = <D extends EventDefinition, DB>(
  spec: ProjectionSpec<D, DB>,
): Projection<D, DB> => {
  assertSubjectToken("projection name", spec.name)
  const problem = (message: string) => new TypeError(`projection ${spec.name}: ${message}`)
  if (!Number.isInteger(spec.version) || spec.version < 1) {
    throw problem(`version ${spec.version} must be an integer from 1`)
  }
  if (spec.streams.length === 0) throw problem("reads no stream")
  const domains = new Set(spec.streams.map((s) => s.domain))
  if (domains.size !== spec.streams.length) {
    // The checkpoint is kept per stream, so two filters on one stream would share (and corrupt) it.
    throw problem("reads a domain stream twice; use one subject filter per domain")
  }
  if (spec.tables.length === 0) throw problem("owns no table")
  for (const table of spec.tables) {
    assertIdentifier(`projection ${spec.name} table`, table)
    if (kernelTableNames.includes(table)) throw problem(`table name ${table} is reserved by the kernel`)
  }
  if (new Set(spec.tables).size !== spec.tables.length) throw problem("lists a table twice")
  const batchSize = spec.batchSize ?? defaultBatchSize
  if (!Number.isInteger(batchSize) || batchSize < 1) throw problem(`batchSize ${batchSize} must be >= 1`)
  const lingerMs = spec.lingerMs ?? defaultLingerMs
  if (!(lingerMs >= 0)) throw problem(`lingerMs ${lingerMs} must be >= 0`)
  return { ...spec, batchSize, lingerMs }
}
