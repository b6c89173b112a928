import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { type Domain, type EventDefinition, Subjects } from "@mesh/contracts"
import {
  DeadLetterHeaders,
  type EventLog,
  type EventLogError,
  type NatsHandles,
  parentSpanOf,
  SkippedEvents,
} from "@mesh/eventlog"
import { headers as natsHeaders } from "@nats-io/transport-node"
import { Clock, Duration, Effect, Schedule, Sink, Stream, type Tracer } from "effect"
import type { ControlledTransaction, Kysely, Transaction } from "kysely"
import { runMigrations } from "../migrations/migrations.ts"
import {
  applyBatch,
  applyCarefully,
  type BatchContext,
  type BatchOutcome,
  DeadLetterThrew,
  type FailedEvent,
  type PendingCommit,
  VersionSwapped,
} from "./batch.ts"
import { messageOf, ProjectionError } from "./errors.ts"
import { forgetLiveCommits, noteLiveCommit, readersWaiting, whenReaderWaits } from "./liveCommits.ts"
import { assertIdentifier, rebuildCheckpointKey, retiredSchemaName, shadowSchemaName } from "./names.ts"
import type { Projection, ProjectionTarget } from "./projection.ts"
import {
  type Checkpoints,
  deleteCheckpoints,
  dropSchema,
  holdsRebuild,
  initCheckpoints,
  kernelMigrations,
  kernelMigrationTable,
  kernelTablesExist,
  lockCheckpoints,
  lockProjectionSetup,
  lockRebuild,
  type RebuildLease,
  type Registration,
  readCheckpoints,
  readRebuild,
  readRegistration,
  recreateSchema,
  releaseRebuild,
  renewRebuild,
  swapIn,
  takeRebuild,
  targetSchema,
  writeRegistration,
} from "./store.ts"

/** How to run one projection. */
export interface ProjectorOptions<D extends EventDefinition, DB> {
  readonly projection: Projection<D, DB>
  readonly db: Kysely<DB>
  /** The service schema holding the live read-model tables and the checkpoints. */
  readonly schema: string
  readonly eventLog: EventLog<D>
  /** Needed when the projection dead-letters: the parked commit is re-read and published through it. */
  readonly nats?: NatsHandles
  /** Called after each committed batch of the live projector (metrics; tests use it to crash on purpose). */
  readonly afterCommit?: (batch: BatchOutcome) => Effect.Effect<void>
  /**
   * When the live tables are of an older version than the declared one: rebuild before serving
   * (default) or fail. Live tables of a newer version are never rebuilt back by `run` (see `run`).
   */
  readonly onStaleVersion?: "rebuild" | "fail"
  /**
   * Where the live projector counts the events it skips because the log's catalogue lacks their
   * type (its own counter by default); `status` reports them.
   */
  readonly skipped?: SkippedEvents
  /** Who this process is, named in a rebuild's lease and in the refusal another replica gets (default `<hostname>/<pid>`). */
  readonly instance?: string
  /**
   * How long a rebuild's lease lasts unrenewed ({@link defaultRebuildLeaseMs}): a rebuild renews
   * it every third of this, and another replica may take the rebuild over once it lapses (the
   * holder crashed). Longer means a crashed rebuild blocks the next one longer; shorter means a
   * long database stall can cost a rebuild its lease.
   */
  readonly rebuildLeaseMs?: number
  /**
   * Told `true` once `run` serves its own version: the live tables are this version's (after its
   * rebuild, or another replica's) and it follows the log from their checkpoints; told `false`
   * when another build swaps its version in and this one stops writing. A host's readiness
   * follows it, so that no route reads tables of another version.
   */
  readonly onServing?: (serving: boolean) => void
  /** How often a serving projector looks for another build's swap while no batch comes ({@link defaultSwapWatchMs}). */
  readonly swapWatchMs?: number
}

/**
 * How often a serving projector reads its registration, to stop serving within this long of
 * another build's swap when no batch comes to find it: one row read per projection every few
 * seconds.
 */
export const defaultSwapWatchMs = 5_000

/**
 * How long a rebuild's lease lasts unrenewed by default. Far above a renewal's round trip, and
 * short enough that a replica killed mid-rebuild holds up the next rebuild for well under a minute.
 */
export const defaultRebuildLeaseMs = 30_000

/** Where one stream of a projection stands. */
export interface StreamStatus {
  readonly domain: Domain
  readonly stream: string
  /** The last applied commit sequence. */
  readonly checkpoint: number
  /** The stream's last sequence. */
  readonly head: number
  /** Sequences behind the head (an upper bound for a subject-filtered stream). */
  readonly lag: number
}

/** Where a projection stands: version and lag per stream. */
export interface ProjectionStatus {
  readonly projection: string
  readonly version: number
  /** The version whose tables are live; undefined before the first start. */
  readonly liveVersion: number | undefined
  readonly streams: ReadonlyArray<StreamStatus>
  /** Total sequences behind the heads. */
  readonly lag: number
  /**
   * Events the live projector passed over since this process started because their type is not
   * in its catalogue (a newer writer's), by type. Its checkpoint has moved past them: a build
   * that knows the type applies them by a rebuild, which bumping the projection's version runs.
   */
  readonly skipped: Readonly<Record<string, number>>
  /** The rebuild running now, on this replica or another (the holder of its lease); undefined when none. */
  readonly rebuilding: RebuildLease | undefined
}

/** What setting a projection up found. */
export interface ProjectionSetup {
  /** The live tables were created just now. */
  readonly created: boolean
  /** The live tables belong to another version than this projection's. */
  readonly stale: boolean
  /** The version whose tables are live. */
  readonly liveVersion: number
  /** Set when an operator rolled the projection back from this version (see `Registration`). */
  readonly rolledBackFrom: number | undefined
}

/** What a rebuild did. */
export interface RebuildReport {
  readonly projection: string
  readonly version: number
  /** The checkpoints the rebuilt tables went live with. */
  readonly checkpoints: Readonly<Record<string, number>>
  /** Events applied into the shadow tables. */
  readonly events: number
  readonly durationMs: number
}

/** Options of a rebuild. */
export interface RebuildOptions {
  /**
   * How close (in sequences per stream) the shadow must be to the live checkpoint before the live
   * projector is paused for the final tail and the swap. Default: the projection's batch size.
   */
  readonly catchUpLag?: number
  /**
   * Most commits per transaction while the shadow catches up. Default: {@link rebuildBatchFactor}
   * times the projection's batch size.
   */
  readonly batchSize?: number
  /** Told after each batch applied to the shadow tables: the events so far and where the shadow stands, by stream. */
  readonly onProgress?: (progress: RebuildProgress) => void
  /**
   * Rebuild even when the live tables are of a newer version than this projection's: a rollback.
   * Without it such a rebuild is refused (`NewerVersionLive`), since during a rolling deploy an
   * operator's command may reach an instance of the old build.
   */
  readonly rollback?: boolean
}

/** How far a rebuild has come. */
export interface RebuildProgress {
  readonly projection: string
  /** Events applied into the shadow tables so far. */
  readonly events: number
  /** The shadow's checkpoint in each stream. */
  readonly checkpoints: Readonly<Record<string, number>>
}

/**
 * How many times larger than a live batch a rebuild's catch-up batch is by default. The shadow
 * must gain on the live projector to ever get within `catchUpLag` of it: with batches of the same
 * size it advances no faster than a live projector kept busy by traffic, and the swap would wait
 * for the traffic to stop. Larger batches spread each transaction's fixed cost (round trips, the
 * commit's fsync) over more commits.
 */
export const rebuildBatchFactor = 4

/** A projection bound to its database and log. */
export interface Projector {
  readonly name: string
  /** Creates the kernel tables, the live tables (first start) and the checkpoint rows; idempotent. */
  readonly setup: Effect.Effect<ProjectionSetup, ProjectionError>
  /**
   * Sets up, rebuilds first if the live tables are of another version, then follows every stream
   * from its checkpoint: catch-up and live are one loop. Runs until interrupted or a failure.
   */
  readonly run: Effect.Effect<void, ProjectionError>
  /** Checkpoints, heads and lag. */
  readonly status: Effect.Effect<ProjectionStatus, ProjectionError>
  /**
   * Rebuilds from sequence zero into shadow tables while the live projector keeps serving, then
   * pauses it (the checkpoint row lock), applies the tail and swaps the tables in atomically.
   */
  readonly rebuild: (options?: RebuildOptions) => Effect.Effect<RebuildReport, ProjectionError>
}

/** The rebuild's lease was taken over by another replica: its writes stop at the fence. */
class LeaseLost extends Error {}

/**
 * Why a rebuild did not start, found under the lease lock: the live tables are of this version
 * already, or of a newer one, or an operator rolled back from this version or a newer one.
 */
type NoRebuild =
  | { readonly _tag: "Current" }
  | { readonly _tag: "Newer"; readonly liveVersion: number }
  | { readonly _tag: "RolledBack" }

/** Whether a replica of `version` must leave live tables of an older version as an operator's rollback left them. */
const heldByRollback = (version: number, rolledBackFrom: number | undefined) =>
  rolledBackFrom !== undefined && version <= rolledBackFrom

type Outcome = { readonly _tag: "Continue" } | { readonly _tag: "Swapped" } | FailedOutcome
interface FailedOutcome {
  readonly _tag: "Failed"
  readonly failure: FailedEvent
}

/** Most links from a batch's span to the traces of its events besides its parent's. */
const maxTraceLinks = 32

/**
 * How a batch's span continues the traces of its events: a span has one parent, so the first
 * traced event's producer is the parent and the other traces are links. An untraced batch (no
 * event carries a trace context) costs one pass over its events.
 */
const traceOptions = (
  batch: ReadonlyArray<PendingCommit<EventDefinition>>,
): { parent?: Tracer.ExternalSpan; links?: Array<Tracer.SpanLink> } => {
  // The events of a commit share its trace context: one look per commit.
  const traced = new Map<string, Tracer.ExternalSpan>()
  for (const commit of batch) {
    const trace = commit.events[0]?.trace
    if (trace === undefined || traced.has(trace.traceparent) || traced.size > maxTraceLinks) continue
    const span = parentSpanOf(trace)
    if (span !== undefined) traced.set(trace.traceparent, span)
  }
  if (traced.size === 0) return {}
  const [parent, ...others] = traced.values()
  return { parent: parent!, links: others.map((span) => ({ span, attributes: {} })) }
}

/** Binds a projection to its database, schema and event log. */
export const makeProjector = <D extends EventDefinition, DB>(options: ProjectorOptions<D, DB>): Projector => {
  const { projection, db, schema, eventLog } = options
  const { name } = projection
  assertIdentifier("schema", schema)
  const untyped = db as unknown as Kysely<unknown>
  const streamOf = (domain: Domain) => Subjects.streamName(eventLog.namespace, domain)
  const streamNames = projection.streams.map((s) => streamOf(s.domain))
  const shadowSchema = shadowSchemaName(schema, name)
  const shadowKey = rebuildCheckpointKey(name)
  const liveTarget: ProjectionTarget = { schema, rebuild: false }
  const shadowTarget: ProjectionTarget = { schema: shadowSchema, rebuild: true }

  const skipped = options.skipped ?? new SkippedEvents()
  const instance = options.instance ?? `${hostname()}/${process.pid}`
  const leaseMs = options.rebuildLeaseMs ?? defaultRebuildLeaseMs
  const fail = (reason: ProjectionError["reason"]) => new ProjectionError({ projection: name, reason })
  const storeFailure = (operation: string) => (cause: unknown) =>
    cause instanceof LeaseLost
      ? fail({ _tag: "RebuildSuperseded", holder: instance })
      : cause instanceof VersionSwapped
        ? fail({
            _tag: "VersionSuperseded",
            version: projection.version,
            ...(cause.liveVersion === undefined ? {} : { liveVersion: cause.liveVersion }),
          })
        : cause instanceof DeadLetterThrew
          ? fail({
              _tag: "DeadLetterFailed",
              stream: cause.stream,
              sequence: cause.sequence,
              message: cause.message,
              cause: cause.cause,
            })
          : fail({ _tag: "StoreFailed", operation, message: messageOf(cause), cause })
  const store = <A>(operation: string, run: () => Promise<A>) =>
    Effect.tryPromise({ try: run, catch: storeFailure(operation) })
  const logFailure = (e: EventLogError) => fail({ _tag: "LogFailed", message: e.message, cause: e })
  const handlerFailure = (f: FailedEvent) =>
    fail({
      _tag: "HandlerFailed",
      stream: f.stream,
      sequence: f.sequence,
      eventType: f.eventType,
      eventId: f.eventId,
      message: f.message,
    })

  const deadLetter = async (commit: PendingCommit<D>, failure: FailedEvent): Promise<void> => {
    const nats = options.nats
    if (nats === undefined) throw new Error("no NATS connection was given to dead-letter with")
    // The original bytes, not a re-encoding of the upcast events: an operator re-drives exactly what was stored.
    const original = await nats.jsm.streams.getMessage(commit.stream, { seq: commit.sequence })
    if (original === null) throw new Error(`${commit.stream}#${commit.sequence} is no longer in the stream`)
    const h = natsHeaders()
    h.set(DeadLetterHeaders.stream, commit.stream)
    h.set(DeadLetterHeaders.sequence, String(commit.sequence))
    h.set(DeadLetterHeaders.subject, commit.subject)
    h.set(DeadLetterHeaders.consumer, name)
    h.set(
      DeadLetterHeaders.reason,
      `${failure.eventType} ${failure.eventId}: ${failure.message}`.replace(/[\r\n]+/g, " ").slice(0, 2_000),
    )
    h.set(DeadLetterHeaders.deliveries, "1")
    // Dedup on the original position: a crash after this publish but before the commit re-parks it once.
    await nats.js.publish(Subjects.deadLetter(eventLog.namespace, name), original.data, {
      headers: h,
      msgID: `${commit.stream}:${commit.sequence}:${name}`,
    })
  }

  /** Where the registration leaves this projection's version (a projection never set up is its own). */
  const versionStateOf = (registration: Registration | undefined): Omit<ProjectionSetup, "created"> => {
    const liveVersion = registration?.version ?? projection.version
    return {
      stale: liveVersion !== projection.version,
      liveVersion,
      rolledBackFrom: registration?.rolledBackFrom,
    }
  }

  const liveContext: BatchContext<D, DB> = {
    projection,
    schema,
    key: name,
    target: liveTarget,
    deadLetter,
    version: projection.version,
  }

  const checkConfiguration =
    projection.onFailure === "dead-letter" && options.nats === undefined
      ? Effect.fail(
          fail({ _tag: "Misconfigured", message: "it dead-letters but no NATS connection was given" }),
        )
      : Effect.void

  /**
   * How long a partial batch of the live tables waits for more commits: the projection's linger,
   * cut short when a reader in this process waits on the live tables (see `liveCommits.ts`), so
   * that an answer waits for its commit, not for throughput's batching.
   */
  const liveLinger = Schedule.fromStep(
    Effect.succeed((_now: number, _input: unknown) => {
      const readerWaits = Effect.callback<void>((resume) => {
        if (readersWaiting(db, schema, name)) return resume(Effect.void)
        const stop = whenReaderWaits(db, schema, name, () => resume(Effect.void))
        return Effect.sync(stop)
      })
      return Effect.raceFirst(Effect.sleep(Duration.millis(projection.lingerMs)), readerWaits).pipe(
        Effect.as([0, Duration.zero] as [number, Duration.Duration]),
      )
    }),
  )

  /**
   * Batches of the commits of every stream from the given checkpoints on; ordered within each
   * stream. Live, a partial batch is applied early for a reader waiting on it.
   */
  const batches = (
    from: Checkpoints,
    batchSize: number,
    live: boolean,
  ): Stream.Stream<ReadonlyArray<PendingCommit<D>>, ProjectionError> => {
    const follows = projection.streams.map((s) =>
      eventLog.follow(s.domain, {
        fromSequence: (from.get(streamOf(s.domain)) ?? 0) + 1,
        ...(s.filterSubject === undefined ? {} : { filterSubject: s.filterSubject }),
      }),
    )
    // Most projections read one stream, and merging even one stream about doubled the read path's
    // CPU per commit (a hand-off per element); measured with `pnpm bench projection`.
    const merged = follows.length === 1 ? follows[0]! : Stream.mergeAll(follows, { concurrency: "unbounded" })
    return merged.pipe(
      Stream.mapError(logFailure),
      // Let the log read and decode the next batch while the current one is in the database.
      Stream.buffer({ capacity: batchSize }),
      live
        ? Stream.aggregateWithin(Sink.take(batchSize), liveLinger)
        : Stream.groupedWithin(batchSize, projection.lingerMs),
    )
  }

  const setup: Effect.Effect<ProjectionSetup, ProjectionError> = Effect.gen(function* () {
    yield* runMigrations(untyped, {
      schema,
      migrations: kernelMigrations,
      tableName: kernelMigrationTable,
    }).pipe(
      Effect.mapError((e) =>
        fail({ _tag: "StoreFailed", operation: "create the kernel tables", message: e.message, cause: e }),
      ),
    )
    return yield* store("create its tables", () =>
      db.transaction().execute(async (trx) => {
        const t = trx as Transaction<unknown>
        await lockProjectionSetup(t, schema, name)
        const registration = await readRegistration(t, schema, name)
        if (registration === undefined) {
          await targetSchema(t, schema)
          await projection.createTables(trx, liveTarget)
          await writeRegistration(t, schema, name, { version: projection.version, tables: projection.tables })
        }
        const state = versionStateOf(registration)
        await initCheckpoints(t, schema, name, streamNames, state.liveVersion)
        return { created: registration === undefined, ...state }
      }),
    )
  })

  const countSkipped = (outcome: BatchOutcome) =>
    outcome.skippedTypes.length > 0 && skipped.record(outcome.skippedTypes)
      ? Effect.logWarning(
          `projection ${name} skips ${[...new Set(outcome.skippedTypes)].join(", ")}: not in its catalogue (a newer writer's event type); counted, logged once per type`,
        )
      : Effect.void

  const applyLive = (batch: ReadonlyArray<PendingCommit<D>>) =>
    store("apply a batch", () => applyBatch(db, liveContext, batch)).pipe(
      // Committed: the readers in this process waiting for it (`awaitReadModelAt`) look now.
      Effect.tap((outcome) =>
        Effect.sync(() => noteLiveCommit(db, schema, name, outcome.checkpoints, liveContext.version)),
      ),
      Effect.tap(countSkipped),
      Effect.tap((outcome) =>
        Effect.forEach(
          outcome.deadLettered,
          (f) =>
            Effect.logWarning(
              `projection ${name} dead-lettered ${f.eventType} at ${f.stream}#${f.sequence}: ${f.message}`,
            ),
          { discard: true },
        ),
      ),
      Effect.tap((outcome) => options.afterCommit?.(outcome) ?? Effect.void),
      Effect.flatMap((outcome) =>
        outcome.failure === undefined ? Effect.void : Effect.fail(handlerFailure(outcome.failure)),
      ),
      Effect.withSpan(
        `project ${name}`,
        {
          kind: "consumer",
          attributes: { projection: name, commits: batch.length },
          ...traceOptions(batch),
        },
        // Per batch: its name says where it starts; no stack trace for the caller's line.
        { captureStackTrace: false },
      ),
    )

  /**
   * A rebuild; with `onlyIfStale`, none when the live tables turn out to be of this version or a
   * newer one once the lease row is locked (another replica's rebuild swapped them in meanwhile).
   */
  const rebuildWith = (
    rebuildOptions: RebuildOptions,
    onlyIfStale: boolean,
  ): Effect.Effect<RebuildReport | NoRebuild, ProjectionError> =>
    Effect.gen(function* () {
      yield* checkConfiguration
      const startedAt = yield* Clock.currentTimeMillis
      const catchUpLag = rebuildOptions.catchUpLag ?? projection.batchSize
      const batchSize = rebuildOptions.batchSize ?? rebuildBatchFactor * projection.batchSize
      if (!Number.isInteger(batchSize) || batchSize < 1) {
        return yield* Effect.fail(
          fail({ _tag: "Misconfigured", message: `rebuild batchSize ${batchSize} must be an integer >= 1` }),
        )
      }
      yield* setup
      // The lease makes this the one rebuild of the projection across replicas; its token fences
      // every write into the shadow tables (see `fence`).
      const token = randomUUID()
      const claim = yield* store("create the shadow tables", () =>
        db.transaction().execute(async (trx) => {
          const t = trx as Transaction<unknown>
          await lockProjectionSetup(t, schema, name)
          const running = await lockRebuild(t, schema, name, leaseMs)
          if (running !== undefined) return running
          // Read after the lease row's lock: a swap that was releasing it has committed by now.
          const registration = await readRegistration(t, schema, name)
          const liveVersion = registration?.version ?? 0
          if (onlyIfStale && liveVersion === projection.version)
            return { _tag: "Current" } satisfies NoRebuild
          if (liveVersion > projection.version && rebuildOptions.rollback !== true)
            return { _tag: "Newer", liveVersion } satisfies NoRebuild
          if (onlyIfStale && heldByRollback(projection.version, registration?.rolledBackFrom))
            return { _tag: "RolledBack" } satisfies NoRebuild
          await takeRebuild(t, schema, name, { holder: instance, token, version: projection.version })
          await recreateSchema(t, shadowSchema)
          await targetSchema(t, shadowSchema)
          await projection.createTables(trx, shadowTarget)
          await deleteCheckpoints(t, schema, shadowKey)
          await initCheckpoints(t, schema, shadowKey, streamNames, null)
          return "granted" as const
        }),
      )
      if (claim !== "granted" && "_tag" in claim) {
        if (onlyIfStale || claim._tag !== "Newer") return claim
        return yield* Effect.fail(
          fail({
            _tag: "NewerVersionLive",
            version: projection.version,
            liveVersion: claim.liveVersion,
            instance,
          }),
        )
      }
      if (claim !== "granted") {
        const running = claim
        return yield* Effect.fail(
          fail({
            _tag: "RebuildRunning",
            holder: running.holder,
            version: running.version,
            startedAt: running.startedAt.toISOString(),
            renewedAt: running.renewedAt.toISOString(),
          }),
        )
      }
      const fence = async (trx: Transaction<unknown>) => {
        if (!(await holdsRebuild(trx, schema, name, token))) throw new LeaseLost()
      }
      const shadowContext: BatchContext<D, DB> = {
        projection,
        schema,
        key: shadowKey,
        target: shadowTarget,
        deadLetter,
        fence,
      }
      // Renewed a few times per lease: a renewal that finds the lease gone changes nothing here,
      // since the next write's fence stops the rebuild; a failed one is retried on the next tick.
      const renewals = Effect.tryPromise(() => renewRebuild(untyped, schema, name, token)).pipe(
        Effect.ignore,
        Effect.repeat(Schedule.spaced(Math.max(1, Math.floor(leaseMs / 3)))),
      )

      // The swap's transaction, open from the moment the live projector is paused until the swap commits.
      let finishing: { readonly trx: ControlledTransaction<DB>; readonly live: Checkpoints } | undefined
      let swappedAt: Checkpoints | undefined
      let events = 0
      // Only this rebuild writes the shadow checkpoints, so it tracks them itself rather than re-read them per batch.
      const shadowAt = new Map(streamNames.map((s) => [s, 0]))
      const caughtUp = (shadow: Checkpoints, live: Checkpoints, lag: number) =>
        streamNames.every((s) => (shadow.get(s) ?? 0) >= (live.get(s) ?? 0) - lag)

      const swapAndCommit = async (trx: ControlledTransaction<DB>) => {
        const t = trx as unknown as Transaction<unknown>
        const shadow = await readCheckpoints(t, schema, shadowKey)
        const registration = await readRegistration(t, schema, name)
        await releaseRebuild(t, schema, name, token)
        // A swap to an older version is a rollback, remembered from the newest version it undid; a
        // swap to the version rolled back from or past it rolls forward and forgets it; any other
        // keeps it (rolled back from v3 to v1, a rebuild of v2 must not let the v3 replicas roll
        // forward on their own).
        const liveVersion = registration?.version ?? projection.version
        const pinned = registration?.rolledBackFrom
        const rolledBackFrom =
          projection.version < liveVersion
            ? Math.max(liveVersion, pinned ?? 0)
            : pinned !== undefined && projection.version < pinned
              ? pinned
              : undefined
        await swapIn(t, {
          schema,
          shadowSchema,
          retiredSchema: retiredSchemaName(schema, name),
          projection: name,
          shadowKey,
          version: projection.version,
          tables: projection.tables,
          previousTables: registration?.tables ?? projection.tables,
          checkpoints: shadow,
          rolledBackFrom,
        })
        await trx.commit().execute()
        finishing = undefined
        swappedAt = shadow
      }

      // Takes the live checkpoint lock: from here until the commit, live batches wait.
      const pauseLive = async (): Promise<Outcome> => {
        const trx = await db.startTransaction().execute()
        const t = trx as unknown as Transaction<unknown>
        finishing = { trx, live: new Map() }
        // The lease before the checkpoints, in the order a claim takes them: no deadlock with a takeover.
        await fence(t)
        // Every live row of the projection, not only this version's streams: the swap names them
        // all with the version, and a row of a stream only the old version reads, locked last, would
        // deadlock with an old batch that holds it and waits for a table the swap moved.
        const live = await lockCheckpoints(t, schema, name, "all")
        finishing = { trx, live }
        const shadow = await lockCheckpoints(t, schema, shadowKey, streamNames)
        if (!caughtUp(shadow, live, 0)) return { _tag: "Continue" }
        await swapAndCommit(trx)
        return { _tag: "Swapped" }
      }

      const catchUp = async (batch: ReadonlyArray<PendingCommit<D>>): Promise<Outcome> => {
        const outcome = await applyBatch(db, shadowContext, batch)
        events += outcome.events
        if (outcome.failure !== undefined) return { _tag: "Failed", failure: outcome.failure }
        for (const [stream, sequence] of outcome.checkpoints) shadowAt.set(stream, sequence)
        rebuildOptions.onProgress?.({ projection: name, events, checkpoints: Object.fromEntries(shadowAt) })
        const live = await readCheckpoints(untyped, schema, name)
        return caughtUp(shadowAt, live, catchUpLag) ? pauseLive() : { _tag: "Continue" }
      }

      const finishTail = async (
        current: NonNullable<typeof finishing>,
        batch: ReadonlyArray<PendingCommit<D>>,
      ): Promise<Outcome> => {
        // Inside the swap's transaction: the tail is small, so it goes the careful way.
        const outcome = await applyCarefully(current.trx, shadowContext, batch)
        events += outcome.events
        if (outcome.failure !== undefined) return { _tag: "Failed", failure: outcome.failure }
        const shadow = await readCheckpoints(
          current.trx as unknown as Transaction<unknown>,
          schema,
          shadowKey,
        )
        if (!caughtUp(shadow, current.live, 0)) return { _tag: "Continue" }
        await swapAndCommit(current.trx)
        return { _tag: "Swapped" }
      }

      const step = (batch: ReadonlyArray<PendingCommit<D>>) =>
        store("rebuild into the shadow tables", () =>
          finishing === undefined ? catchUp(batch) : finishTail(finishing, batch),
        ).pipe(
          Effect.flatMap((outcome) =>
            outcome._tag === "Failed"
              ? Effect.fail(handlerFailure(outcome.failure))
              : Effect.succeed(outcome),
          ),
        )

      const abandon = Effect.promise(async () => {
        const open = finishing
        finishing = undefined
        await open?.trx
          .rollback()
          .execute()
          .catch(() => undefined)
        if (swappedAt !== undefined) return
        // Best effort: the next rebuild starts over anyway. Only while the lease is still this
        // rebuild's: after a takeover, the shadow tables are the successor's.
        await db
          .transaction()
          .execute(async (trx) => {
            const t = trx as Transaction<unknown>
            await lockProjectionSetup(t, schema, name)
            if (!(await holdsRebuild(t, schema, name, token))) return
            await dropSchema(t, shadowSchema)
            await deleteCheckpoints(t, schema, shadowKey)
            await releaseRebuild(t, schema, name, token)
          })
          .catch(() => undefined)
      })

      yield* Effect.gen(function* () {
        yield* Effect.forkScoped(renewals)
        // An empty (or nearly empty) live projection may already be within reach.
        const live = yield* store("read the live checkpoints", () => readCheckpoints(untyped, schema, name))
        const first: Outcome = caughtUp(new Map(), live, catchUpLag)
          ? yield* store("pause the live projector", pauseLive)
          : { _tag: "Continue" }
        if (first._tag !== "Swapped") {
          yield* batches(new Map(), batchSize, false).pipe(
            Stream.mapEffect(step),
            Stream.takeUntil((outcome) => outcome._tag === "Swapped"),
            Stream.runDrain,
          )
        }
      }).pipe(Effect.scoped, Effect.ensuring(abandon))

      if (swappedAt === undefined) {
        return yield* Effect.fail(
          fail({ _tag: "LogFailed", message: "the event log ended before the rebuild caught up" }),
        )
      }
      const finishedAt = yield* Clock.currentTimeMillis
      const checkpoints = Object.fromEntries(swappedAt)
      yield* Effect.logInfo(
        `projection ${name} v${projection.version} rebuilt and swapped in at ${JSON.stringify(checkpoints)}`,
      )
      return {
        projection: name,
        version: projection.version,
        checkpoints,
        events,
        durationMs: finishedAt - startedAt,
      }
    }).pipe(Effect.withSpan("projection.rebuild", { attributes: { projection: name } }))

  const rebuild = (rebuildOptions: RebuildOptions = {}): Effect.Effect<RebuildReport, ProjectionError> =>
    rebuildWith(rebuildOptions, false) as Effect.Effect<RebuildReport, ProjectionError>

  // How often a replica that waits looks at the registration again: for another replica's rebuild
  // to swap, or for a newer version to be rolled back.
  const pollMs = Math.max(1, Math.min(1_000, Math.floor(leaseMs / 3)))
  // How often a serving replica looks whether another build swapped its version out meanwhile.
  const swapWatchMs = Math.max(pollMs, options.swapWatchMs ?? defaultSwapWatchMs)

  /**
   * Until the live tables are this version's. Older ones are rebuilt forward; when several
   * replicas start on a new version at once, one rebuilds and the others wait for its swap (or
   * for its lease to lapse, if it died). Newer ones are never rebuilt back: during a rolling
   * deploy an old replica that restarts would otherwise swap the old tables back under the new
   * replicas. It waits, not serving, until it is replaced or an operator rolls the projection
   * back to its version (`rebuild`, which goes either way).
   */
  const untilOwnVersion: Effect.Effect<void, ProjectionError> = Effect.gen(function* () {
    const announced = new Set<string>()
    const announce = (message: string) =>
      announced.has(message)
        ? Effect.void
        : Effect.sync(() => announced.add(message)).pipe(Effect.andThen(Effect.logWarning(message)))
    // Set up once; while it waits, a replica only reads the registration: the migrator's locks and
    // introspection once a second per waiting replica would be a load of their own, and a newer
    // kernel's migrations would make an older build's migrator fail where it should wait.
    let state = yield* setup
    for (let first = true; ; first = false) {
      if (!first) state = yield* registrationState
      if (!state.stale) return
      if (options.onStaleVersion === "fail") {
        return yield* Effect.fail(
          fail({
            _tag: "Misconfigured",
            message: `its live tables are of version ${state.liveVersion}, not ${projection.version}`,
          }),
        )
      }
      if (state.liveVersion > projection.version) {
        yield* announce(
          `projection ${name} v${projection.version}: v${state.liveVersion} is live, newer than this build's, and is not rebuilt back; not serving until this replica is replaced or an operator rolls the projection back to v${projection.version} (mesh projections rebuild ${name} --rollback)`,
        )
        yield* Effect.sleep(pollMs)
        continue
      }
      if (heldByRollback(projection.version, state.rolledBackFrom)) {
        yield* announce(
          `projection ${name} v${projection.version}: an operator rolled it back to v${state.liveVersion} from v${state.rolledBackFrom}, and this build does not roll it forward on its own; not serving until this replica is replaced or an operator rebuilds it (mesh projections rebuild ${name})`,
        )
        yield* Effect.sleep(pollMs)
        continue
      }
      const outcome = yield* rebuildWith({}, true).pipe(
        Effect.catchIf(
          (e) => e.reason._tag === "RebuildRunning",
          (e) => Effect.succeed(e),
        ),
      )
      if (outcome instanceof ProjectionError) {
        yield* announce(`${outcome.message}: waiting for it before serving`)
        yield* Effect.sleep(pollMs)
      } else if (!("_tag" in outcome) || outcome._tag === "Current") {
        return
      }
      // Another rebuild is running, or a newer version went live meanwhile: look again.
    }
  })

  /** What the registration alone says of the live version: setup's answer without its migrations. */
  const registrationState: Effect.Effect<ProjectionSetup, ProjectionError> = store(
    "read its registration",
    () => readRegistration(untyped, schema, name),
  ).pipe(Effect.map((registration) => ({ created: false, ...versionStateOf(registration) })))

  /**
   * Resolves with why this replica must stop serving once another build's swap has made the live
   * tables another version's. A batch finds that out as soon as one is applied; this finds it
   * while the streams are quiet, when no batch would, so that the replica's readiness (and the
   * routes that read its tables) does not outlast its version by more than a few seconds.
   */
  const swapWatch: Effect.Effect<ProjectionError, ProjectionError> = Effect.gen(function* () {
    for (;;) {
      yield* Effect.sleep(swapWatchMs)
      const state = yield* registrationState
      if (state.stale)
        return fail({
          _tag: "VersionSuperseded",
          version: projection.version,
          liveVersion: state.liveVersion,
        })
    }
  })

  /**
   * Follows the log from the live checkpoints; returns when the log ends (undefined) or when
   * another build swaps its version in (why it stopped).
   */
  const follow: Effect.Effect<ProjectionError | undefined, ProjectionError> = Effect.gen(function* () {
    const from = yield* store("read its checkpoints", () => readCheckpoints(untyped, schema, name))
    options.onServing?.(true)
    const applied = batches(from, projection.batchSize, true).pipe(
      Stream.runForEach(applyLive),
      Effect.as(undefined),
      Effect.catchIf(
        (e) => e.reason._tag === "VersionSuperseded",
        (e) => Effect.succeed(e),
      ),
    )
    return yield* Effect.raceFirst(applied, swapWatch).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          // Its commits no longer answer the readers beside it (`heldHere`): the tables may be
          // another version's now.
          forgetLiveCommits(db, schema, name)
          options.onServing?.(false)
        }),
      ),
    )
  })

  const run: Effect.Effect<void, ProjectionError> = Effect.gen(function* () {
    yield* checkConfiguration
    for (;;) {
      yield* untilOwnVersion
      const superseded = yield* follow
      if (superseded === undefined) return
      // Its tables are another build's now: it stops writing and waits as a replica starting would.
      yield* Effect.logWarning(superseded.message)
    }
  }).pipe(Effect.withSpan("projection.run", { attributes: { projection: name } }))

  const status: Effect.Effect<ProjectionStatus, ProjectionError> = Effect.gen(function* () {
    const [registration, checkpoints, rebuilding] = yield* store("read its status", async () =>
      (await kernelTablesExist(untyped, schema))
        ? ([
            await readRegistration(untyped, schema, name),
            await readCheckpoints(untyped, schema, name),
            await readRebuild(untyped, schema, name, leaseMs),
          ] as const)
        : ([undefined, new Map<string, number>(), undefined] as const),
    )
    const streams = yield* Effect.forEach(projection.streams, (s) =>
      eventLog.headSequence(s.domain, s.filterSubject).pipe(
        Effect.mapError(logFailure),
        Effect.map((head): StreamStatus => {
          const stream = streamOf(s.domain)
          const checkpoint = checkpoints.get(stream) ?? 0
          return { domain: s.domain, stream, checkpoint, head, lag: Math.max(0, head - checkpoint) }
        }),
      ),
    )
    return {
      projection: name,
      version: projection.version,
      liveVersion: registration?.version,
      streams,
      lag: streams.reduce((n, s) => n + s.lag, 0),
      skipped: skipped.counts(),
      rebuilding,
    }
  })

  return { name, setup, run, status, rebuild }
}
