import type { CommitMetadata, Domain, EventDefinition, EventOf } from "@mesh/contracts"
import {
  type AggregatePosition,
  type AggregateRef,
  CurrentReactionCause,
  type EventLog,
  type EventLogError,
  historyAsOf,
  initialPosition,
  type NewEvent,
} from "@mesh/eventlog"
import { Clock, Effect, Schedule } from "effect"
import {
  type ComparedFields,
  comparedFieldsOf,
  type DecidedOtherwise,
  decidedOtherwise,
} from "./decidedOtherwise.ts"
import type { Decider } from "./decider.ts"
import { CommandError } from "./errors.ts"
import { commandEventId } from "./ids.ts"
import { makeRecentlyUsed } from "./recentlyUsed.ts"
import {
  decodeSnapshot,
  encodeSnapshot,
  type Snapshot,
  type SnapshotPolicy,
  type SnapshotStore,
  snapshotCommandIds,
} from "./snapshots.ts"

/** The events a decider of catalogue `D` emits: type and payload, before the envelope. */
export type DecidedEvent<D extends EventDefinition> =
  D extends EventDefinition<infer T, infer P> ? { readonly type: T; readonly payload: P["Type"] } : never

/** An aggregate type of an agent: where its events live and the decider that runs it. */
export interface AggregateDefinition<D extends EventDefinition, Command, State> {
  readonly domain: Domain
  readonly type: string
  readonly decider: Decider<Command, DecidedEvent<D>, State>
  readonly snapshots?: SnapshotPolicy<State>
  /**
   * Commands that usually open an aggregate (a ticket's first message, an order's first sync). One
   * whose aggregate the handler keeps no state of is decided on the initial state and appended as
   * the aggregate's first commit, without reading the aggregate first: a new aggregate's read finds
   * nothing, and on the shop's day a thousand of them did. If the aggregate has a history after
   * all, the log refuses the append and the command is decided on that history as any other (a
   * wrong guess costs the refused append and a read). Default: none.
   */
  readonly opensWith?: (command: Command) => boolean
}

/** A command addressed to one aggregate, with the ids and metadata that make it traceable and idempotent. */
export interface CommandEnvelope<Command> {
  /** Stable across retries and redeliveries: the handler recognises it in history and does not decide twice. */
  readonly commandId: string
  readonly aggregateId: string
  readonly command: Command
  readonly metadata: Omit<CommitMetadata, "commandId">
  /** The instant the command was issued (from the causing event, or the caller's clock); seeds event ids. */
  readonly issuedAt: number
}

/** What handling a command did. */
export interface CommandOutcome<D extends EventDefinition> {
  readonly status: "appended" | "already-handled" | "nothing-decided"
  readonly events: ReadonlyArray<EventOf<D>>
  readonly position: AggregatePosition
  /**
   * Only when already handled: the current code decides the command otherwise than the log
   * recorded (see {@link DecidedOtherwise}). Nothing is appended for it; the recorded events stand.
   */
  readonly otherwise?: DecidedOtherwise
}

/** Loaded state of an aggregate: its state, position and the command ids seen in its history. */
interface Loaded<State> {
  readonly state: State
  readonly position: AggregatePosition
  readonly commandIds: ReadonlyArray<string>
  readonly eventsSinceSnapshot: number
}

/** Options of a command handler. */
export interface CommandHandlerOptions {
  /** Reload-and-decide attempts after a concurrency conflict. */
  readonly maxConflictRetries?: number
  readonly snapshots?: SnapshotStore
  /**
   * Aggregates whose state the handler keeps after it wrote them, most recently used first (default
   * {@link DEFAULT_CACHED_AGGREGATES}; 0 keeps none). See {@link makeCommandHandler}.
   */
  readonly cachedAggregates?: number
  /**
   * The handler replays recorded history (a sandbox, `MESH_REPLAY`): a command the log does not
   * hold is decided on the aggregate as it stood when the command was issued (a reaction's command
   * is issued at its cause's instant; see `historyAsOf`) and nothing is appended for it. When
   * it decides events there, where the recorded history has none, that is a departure, reported
   * in the outcome's `otherwise`: the replay never adds to what happened. Default false.
   */
  readonly replaying?: boolean
}

/**
 * Aggregates a handler keeps in memory by default. A ticket's state is a few kilobytes, so a
 * thousand of them cost a few megabytes; an agent's recent aggregates are the ones its next
 * commands address (a reaction's several commands, a conversation's next message).
 */
export const DEFAULT_CACHED_AGGREGATES = 1000

/**
 * How a command that lost a concurrency conflict waits before it reloads and decides again:
 * exponentially from 2 ms, capped at 100 ms, jittered. Uncapped, the doubling left a command that
 * lost a dozen times in a row (20 writers on one aggregate) asleep for seconds, then minutes.
 */
const conflictBackoff = Schedule.jittered(
  Schedule.min([Schedule.exponential("2 millis"), Schedule.spaced("100 millis")]),
)

/**
 * Handles commands for one aggregate type: load (snapshot plus tail), decide, append at the
 * loaded position, and on a concurrency conflict reload and decide again, a bounded number of times.
 *
 * The state an attempt leaves (after an append, or the state a command was decided on when it
 * decided nothing) is kept, so the next command to the same aggregate decides on it without reading
 * the log: a reaction's three commands to one ticket read it once, not three times. The log stays
 * the judge. The append expects the position the kept state was folded to, so if anyone else wrote
 * the aggregate since (another replica, a command that was already handled elsewhere), the append
 * conflicts, and the command is decided again on the kept state brought up to the log's head (the
 * commits after its position, folded on). A command the kept state refuses, or for which it decides
 * nothing, is decided again on the head too, so a stale state never turns a command away; checking
 * the head costs one read of the aggregate's last commit. Measured on the shop's day, a duplicate
 * storefront webhook used to reload its order's whole history.
 */
export const makeCommandHandler = <D extends EventDefinition, Command, State>(
  log: EventLog<D>,
  aggregate: AggregateDefinition<D, Command, State>,
  options: CommandHandlerOptions = {},
) => {
  const { decider } = aggregate
  const maxRetries = options.maxConflictRetries ?? 5
  const cache = makeRecentlyUsed<Loaded<State>>(options.cachedAggregates ?? DEFAULT_CACHED_AGGREGATES)
  const refOf = (id: string): AggregateRef => ({ domain: aggregate.domain, type: aggregate.type, id })

  /** Events read from the log folded onto a state, and the ids of the commands that wrote them noted. */
  const foldOnto = (
    base: { readonly state: State; readonly commandIds: ReadonlyArray<string> },
    events: ReadonlyArray<EventOf<D>>,
  ) => {
    let state = base.state
    const commandIds = [...base.commandIds]
    for (const event of events) {
      state = decider.evolve(state, event as unknown as DecidedEvent<D>)
      if (event.commandId !== undefined && commandIds[commandIds.length - 1] !== event.commandId) {
        commandIds.push(event.commandId)
      }
    }
    return { state, commandIds }
  }

  /**
   * A command the log already holds, decided again by the current code on the state its recorded
   * events were decided on (the history before them), and compared with them.
   */
  const fieldsByType = new Map<string, ComparedFields>()
  const readFields = comparedFieldsOf(log.catalog)
  const fieldsOf = (type: string): ComparedFields => {
    let fields = fieldsByType.get(type)
    if (fields === undefined) {
      fields = readFields(type)
      fieldsByType.set(type, fields)
    }
    return fields
  }

  const redecide = (
    history: ReadonlyArray<EventOf<D>>,
    recorded: ReadonlyArray<EventOf<D>>,
    command: Command,
  ): DecidedOtherwise | undefined => {
    const first = recorded[0]
    if (first === undefined) return undefined
    // A diagnostic: whatever goes wrong in it (an evolve that no longer folds old history) must
    // not fail the redelivery it rides on, which has already been answered from the log.
    try {
      let state = decider.initialState()
      for (const event of history) {
        if (event.aggregateVersion >= first.aggregateVersion) break
        state = decider.evolve(state, event as unknown as DecidedEvent<D>)
      }
      let now: ReadonlyArray<DecidedEvent<D>> | { readonly refused: string }
      try {
        now = decider.decide(command, state)
      } catch (error) {
        now = { refused: error instanceof Error ? error.message : String(error) }
      }
      return decidedOtherwise(recorded, now, fieldsOf)
    } catch {
      return undefined
    }
  }

  /**
   * In a replay, a command the log does not hold, decided on the aggregate as it stood when the
   * command was issued: nothing is appended, and events decided there are a departure from the
   * recorded history (which holds none for the command).
   */
  const decideAsIssued = (
    ref: AggregateRef,
    envelope: CommandEnvelope<Command>,
    loaded: Loaded<State>,
  ): Effect.Effect<CommandOutcome<D>, CommandError | EventLogError> =>
    Effect.gen(function* () {
      const history = yield* log.load(ref)
      // As it stood when the reaction that sends it first decided, or, sent from elsewhere, when
      // it was issued.
      const cause = yield* CurrentReactionCause
      const asIssued = historyAsOf(history.events, {
        occurredAt: cause?.replaying === true ? Date.parse(cause.readAsOf) : envelope.issuedAt,
        eventId: envelope.metadata.causationId,
      })
      const state = asIssued.reduce(
        (s, event) => decider.evolve(s, event as unknown as DecidedEvent<D>),
        decider.initialState(),
      )
      // A refusal fails no reaction here: the log shows none (a refused command leaves nothing),
      // and a replay reports where it parts from the log rather than stopping on it.
      let decided: ReadonlyArray<DecidedEvent<D>> | { readonly refused: string }
      try {
        decided = decider.decide(envelope.command, state)
      } catch (error) {
        decided = { refused: error instanceof Error ? error.message : String(error) }
      }
      cache.set(envelope.aggregateId, loaded)
      const otherwise =
        Array.isArray(decided) && decided.length === 0 ? undefined : decidedOtherwise([], decided, fieldsOf)
      return {
        status: "nothing-decided" as const,
        events: [],
        position: loaded.position,
        ...(otherwise === undefined ? {} : { otherwise }),
      }
    })

  const load = (ref: AggregateRef): Effect.Effect<Loaded<State>, EventLogError> =>
    Effect.gen(function* () {
      let base: Snapshot<State> = { state: decider.initialState(), position: initialPosition, commandIds: [] }
      if (aggregate.snapshots !== undefined && options.snapshots !== undefined) {
        const bytes = yield* options.snapshots.read(ref)
        const snapshot = bytes === undefined ? undefined : decodeSnapshot(aggregate.snapshots, bytes)
        if (snapshot !== undefined) base = snapshot
      }
      const tail = yield* log.load(ref, base.position)
      return {
        ...foldOnto(base, tail.events),
        position: tail.position,
        eventsSinceSnapshot: tail.events.length,
      }
    })

  const writeSnapshot = (
    ref: AggregateRef,
    loaded: Loaded<State>,
    events: ReadonlyArray<EventOf<D>>,
    position: AggregatePosition,
  ) =>
    Effect.gen(function* () {
      const policy = aggregate.snapshots
      if (policy === undefined || options.snapshots === undefined) return
      if (Math.floor(position.version / policy.every) === Math.floor(loaded.position.version / policy.every))
        return
      // A commit of several commands names each event's: every one of them is in the snapshot.
      const { state, commandIds } = foldOnto(loaded, events)
      yield* options.snapshots.write(
        ref,
        encodeSnapshot(policy, { state, position, commandIds: commandIds.slice(-snapshotCommandIds) }),
      )
    })

  /**
   * A kept state brought up to the log's head: the commits written after its position folded onto
   * it, which is the state a fresh load would give, for one read of the aggregate's last commit
   * when nothing was written since. `undefined` when nothing was.
   */
  const refresh = (ref: AggregateRef, kept: Loaded<State>) =>
    Effect.map(log.load(ref, kept.position), (tail): Loaded<State> | undefined => {
      if (tail.events.length === 0) return undefined
      return {
        ...foldOnto(kept, tail.events),
        position: tail.position,
        eventsSinceSnapshot: kept.eventsSinceSnapshot + tail.events.length,
      }
    })

  /**
   * Decides on the kept state when there is one. A command that the kept state refuses, for which
   * it decides nothing, or whose append conflicts is decided again once the state is brought up to
   * the log's head; when the log holds nothing newer, the kept state's answer stands (the decider
   * is pure: the same state gives the same answer). A stale state never turns a command away.
   */
  const attempt = (
    envelope: CommandEnvelope<Command>,
    mayGuessNew: boolean,
  ): Effect.Effect<CommandOutcome<D>, CommandError | EventLogError> =>
    // Read when the attempt runs, not when it is built: a retry after a conflict finds the state dropped.
    Effect.suspend(() => {
      const kept = cache.get(envelope.aggregateId)
      if (kept === undefined)
        return mayGuessNew && opensNew(envelope) ? attemptOnNew(envelope) : attemptOn(envelope, undefined)
      const ref = refOf(envelope.aggregateId)
      const againOnHead = (
        answer: Effect.Effect<CommandOutcome<D>, CommandError | EventLogError>,
      ): Effect.Effect<CommandOutcome<D>, CommandError | EventLogError> =>
        Effect.flatMap(refresh(ref, kept), (fresh) =>
          fresh === undefined
            ? Effect.tap(answer, () => Effect.sync(() => cache.set(envelope.aggregateId, kept)))
            : attemptOn(envelope, fresh),
        )
      return attemptOn(envelope, kept).pipe(
        Effect.flatMap((outcome) =>
          outcome.status === "nothing-decided"
            ? againOnHead(Effect.succeed(outcome))
            : Effect.succeed(outcome),
        ),
        Effect.catchIf(
          (e) => e._tag === "CommandError",
          (e) => againOnHead(Effect.fail(e)),
        ),
        Effect.catchIf(
          (e) => e._tag === "EventLogError" && e.reason._tag === "ConcurrencyConflict",
          // The append found the aggregate moved on: the log holds something newer by definition.
          () => Effect.flatMap(refresh(ref, kept), (fresh) => attemptOn(envelope, fresh)),
        ),
      )
    })

  /** An aggregate as it stands before its first event: what an opening command is guessed to find. */
  const fresh = (): Loaded<State> => ({
    state: decider.initialState(),
    position: initialPosition,
    commandIds: [],
    eventsSinceSnapshot: 0,
  })

  /**
   * The command opens its aggregate (see `opensWith`) and decides events on the initial state: it
   * is appended on that guess. A refusal, or nothing decided, says nothing of an aggregate that
   * may exist, so only events are appended on the guess; a replay never guesses (it decides on the
   * history as the command was issued).
   */
  const opensNew = (envelope: CommandEnvelope<Command>): boolean => {
    if (aggregate.opensWith === undefined || options.replaying === true) return false
    if (!aggregate.opensWith(envelope.command)) return false
    try {
      return decider.decide(envelope.command, decider.initialState()).length > 0
    } catch {
      return false
    }
  }

  /** Appended on the guess that the aggregate is new; decided on its history if the log says it is not. */
  const attemptOnNew = (envelope: CommandEnvelope<Command>) =>
    attemptOn(envelope, fresh()).pipe(
      Effect.catchIf(
        (e) => e._tag === "EventLogError" && e.reason._tag === "ConcurrencyConflict",
        () => attemptOn(envelope, undefined),
      ),
    )

  const attemptOn = (
    envelope: CommandEnvelope<Command>,
    kept: Loaded<State> | undefined,
  ): Effect.Effect<CommandOutcome<D>, CommandError | EventLogError> =>
    Effect.gen(function* () {
      const ref = refOf(envelope.aggregateId)
      // Dropped until the attempt ends: a failed attempt leaves nothing kept that may be stale.
      cache.drop(envelope.aggregateId)
      const loaded = kept ?? (yield* load(ref))
      if (loaded.commandIds.includes(envelope.commandId)) {
        // Already decided and committed (a redelivery, or a retry after a lost reply): do not decide twice.
        const history = yield* log.load(ref)
        cache.set(envelope.aggregateId, loaded)
        const recorded = history.events.filter((e) => e.commandId === envelope.commandId)
        const otherwise = redecide(history.events, recorded, envelope.command)
        return {
          status: "already-handled" as const,
          events: recorded,
          position: loaded.position,
          ...(otherwise === undefined ? {} : { otherwise }),
        }
      }
      if (options.replaying === true) return yield* decideAsIssued(ref, envelope, loaded)
      const decided = yield* Effect.try({
        try: () => decider.decide(envelope.command, loaded.state),
        catch: (e) =>
          new CommandError({
            commandId: envelope.commandId,
            reason: { _tag: "InvalidCommand", message: e instanceof Error ? e.message : String(e) },
          }),
      })
      if (decided.length === 0) {
        // The state it decided on is the log's up to its position: kept for the next command.
        cache.set(envelope.aggregateId, loaded)
        return { status: "nothing-decided" as const, events: [], position: loaded.position }
      }
      const events = decided.map(
        (e, i) =>
          ({
            ...e,
            eventId: commandEventId(envelope.commandId, i, envelope.issuedAt),
          }) as unknown as NewEvent<D>,
      )
      const result = yield* log.append({
        aggregate: ref,
        expected: loaded.position,
        events,
        metadata: { ...envelope.metadata, commandId: envelope.commandId },
      })
      yield* writeSnapshot(ref, loaded, result.events, result.position)
      // A duplicate may be a commit of several commands (appended together by `handleAll`, the
      // first of them this one): only this command's events are its own.
      const stored = result.duplicate ? ownEvents(result.events, envelope.commandId) : result.events
      if (!result.duplicate) {
        let state = loaded.state
        for (const event of result.events) state = decider.evolve(state, event as unknown as DecidedEvent<D>)
        cache.set(envelope.aggregateId, {
          state,
          position: result.position,
          commandIds: [...loaded.commandIds, envelope.commandId],
          eventsSinceSnapshot: loaded.eventsSinceSnapshot + result.events.length,
        })
      }
      // A duplicate the log refused: the stored events were decided on the state kept here when
      // they directly follow it, and the two decisions can then be compared.
      const otherwise =
        result.duplicate && stored[0]?.aggregateVersion === loaded.position.version + 1
          ? decidedOtherwise(stored, decided, fieldsOf)
          : undefined
      return {
        status: result.duplicate ? ("already-handled" as const) : ("appended" as const),
        events: stored,
        position: result.position,
        ...(otherwise === undefined ? {} : { otherwise }),
      }
    })

  /** A failure of the log, as the command's: a conflict that outlasted its retries says so. */
  const asCommandError = (envelope: CommandEnvelope<Command>) => (e: EventLogError) =>
    Effect.fail(
      new CommandError({
        commandId: envelope.commandId,
        reason:
          e.reason._tag === "ConcurrencyConflict"
            ? {
                _tag: "ConflictRetriesExhausted",
                aggregate: `${aggregate.type}/${envelope.aggregateId}`,
                attempts: maxRetries + 1,
              }
            : { _tag: "EventLog", message: e.message, cause: e },
      }),
    )

  const handle = (envelope: CommandEnvelope<Command>): Effect.Effect<CommandOutcome<D>, CommandError> =>
    handleGuessing(envelope, true)

  const handleGuessing = (
    envelope: CommandEnvelope<Command>,
    /** Whether the first attempt may guess the aggregate new (see `opensWith`). */
    mayGuessNew: boolean,
  ): Effect.Effect<CommandOutcome<D>, CommandError> => {
    // Only the first attempt may guess the aggregate new: a retry follows a conflict, so the
    // aggregate has a history by then.
    let first = mayGuessNew
    const attemptOnce = Effect.suspend(() => {
      const mayGuessNew = first
      first = false
      return attempt(envelope, mayGuessNew)
    })
    return attemptOnce.pipe(
      Effect.retry({
        while: (e) => e._tag === "EventLogError" && e.reason._tag === "ConcurrencyConflict",
        times: maxRetries,
        schedule: conflictBackoff,
      }),
      Effect.catchTag("EventLogError", asCommandError(envelope)),
      Effect.withSpan(
        `command ${aggregate.type}`,
        {
          attributes: { "mesh.command.id": envelope.commandId },
        },
        // Per command: its name says where it starts; no stack trace for the caller's line.
        { captureStackTrace: false },
      ),
    )
  }

  /**
   * Commands to one aggregate decided in turn, each on the state the ones before it leave, and
   * their events appended as one commit at the position the first was decided on. The log's check
   * of that position makes the commit the same as handling them one after another: if nobody wrote
   * the aggregate in between, each command was decided on what the log held. `"one by one"` when
   * the commands are better handled one by one, nothing appended: one of them is already in the
   * log (a redelivery), none decides anything (a state kept here might be stale, which only the
   * single path checks), or the append found the aggregate moved on. A command refused stops the
   * commit there: the ones before it are appended, and it and the rest are left to `handle`, which
   * decides it again on the log's head, as it would have.
   */
  const attemptTogether = (
    envelopes: ReadonlyArray<CommandEnvelope<Command>>,
  ): Effect.Effect<
    | {
        readonly outcomes: ReadonlyArray<CommandOutcome<D>>
        readonly rest: ReadonlyArray<CommandEnvelope<Command>>
      }
    | "one by one",
    EventLogError
  > =>
    Effect.gen(function* () {
      const first = envelopes[0]!
      const ref = refOf(first.aggregateId)
      const kept = cache.get(first.aggregateId)
      const guessedNew = kept === undefined && opensNew(first)
      // Dropped until the commit is stored: an attempt that fails leaves nothing kept that may be stale.
      cache.drop(first.aggregateId)
      const loaded = kept ?? (guessedNew ? fresh() : yield* load(ref))
      const keepLoaded = Effect.sync(() => {
        if (!guessedNew) cache.set(first.aggregateId, loaded)
      })
      if (envelopes.some((envelope) => loaded.commandIds.includes(envelope.commandId))) {
        yield* keepLoaded
        return "one by one"
      }
      let state = loaded.state
      const decided: Array<ReadonlyArray<DecidedEvent<D>>> = []
      for (const envelope of envelopes) {
        let events: ReadonlyArray<DecidedEvent<D>>
        try {
          events = decider.decide(envelope.command, state)
        } catch {
          break
        }
        decided.push(events)
        for (const event of events) state = decider.evolve(state, event)
      }
      const events = decided.flatMap((commandEvents, i) =>
        commandEvents.map(
          (event, j) =>
            ({
              ...event,
              eventId: commandEventId(envelopes[i]!.commandId, j, envelopes[i]!.issuedAt),
              commandId: envelopes[i]!.commandId,
            }) as unknown as NewEvent<D>,
        ),
      )
      if (events.length === 0) {
        yield* keepLoaded
        return "one by one"
      }
      const opening = envelopes[decided.findIndex((commandEvents) => commandEvents.length > 0)]!
      const result = yield* log
        .append({
          aggregate: ref,
          expected: loaded.position,
          events,
          metadata: { ...opening.metadata, commandId: opening.commandId },
        })
        .pipe(
          Effect.catchIf(
            (e) => e.reason._tag === "ConcurrencyConflict",
            () => Effect.succeed(undefined),
          ),
        )
      // Moved on, or this very commit stored before (a retry after a lost reply): one by one, each
      // command finds its place in the log.
      if (result === undefined || result.duplicate) return "one by one"
      yield* writeSnapshot(ref, loaded, result.events, result.position)
      // The decisions folded `state` on exactly the events now stored: it is the aggregate's state.
      const appended = envelopes.filter((_, i) => (decided[i]?.length ?? 0) > 0).map((e) => e.commandId)
      cache.set(first.aggregateId, {
        state,
        position: result.position,
        commandIds: [...loaded.commandIds, ...appended],
        eventsSinceSnapshot: loaded.eventsSinceSnapshot + result.events.length,
      })
      const outcomes = decided.map((commandEvents, i): CommandOutcome<D> => {
        const own = ownEvents(result.events, envelopes[i]!.commandId)
        return commandEvents.length === 0
          ? { status: "nothing-decided", events: [], position: result.position }
          : { status: "appended", events: own, position: result.position }
      })
      return { outcomes, rest: envelopes.slice(decided.length) }
    })

  /**
   * Handles commands to one aggregate in order, as one commit where it can (a reaction's triage,
   * draft and routing of one ticket): one append where there were as many as commands, each a
   * round trip to the log that the next command waited for. Each command's outcome is what
   * {@link handle} would have given it, and so are the events' ids; the commit is stored under its
   * first event's id, as the first command's own commit would have been, so a redelivery handled
   * one by one finds it. Commands to different aggregates, or of different metadata, are handled one by one.
   */
  const handleAll = (
    envelopes: ReadonlyArray<CommandEnvelope<Command>>,
  ): Effect.Effect<ReadonlyArray<CommandOutcome<D>>, CommandError> => {
    const first = envelopes[0]
    const oneByOne = (rest: ReadonlyArray<CommandEnvelope<Command>>, mayGuessNew: boolean) =>
      Effect.forEach(rest, (envelope) => handleGuessing(envelope, mayGuessNew))
    if (
      first === undefined ||
      envelopes.length === 1 ||
      options.replaying === true ||
      !envelopes.every(
        (e) => e.aggregateId === first.aggregateId && sameCommitMetadata(e.metadata, first.metadata),
      )
    )
      return oneByOne(envelopes, true)
    return attemptTogether(envelopes).pipe(
      Effect.catchTag("EventLogError", asCommandError(first)),
      // None of them is guessed new once they were tried together: the attempt read the aggregate,
      // kept it, or guessed it new and was told otherwise, so a guess would be a refused append.
      Effect.flatMap((together) =>
        together === "one by one"
          ? oneByOne(envelopes, false)
          : Effect.map(oneByOne(together.rest, false), (rest) => [...together.outcomes, ...rest]),
      ),
      Effect.withSpan(
        `commands ${aggregate.type}`,
        {
          attributes: { "mesh.command.id": first.commandId, "mesh.command.count": envelopes.length },
        },
        { captureStackTrace: false },
      ),
    )
  }

  /** Reads the current state of an aggregate (for queries and tests). */
  const state = (aggregateId: string) =>
    Effect.map(load(refOf(aggregateId)), (l) => ({ state: l.state, position: l.position }))

  return { aggregate, handle, handleAll, state }
}

/** The events of one command in a commit that may hold several commands' events. */
const ownEvents = <E extends { readonly commandId?: string }>(
  events: ReadonlyArray<E>,
  commandId: string,
): ReadonlyArray<E> => events.filter((e) => e.commandId === undefined || e.commandId === commandId)

/** Whether two commands' metadata may share a commit: one cause, correlation, actor and trace. */
const sameCommitMetadata = (
  a: CommandEnvelope<unknown>["metadata"],
  b: CommandEnvelope<unknown>["metadata"],
) =>
  a.correlationId === b.correlationId &&
  a.causationId === b.causationId &&
  a.actor.kind === b.actor.kind &&
  a.actor.id === b.actor.id &&
  a.trace?.traceparent === b.trace?.traceparent &&
  a.trace?.tracestate === b.trace?.tracestate

/** A command handler of one aggregate type. */
export type CommandHandler<D extends EventDefinition, Command, State> = ReturnType<
  typeof makeCommandHandler<D, Command, State>
>

/** The current instant in milliseconds, for commands issued from outside (an API call, the CLI). */
export const issuedNow = Clock.currentTimeMillis
