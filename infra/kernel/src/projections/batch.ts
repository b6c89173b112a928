import type { EventDefinition, EventOf } from "@mesh/contracts"
import { type Kysely, sql, type Transaction } from "kysely"
import { isTransientError } from "../host/transient.ts"
import { messageOf } from "./errors.ts"
import type { Projection, ProjectionEvent, ProjectionTarget } from "./projection.ts"
import {
  type Checkpoints,
  lockAndAdvanceCheckpoints,
  lockCheckpointRows,
  nameCheckpoints,
  readRegistration,
  saveCheckpoints,
  targetSchema,
} from "./store.ts"

/** A commit read from the log, waiting to be applied. */
export interface PendingCommit<D extends EventDefinition> {
  readonly stream: string
  readonly subject: string
  readonly sequence: number
  /** The events of types the projector's catalogue knows. */
  readonly events: ReadonlyArray<EventOf<D>>
  /** The types of the commit's other events (a newer writer's), skipped; one entry per event. */
  readonly unknownTypes?: ReadonlyArray<string>
}

/** The event a handler failed on. */
export interface FailedEvent {
  readonly stream: string
  readonly subject: string
  readonly sequence: number
  readonly eventType: string
  readonly eventId: string
  readonly message: string
}

/** What applying one batch did; it is committed unless the call threw. */
export interface BatchOutcome {
  /** Commits applied (or dead-lettered) in this batch. */
  readonly commits: number
  readonly events: number
  /** Commits at or below the checkpoint, already applied by an earlier run or another replica. */
  readonly skipped: number
  /** The checkpoints after the batch, for every stream the batch touched. */
  readonly checkpoints: Checkpoints
  readonly deadLettered: ReadonlyArray<FailedEvent>
  /** Set under the "stop" policy: everything before this commit was committed, this one was not. */
  readonly failure: FailedEvent | undefined
  /** The types of the events of unknown types the batch passed over, one entry per event. */
  readonly skippedTypes: ReadonlyArray<string>
}

/** Where and how a batch is applied. */
export interface BatchContext<D extends EventDefinition, DB> {
  readonly projection: Projection<D, DB>
  /** The service schema, holding the checkpoint table. */
  readonly schema: string
  /** The checkpoint key: the projection name, or its rebuild key. */
  readonly key: string
  readonly target: ProjectionTarget
  /** Parks a commit in the dead-letter stream; called before the batch commits. */
  readonly deadLetter: (commit: PendingCommit<D>, failure: FailedEvent) => Promise<void>
  /**
   * Checked first in every batch's transaction, before the checkpoints are locked; throws to keep
   * the batch out (a rebuild whose lease was taken over must not write into its successor's tables).
   */
  readonly fence?: (trx: Transaction<unknown>) => Promise<void>
  /**
   * The version whose tables the batch writes into: checked against the version the locked
   * checkpoint rows name, so after any swap that took them first (a swap holds them until it
   * commits, and sets their version with the tables). A live projector sets it, so that a replica
   * of one version never writes into another version's tables.
   */
  readonly version?: number
}

/** The live tables are of another version than the batch's (another build's rebuild swapped them in); nothing was written. */
export class VersionSwapped extends Error {
  readonly liveVersion: number | undefined
  constructor(liveVersion: number | undefined) {
    super(`the live tables are now of version ${liveVersion}`)
    this.liveVersion = liveVersion
  }
}

/** The handler threw; the batch is retried event by event to find which event and apply the rest. */
class HandlerThrew extends Error {}

/** Dead-lettering failed: the batch rolls back and the projector stops rather than skip the event. */
export class DeadLetterThrew extends Error {
  readonly stream: string
  readonly sequence: number
  constructor(stream: string, sequence: number, cause: unknown) {
    super(messageOf(cause), { cause })
    this.stream = stream
    this.sequence = sequence
  }
}

const toEvents = <D extends EventDefinition>(
  commits: ReadonlyArray<PendingCommit<D>>,
): Array<ProjectionEvent<D>> => {
  const events: Array<ProjectionEvent<D>> = []
  for (const c of commits) {
    for (let index = 0; index < c.events.length; index++) {
      events.push({
        event: c.events[index]!,
        stream: c.stream,
        subject: c.subject,
        sequence: c.sequence,
        index,
      })
    }
  }
  return events
}

const streamsOf = (commits: ReadonlyArray<{ readonly stream: string }>): Array<string> => [
  ...new Set(commits.map((c) => c.stream)),
]

/** The highest sequence of each stream's commits. */
const highestOf = (commits: ReadonlyArray<{ readonly stream: string; readonly sequence: number }>) => {
  const highest = new Map<string, number>()
  for (const c of commits) highest.set(c.stream, Math.max(highest.get(c.stream) ?? 0, c.sequence))
  return highest
}

/**
 * Locks the checkpoints and keeps the commits not yet applied, in order. `advance` also moves the
 * checkpoints past every commit in the same statement, for a batch that applies them all or none.
 */
const lockAndFilter = async <D extends EventDefinition, DB>(
  trx: Transaction<DB>,
  ctx: BatchContext<D, DB>,
  commits: ReadonlyArray<PendingCommit<D>>,
  advance: boolean,
) => {
  await ctx.fence?.(trx as Transaction<unknown>)
  const streams = streamsOf(commits)
  const rows = advance
    ? await lockAndAdvanceCheckpoints(trx as Transaction<unknown>, ctx.schema, ctx.key, highestOf(commits))
    : await lockCheckpointRows(trx as Transaction<unknown>, ctx.schema, ctx.key, streams)
  const locked = rows.checkpoints
  if (ctx.version !== undefined && (rows.versions.size !== 1 || !rows.versions.has(ctx.version))) {
    // Rows that name no version or another are settled by the registration, which no swap is
    // changing while these rows are held (a swap locks every live row first). A swap by a kernel
    // before rows named versions leaves them so: named again here, they spare the next batch this read.
    const live = (await readRegistration(trx as Transaction<unknown>, ctx.schema, ctx.projection.name))
      ?.version
    if (live !== ctx.version) throw new VersionSwapped(live)
    await nameCheckpoints(trx as Transaction<unknown>, ctx.schema, ctx.key, streams, ctx.version)
  }
  const fresh = commits.filter((c) => c.sequence > (locked.get(c.stream) ?? 0))
  return { locked, fresh }
}

const moved = (before: Checkpoints, after: Checkpoints): Checkpoints =>
  new Map([...after].filter(([stream, sequence]) => before.get(stream) !== sequence))

const noTypes: ReadonlyArray<string> = []

const unknownTypesOf = (commits: ReadonlyArray<PendingCommit<EventDefinition>>): ReadonlyArray<string> => {
  let types = noTypes
  for (const c of commits) {
    if (c.unknownTypes !== undefined && c.unknownTypes.length > 0) types = [...types, ...c.unknownTypes]
  }
  return types
}

/** The fast path: the whole batch in one handler call. Throws {@link HandlerThrew} when the handler fails. */
const applyWhole = async <D extends EventDefinition, DB>(
  trx: Transaction<DB>,
  ctx: BatchContext<D, DB>,
  commits: ReadonlyArray<PendingCommit<D>>,
): Promise<BatchOutcome> => {
  // The checkpoints move with the lock: the handler's failure rolls both back.
  const { locked, fresh } = await lockAndFilter(trx, ctx, commits, true)
  const skipped = commits.length - fresh.length
  if (fresh.length === 0) {
    return {
      commits: 0,
      events: 0,
      skipped,
      checkpoints: locked,
      deadLettered: [],
      failure: undefined,
      skippedTypes: noTypes,
    }
  }
  const events = toEvents(fresh)
  // A batch of only a newer writer's events has nothing to apply, but its checkpoint still moves.
  if (events.length > 0) {
    await targetSchema(trx as Transaction<unknown>, ctx.target.schema)
    try {
      await ctx.projection.apply(trx, events, ctx.target)
    } catch (cause) {
      // The database going away under the handler is not the handler's failure: the batch fails as a store failure.
      throw isTransientError(cause) ? cause : new HandlerThrew(messageOf(cause))
    }
  }
  // Where the statement above left the rows: the highest fresh commit on each stream.
  const after = new Map([...locked, ...highestOf(fresh)])
  return {
    commits: fresh.length,
    events: events.length,
    skipped,
    checkpoints: after,
    deadLettered: [],
    failure: undefined,
    skippedTypes: unknownTypesOf(fresh),
  }
}

/**
 * The careful path, inside the caller's transaction: each commit under a savepoint, each event
 * in its own handler call, so that the failing event is named and, under "dead-letter", parked
 * while the rest of the batch is applied.
 */
export const applyCarefully = async <D extends EventDefinition, DB>(
  trx: Transaction<DB>,
  ctx: BatchContext<D, DB>,
  commits: ReadonlyArray<PendingCommit<D>>,
): Promise<BatchOutcome> => {
  const { locked, fresh } = await lockAndFilter(trx, ctx, commits, false)
  const after = new Map(locked)
  const deadLettered: Array<FailedEvent> = []
  let failure: FailedEvent | undefined
  let applied = 0
  let events = 0
  if (fresh.length > 0) await targetSchema(trx as Transaction<unknown>, ctx.target.schema)
  for (const commit of fresh) {
    await sql`savepoint mesh_commit`.execute(trx)
    let failed: FailedEvent | undefined
    for (const event of toEvents([commit])) {
      try {
        await ctx.projection.apply(trx, [event], ctx.target)
      } catch (cause) {
        // A lost connection, a deadlock or a statement timeout must not stop the projection for
        // good, nor park a good event under "dead-letter": the whole batch fails and is retried.
        if (isTransientError(cause)) throw cause
        failed = {
          stream: commit.stream,
          subject: commit.subject,
          sequence: commit.sequence,
          eventType: event.event.type,
          eventId: event.event.eventId,
          message: messageOf(cause),
        }
        break
      }
    }
    if (failed === undefined) {
      await sql`release savepoint mesh_commit`.execute(trx)
      events += commit.events.length
    } else {
      await sql`rollback to savepoint mesh_commit`.execute(trx)
      if (ctx.projection.onFailure === "stop") {
        failure = failed
        break
      }
      try {
        await ctx.deadLetter(commit, failed)
      } catch (cause) {
        throw new DeadLetterThrew(commit.stream, commit.sequence, cause)
      }
      deadLettered.push(failed)
    }
    applied++
    after.set(commit.stream, commit.sequence)
  }
  await saveCheckpoints(trx as Transaction<unknown>, ctx.schema, ctx.key, moved(locked, after))
  return {
    commits: applied,
    events,
    skipped: commits.length - fresh.length,
    checkpoints: after,
    deadLettered,
    failure,
    skippedTypes: unknownTypesOf(fresh.slice(0, applied)),
  }
}

/**
 * Applies a batch in one transaction together with its checkpoint, so that a crash at any point
 * leaves either both or neither. Commits at or below the locked checkpoint are skipped, which makes
 * a restart, a redelivery or a second replica harmless. When the handler fails, the transaction
 * rolls back and the batch is re-applied carefully in a fresh one.
 */
export const applyBatch = async <D extends EventDefinition, DB>(
  db: Kysely<DB>,
  ctx: BatchContext<D, DB>,
  commits: ReadonlyArray<PendingCommit<D>>,
): Promise<BatchOutcome> => {
  try {
    return await db.transaction().execute((trx) => applyWhole(trx, ctx, commits))
  } catch (error) {
    if (!(error instanceof HandlerThrew)) throw error
  }
  return db.transaction().execute((trx) => applyCarefully(trx, ctx, commits))
}
