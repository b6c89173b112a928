import { type Actor, actionEvents, type EventOf, makeCatalog, sagaEvents } from "@mesh/contracts"
import {
  type AggregatePosition,
  type AggregateRef,
  type EventLog,
  type EventLogError,
  initialPosition,
  makeEventLog,
  messageOf,
  type NatsHandles,
  type NewEvent,
} from "@mesh/eventlog"
import { CommandError, commandEventId, type DomainEvent, deterministicUuid } from "@mesh/kernel/deciders"
import { Clock, Effect, Result } from "effect"
import { type ActionCommand, type ActionEvent, type ActionState, actionDecider } from "./actionDecider.ts"

/** The catalogue of the actions domain: all the executor, the gate and approvals read and write. */
export const actionCatalog = makeCatalog(actionEvents)
/** An event definition of the actions domain. */
export type ActionDefs = (typeof actionCatalog.definitions)[number]
/** A decoded event of the actions domain. */
export type ActionDomainEvent = EventOf<ActionDefs>

/** Who sends a command to an action or a saga, in which conversation, and because of which event. */
export interface ActionCommandContext {
  readonly actor: Actor
  /** The outside request the chain started from: every event of the chain keeps it. */
  readonly correlationId: string
  /** The event that caused this command, or null for an outside request. */
  readonly causationId: string | null
}

/** Whether an event of the actions stream belongs to a saga rather than to an action. */
export const isSagaEvent: (event: { readonly type: string }) => boolean = (() => {
  const types = new Set<string>(sagaEvents.map((d) => d.type))
  return (event) => types.has(event.type)
})()

/**
 * An aggregate of the actions stream as folded from its events: its state, where it stands in the
 * log, and the ids the next events of its causal chain refer to. It is what every reader keeps
 * and passes on, so that a move is decided on it without reading the history again.
 */
export interface Folded<State> {
  readonly ref: AggregateRef
  readonly state: State
  readonly position: AggregatePosition
  /** The correlation id of its first event: the outside request that started it (null before). */
  readonly correlationId: string | null
  /** The id of its last event: what caused the state the next move is decided on. */
  readonly lastEventId: string | null
}

/** An action as folded from its history. */
export interface FoldedAction extends Folded<ActionState> {
  /** The event a human's decision answers: the action's latest `ActionAwaitingApproval` or `ActionParked`. */
  readonly awaitingEventId: string | null
  /** The id holds a saga written before sagas had their own aggregate type, not an action. */
  readonly legacySaga: boolean
}

/** How one aggregate of the actions stream folds its events and decides its commands. */
export interface AggregateSpec<Command, State, F extends Folded<State>> {
  /** Seeds command ids: `action`, `saga`. */
  readonly name: string
  readonly empty: (ref: AggregateRef) => F
  /** Folds one event; the position is set by the caller, once per commit. */
  readonly fold: (folded: F, event: ActionDomainEvent) => F
  readonly decide: (command: Command, state: State) => ReadonlyArray<DomainEvent>
  /** Why no command may be decided on this aggregate at all, if so (bad input, never a business outcome). */
  readonly refuses?: (folded: F) => string | undefined
}

/** Folds events into a folded aggregate that then stands at `position`. */
export const foldInto = <State, F extends Folded<State>>(
  spec: Pick<AggregateSpec<unknown, State, F>, "fold">,
  folded: F,
  events: ReadonlyArray<ActionDomainEvent>,
  position: AggregatePosition,
): F => {
  let current = folded
  for (const event of events) current = spec.fold(current, event)
  return { ...current, position }
}

/** What sending a command did, and the aggregate folded with what it wrote. */
export interface SendOutcome<F> {
  readonly status: "appended" | "already-handled" | "nothing-decided"
  readonly events: ReadonlyArray<ActionDomainEvent>
  readonly folded: F
}

// Conflicts on one action are rare (two executors racing, a human deciding while an attempt is
// recorded); each retry first reads where the aggregate stands, which is wait enough.
const maxConflictRetries = 5

/**
 * Loading and command handling for one kind of aggregate of the actions stream. A command is
 * decided on a folded aggregate the caller holds and appended at its position: no read, unless
 * another writer got in first, when the aggregate is read once and the command decided again.
 */
export const makeAggregateStore = <Command extends { readonly _tag: string }, State, F extends Folded<State>>(
  log: EventLog<ActionDefs>,
  spec: AggregateSpec<Command, State, F>,
) => {
  /** Reads an aggregate's whole history and folds it. */
  const load = (ref: AggregateRef): Effect.Effect<F, EventLogError> =>
    Effect.map(log.load(ref), (loaded) => foldInto(spec, spec.empty(ref), loaded.events, loaded.position))

  /**
   * Decides a command on `folded` and appends what it decides at its position. `commandKey`
   * names the step; the command id recorded with the events derives from it.
   */
  const send = (
    folded: F,
    commandKey: string,
    command: Command,
    context: ActionCommandContext,
  ): Effect.Effect<SendOutcome<F>, CommandError> =>
    Effect.gen(function* () {
      const { ref } = folded
      const now = yield* Clock.currentTimeMillis
      const commandId = deterministicUuid(
        `${spec.name}:${ref.type}:${ref.id}:${commandKey}:${command._tag}`,
        now,
      )
      const failure = (reason: CommandError["reason"]) => new CommandError({ commandId, reason })
      let current = folded
      for (let conflicts = 0; ; conflicts++) {
        const refusal = spec.refuses?.(current)
        if (refusal !== undefined)
          return yield* Effect.fail(failure({ _tag: "InvalidCommand", message: refusal }))
        const decided = yield* Effect.try({
          try: () => spec.decide(command, current.state),
          catch: (e) => failure({ _tag: "InvalidCommand", message: messageOf(e) }),
        })
        if (decided.length === 0) return { status: "nothing-decided", events: [], folded: current }
        const appended = yield* Effect.result(
          log.append({
            aggregate: ref,
            expected: current.position,
            events: decided.map(
              (event, i) =>
                ({ ...event, eventId: commandEventId(commandId, i, now) }) as unknown as NewEvent<ActionDefs>,
            ),
            metadata: { ...context, commandId },
          }),
        )
        if (Result.isSuccess(appended)) {
          const { events, position, duplicate } = appended.success
          return {
            status: duplicate ? "already-handled" : "appended",
            events,
            folded: foldInto(spec, current, events, position),
          }
        }
        const error = appended.failure
        if (error.reason._tag !== "ConcurrencyConflict")
          return yield* Effect.fail(failure({ _tag: "EventLog", message: error.message, cause: error }))
        if (conflicts >= maxConflictRetries) {
          return yield* Effect.fail(
            failure({
              _tag: "ConflictRetriesExhausted",
              aggregate: `${ref.type}/${ref.id}`,
              attempts: conflicts + 1,
            }),
          )
        }
        current = yield* load(ref).pipe(
          Effect.mapError((e) => failure({ _tag: "EventLog", message: e.message, cause: e })),
        )
      }
    })

  return { load, send }
}

/** An action with no events yet. */
export const emptyAction = (ref: AggregateRef): FoldedAction => ({
  ref,
  state: actionDecider.initialState(),
  position: initialPosition,
  correlationId: null,
  lastEventId: null,
  awaitingEventId: null,
  legacySaga: false,
})

/** Folds one event into an action; a saga's event marks the id as a saga's written beside its actions. */
export const foldActionEvent = (folded: FoldedAction, event: ActionDomainEvent): FoldedAction => {
  if (isSagaEvent(event)) return { ...folded, legacySaga: true }
  return {
    ...folded,
    state: actionDecider.evolve(folded.state, event as unknown as ActionEvent),
    correlationId: folded.correlationId ?? event.correlationId,
    lastEventId: event.eventId,
    awaitingEventId:
      event.type === "ActionAwaitingApproval" || event.type === "ActionParked"
        ? event.eventId
        : folded.awaitingEventId,
  }
}

/** How an action folds and decides. */
export const actionSpec: AggregateSpec<ActionCommand, ActionState, FoldedAction> = {
  name: "action",
  empty: emptyAction,
  fold: foldActionEvent,
  decide: actionDecider.decide,
  refuses: (folded) =>
    folded.legacySaga ? `${folded.ref.id} is a saga of ${folded.ref.type}, not an action` : undefined,
}

/** Where an action of `agent` lives: `mesh.actions.<agent>.<actionId>`. */
export const actionRef = (agent: string, actionId: string): AggregateRef => ({
  domain: "actions",
  type: agent,
  id: actionId,
})

/**
 * Command handling for actions of every agent: an agent's actions are the aggregate type named
 * after it (`mesh.actions.<agent>.<actionId>`).
 */
export const makeActionCommands = (options: { readonly nats: NatsHandles; readonly namespace: string }) => {
  const log = makeEventLog({ nats: options.nats, catalog: actionCatalog, namespace: options.namespace })
  const store = makeAggregateStore(log, actionSpec)

  /** Reads an action's history: its state, its position in the log and its causal ids. */
  const load = (agent: string, actionId: string) => store.load(actionRef(agent, actionId))

  /** Decides a command on an action as the caller holds it, and appends what it decides. */
  const sendAt = store.send

  /** Reads an action, then sends it a command: for one-off callers that hold no state (a test, a tool). */
  const send = (
    agent: string,
    actionId: string,
    commandKey: string,
    command: ActionCommand,
    context: ActionCommandContext,
  ) =>
    load(agent, actionId).pipe(
      Effect.mapError(
        (e) =>
          new CommandError({
            commandId: `${agent}/${actionId}:${commandKey}`,
            reason: { _tag: "EventLog", message: e.message, cause: e },
          }),
      ),
      Effect.flatMap((folded) => sendAt(folded, commandKey, command, context)),
    )

  return { log, load, send, sendAt, nats: options.nats, namespace: options.namespace }
}

/** Command handling for actions. */
export type ActionCommands = ReturnType<typeof makeActionCommands>
