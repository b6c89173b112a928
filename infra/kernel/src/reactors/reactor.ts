import {
  anyAggregateType,
  type Domain,
  type EventCatalog,
  type EventDefinition,
  type EventOf,
  Subjects,
} from "@mesh/contracts"
import {
  type Backoff,
  CurrentReactionCause,
  type Delivery,
  type EventLogError,
  type NatsHandles,
  type RetryingDeliveries,
  runDurableConsumer,
  type SkippedEvents,
  type StoreWriteDeparture,
  type SubjectFilter,
} from "@mesh/eventlog"
import { Effect } from "effect"
import type { CommandEnvelope, CommandOutcome } from "../deciders/commandHandler.ts"
import { CommandError } from "../deciders/errors.ts"
import { reactionCommandId } from "../deciders/ids.ts"
import { isTransientFailure } from "../host/transient.ts"
import type { ReactionDecidedOtherwise, ReactionsDecidedOtherwise } from "./reactionsDecidedOtherwise.ts"
import type { ReactionTimes } from "./reactionTimes.ts"
import type { RecordedCommand, RecordedCommands } from "./recordedCommands.ts"

/** A command a reactor wants sent to one of its agent's aggregates. */
export interface Reaction {
  readonly aggregateType: string
  readonly aggregateId: string
  readonly command: unknown
}

/**
 * Where the event a reaction answers sits in the log: its stream and its commit's sequence. A
 * reaction that reads a read model reads it as of this position (see `readModelAt`), so that it
 * decides on what was known when its cause happened, on a redelivery, a replay or a fork as live.
 */
export interface CausePosition {
  /** The JetStream stream name, e.g. `MESH_PROCUREMENT`. */
  readonly stream: string
  /** The stream sequence of the cause's commit. */
  readonly sequence: number
  /**
   * Its commit's subject, `<ns>.<domain>.<aggregate type>.<id>`: a read model awaited at the
   * cause is checked to read it (`awaitReadModelAt`).
   */
  readonly subject?: string
}

/**
 * An agent's reaction to events of its own or other domains: a durable consumer that turns each
 * event into commands for the agent's own aggregates. `react` must give the same commands for the
 * same event; the command ids derive from the event, so a redelivery never acts twice.
 */
export interface ReactorDefinition<D extends EventDefinition, E = never, R = never> {
  readonly name: string
  /**
   * The domain stream it reads and, optionally, a subject filter inside it, or the aggregate types
   * of the domain it reads (their subjects, in whatever namespace it runs: a platform stream whose
   * aggregate type names the agent, such as `actions`, read for one agent's aggregates). Without
   * either it reads the subjects of the aggregate types its `eventTypes` belong to (see
   * {@link reactorSubjects}).
   */
  readonly consumes: {
    readonly domain: Domain
    readonly filterSubject?: SubjectFilter
    readonly aggregateTypes?: ReadonlyArray<string>
  }
  /**
   * Event types it reacts to; others are acknowledged and skipped, and so are events of types
   * its agent's catalogue lacks (a newer writer's), counted on /status. To react to a new type,
   * add it here in the build whose catalogue has it: events of it acknowledged before are not
   * delivered again.
   */
  readonly eventTypes: ReadonlyArray<D["type"]>
  readonly react: (event: EventOf<D>, cause: CausePosition) => Effect.Effect<ReadonlyArray<Reaction>, E, R>
  readonly maxDeliveries?: number
  readonly backoff?: Backoff
  /**
   * Events handled at once (default 1): one aggregate's events in order, different aggregates'
   * side by side, for a reaction that mostly waits (on the log, a database, a model).
   */
  readonly concurrency?: number
}

/** Declares a reactor. */
export const defineReactor = <D extends EventDefinition, E = never, R = never>(
  definition: ReactorDefinition<D, E, R>,
): ReactorDefinition<D, E, R> => definition

/**
 * Sends a command to the handler of its aggregate type. One made by {@link makeDispatch} also
 * sends several commands to one aggregate at once (`all`), appended as one commit where they can
 * be; a dispatch without it (a test's wrapper) is sent them one by one.
 */
export interface Dispatch {
  (
    aggregateType: string,
    envelope: CommandEnvelope<unknown>,
  ): Effect.Effect<CommandOutcome<EventDefinition>, CommandError>
  readonly all?: (
    aggregateType: string,
    envelopes: ReadonlyArray<CommandEnvelope<unknown>>,
  ) => Effect.Effect<ReadonlyArray<CommandOutcome<EventDefinition>>, CommandError>
}

/** Routes commands to an agent's command handlers by aggregate type. */
export const makeDispatch = (
  handlers: ReadonlyArray<{
    readonly aggregate: { readonly type: string }
    // biome-ignore lint/suspicious/noExplicitAny: handlers of different command types share one router
    readonly handle: (envelope: CommandEnvelope<any>) => Effect.Effect<CommandOutcome<any>, CommandError>
    readonly handleAll?: (
      // biome-ignore lint/suspicious/noExplicitAny: as above
      envelopes: ReadonlyArray<CommandEnvelope<any>>,
      // biome-ignore lint/suspicious/noExplicitAny: as above
    ) => Effect.Effect<ReadonlyArray<CommandOutcome<any>>, CommandError>
  }>,
): Dispatch => {
  const byType = new Map(handlers.map((h) => [h.aggregate.type, h]))
  const noHandler = (aggregateType: string, commandId: string) =>
    Effect.fail(new CommandError({ commandId, reason: { _tag: "NoHandler", aggregateType } }))
  const one = (aggregateType: string, envelope: CommandEnvelope<unknown>) => {
    const handler = byType.get(aggregateType)
    return handler === undefined ? noHandler(aggregateType, envelope.commandId) : handler.handle(envelope)
  }
  const all = (aggregateType: string, envelopes: ReadonlyArray<CommandEnvelope<unknown>>) => {
    const handler = byType.get(aggregateType)
    if (handler === undefined) return noHandler(aggregateType, envelopes[0]?.commandId ?? "(none)")
    return handler.handleAll === undefined
      ? Effect.forEach(envelopes, handler.handle)
      : handler.handleAll(envelopes)
  }
  return Object.assign(one, { all })
}

/**
 * The subjects a reactor reads: its declared filter, or its declared aggregate types' subjects; else, since the event type is not in the
 * subject (`<ns>.<domain>.<aggregateType>.<aggregateId>`), the aggregate types of its event types,
 * so that the server delivers it nothing of other aggregate types; else its whole domain (a type
 * of any aggregate type, or no type the catalogue places in its domain).
 */
export const reactorSubjects = <D extends EventDefinition>(
  namespace: string,
  catalog: EventCatalog<D>,
  reactor: Pick<ReactorDefinition<D, unknown, unknown>, "consumes" | "eventTypes">,
): SubjectFilter => {
  const { domain, filterSubject, aggregateTypes: declared } = reactor.consumes
  if (filterSubject !== undefined) return filterSubject
  if (declared !== undefined && declared.length > 0)
    return [...new Set(declared)]
      .sort()
      .map((type) => Subjects.aggregateTypeWildcard(namespace, domain, type))
  const aggregateTypes = new Set<string>()
  for (const type of reactor.eventTypes) {
    const definition = catalog.get(type)
    // A type of another domain never arrives on this stream, whatever the filter.
    if (definition === undefined || definition.domain !== domain) continue
    if (definition.aggregateType === anyAggregateType) return Subjects.domainWildcard(namespace, domain)
    aggregateTypes.add(definition.aggregateType)
  }
  if (aggregateTypes.size === 0) return Subjects.domainWildcard(namespace, domain)
  return [...aggregateTypes].sort().map((type) => Subjects.aggregateTypeWildcard(namespace, domain, type))
}

/**
 * Handles one event: asks the reactor for its reactions and dispatches each with an id derived
 * from the event. The commands run in its `react` span, whose trace their events carry: run by
 * {@link runReactor}, that span continues the causing event's trace.
 *
 * A command the log already holds appends nothing, but when the code now decides it otherwise
 * (a redelivery after a deploy that changed the reaction or the decider, or a replay of recorded
 * history through new code) the reaction is logged as a warning and noted in `otherwise`.
 */
export const reactToEvent = <D extends EventDefinition, E, R>(
  reactor: ReactorDefinition<D, E, R>,
  dispatch: Dispatch,
  agent: string,
  otherwise?: ReactionsDecidedOtherwise,
  /**
   * Given, the reaction replays recorded history (`MESH_REPLAY`): these are the commands the log
   * holds, and what the reaction reads is as its cause found it (`CurrentReactionCause`).
   */
  recorded?: RecordedCommands,
  /** Where each live reaction's times are noted (for /status and /metrics). */
  times?: ReactionTimes,
) => {
  // In a replay, by aggregate, when this reactor's latest reaction to it decided: deliveries of
  // one aggregate come in order (a redelivery aside), so the next one's reaction ran after it;
  // and, by event, the instant its reaction reads as of, fixed at its first delivery.
  const lastDecisionOn = new Map<string, number>()
  const readAsOfByEvent = new Map<string, string>()
  const replayReadAsOf = (
    event: EventOf<D>,
    issuedAt: number,
    answered: ReadonlyArray<{ readonly command: RecordedCommand }>,
  ): string => {
    const known = readAsOfByEvent.get(event.eventId)
    if (known !== undefined) return known
    if (!Number.isFinite(issuedAt)) return event.occurredAt
    const subject = `${event.aggregateType}/${event.aggregateId}`
    const decidedAt = answered.map((a) => Date.parse(a.command.occurredAt)).filter(Number.isFinite)
    const at =
      decidedAt.length > 0
        ? Math.max(issuedAt, Math.min(...decidedAt) - 1)
        : Math.max(issuedAt, lastDecisionOn.get(subject) ?? issuedAt)
    const readAsOf = new Date(at).toISOString()
    readAsOfByEvent.set(event.eventId, readAsOf)
    lastDecisionOn.set(subject, Math.max(at, ...decidedAt, lastDecisionOn.get(subject) ?? at))
    return readAsOf
  }
  return (
    event: EventOf<D>,
    cause: CausePosition,
    /** The delivery that brought the event, when a consumer did: its times are noted from it. */
    delivery?: Pick<Delivery, "storedAt" | "deliveryCount" | "queuedMs" | "storedAfterConsumer">,
  ): Effect.Effect<ReadonlyArray<CommandOutcome<EventDefinition>>, E | CommandError, R> => {
    const issuedAt = Date.parse(event.occurredAt)
    // In a replay, the commands the log recorded for this reaction, by their place among its
    // commands. One that decided nothing left no record, so places are looked at as far as the
    // event's recorded answers (of every reactor of the agent) could reach, and a few more.
    const recordedAnswers = (from: number, to: number) => {
      const found: Array<{
        readonly index: number
        readonly commandId: string
        readonly command: RecordedCommand
      }> = []
      for (let index = from; index < to && recorded !== undefined; index++) {
        const commandId = reactionCommandId(reactor.name, event.eventId, index, issuedAt)
        const command = recorded.get(commandId)
        if (command !== undefined) found.push({ index, commandId, command })
      }
      return found
    }
    const reach = recorded === undefined ? 0 : recorded.answering(event.eventId) + 8
    const answered = recordedAnswers(0, reach)
    // What a replayed reaction reads is as it stood when the reaction first ran: just before its
    // earliest recorded command (never before its cause, whose writer's clock may run ahead), or,
    // when it recorded none, no earlier than its cause and than the last decision of this
    // reactor's reactions to the same aggregate, which its consumer ran before it. Fixed at the
    // event's first delivery, so a redelivery reads the same. Live it is not computed: the
    // reaction reads the present.
    const readAsOf = recorded === undefined ? event.occurredAt : replayReadAsOf(event, issuedAt, answered)
    // In a replay, the writes to stores beside the log (the registers) that this run of the
    // reaction makes otherwise than the day did; reported with its commands' departures once it
    // has run whole, so that a run that fails and is delivered again notes each once.
    const storeDepartures: Array<StoreWriteDeparture> = []
    const inCause = Effect.provideService(CurrentReactionCause, {
      eventId: event.eventId,
      occurredAt: event.occurredAt,
      stream: cause.stream,
      sequence: cause.sequence,
      replaying: recorded !== undefined,
      readAsOf,
      ...(delivery === undefined
        ? {}
        : {
            firstDelivery:
              recorded === undefined && delivery.deliveryCount === 1 && delivery.storedAfterConsumer === true,
          }),
      ...(recorded === undefined
        ? {}
        : { noteDeparture: (departure: StoreWriteDeparture) => storeDepartures.push(departure) }),
    })
    /** The store writes this run made otherwise than the day, noted once it has run whole. */
    const noteStoreDepartures = Effect.suspend(() =>
      Effect.forEach(
        storeDepartures.splice(0),
        (write) => {
          const departure: ReactionDecidedOtherwise = {
            recorded: write.recorded,
            now: write.now,
            difference: write.difference,
            cause: { eventId: event.eventId, type: event.type },
            aggregate: write.aggregate,
            commandId: write.writeId,
          }
          return Effect.sync(() => otherwise?.record(departure)).pipe(
            Effect.andThen(
              Effect.logWarning(
                `${reactor.name}: the reaction to ${event.type} ${event.eventId} writes ${write.aggregate} otherwise than the log recorded (${write.writeId}): ${write.difference}; nothing is stored, the recorded value stands`,
              ),
            ),
          )
        },
        { discard: true },
      ),
    )

    /** Each recorded command past the ones the reaction gives now is a departure: it no longer gives it. */
    const noteCommandsNoLongerGiven = (given: number) =>
      Effect.forEach(
        [...answered, ...recordedAnswers(reach, given + reach)].filter((a) => a.index >= given),
        ({ index, commandId, command }) => {
          const departure: ReactionDecidedOtherwise = {
            recorded: command.types,
            now: [],
            difference: `no longer given: its command ${index + 1} (recorded ${command.types.join(", ")}), where it now gives ${given}`,
            cause: { eventId: event.eventId, type: event.type },
            aggregate: command.aggregate,
            commandId,
          }
          return Effect.sync(() => otherwise?.record(departure)).pipe(
            Effect.andThen(
              Effect.logWarning(
                `${reactor.name}: the reaction to ${event.type} ${event.eventId} decides otherwise than the log recorded for ${departure.aggregate} (command ${commandId}): ${departure.difference}; the recorded events stand`,
              ),
            ),
          )
        },
        { discard: true },
      )

    return Effect.gen(function* () {
      if (!reactor.eventTypes.includes(event.type)) return []
      // The agent's clock beside the server's store time, and a monotonic one for the durations.
      const startedAt = Date.now()
      const started = performance.now()
      // Reads inside the reaction, and its commands' handling, see its cause (a replay reads as of it).
      const reactions = yield* reactor.react(event, cause).pipe(inCause)
      const answered = performance.now()
      if (recorded !== undefined) yield* noteCommandsNoLongerGiven(reactions.length)
      const envelopes = reactions.map(
        (reaction, index): CommandEnvelope<unknown> => ({
          commandId: reactionCommandId(reactor.name, event.eventId, index, issuedAt),
          aggregateId: reaction.aggregateId,
          command: reaction.command,
          issuedAt,
          metadata: {
            correlationId: event.correlationId,
            causationId: event.eventId,
            actor: { kind: "agent", id: agent },
          },
        }),
      )
      // Consecutive commands to one aggregate go together: one commit where they decide on what
      // the log holds, instead of an append each that the next one waits for.
      const outcomes: Array<CommandOutcome<EventDefinition>> = []
      for (const run of runsByAggregate(reactions)) {
        const sent = envelopes.slice(run.from, run.to)
        const handled =
          dispatch.all === undefined || sent.length === 1
            ? yield* Effect.forEach(sent, (envelope) => dispatch(run.aggregateType, envelope).pipe(inCause))
            : yield* dispatch.all(run.aggregateType, sent).pipe(inCause)
        for (const [i, outcome] of handled.entries()) {
          outcomes.push(outcome)
          if (outcome.otherwise === undefined) continue
          const { commandId, aggregateId } = sent[i]!
          const aggregate = `${run.aggregateType}/${aggregateId}`
          otherwise?.record({
            ...outcome.otherwise,
            cause: { eventId: event.eventId, type: event.type },
            aggregate,
            commandId,
          })
          yield* Effect.logWarning(
            `${reactor.name}: the reaction to ${event.type} ${event.eventId} decides otherwise than the log recorded for ${aggregate} (command ${commandId}): ${outcome.otherwise.difference}; the recorded events stand`,
          )
        }
      }
      // Live, no store notes a departure: nothing to report.
      if (recorded !== undefined) yield* noteStoreDepartures
      // A replay's times are those of history read again, not of the mesh at work.
      else if (times !== undefined && delivery !== undefined)
        yield* times.record({
          deliveryMs: delivery.deliveryCount === 1 ? startedAt - delivery.storedAt : undefined,
          queueMs: delivery.queuedMs,
          workMs: answered - started,
          commitMs: performance.now() - answered,
        })
      return outcomes
    }).pipe(
      Effect.withSpan(
        `react ${reactor.name}`,
        {
          attributes: { "mesh.event.id": event.eventId },
        },
        // Per message, like the consumer's span: no stack trace for the caller's line.
        { captureStackTrace: false },
      ),
    )
  }
}

/** A reaction's commands split where the aggregate they address changes: `[from, to)` of each run. */
export const runsByAggregate = (
  reactions: ReadonlyArray<Pick<Reaction, "aggregateType" | "aggregateId">>,
): ReadonlyArray<{
  readonly aggregateType: string
  readonly aggregateId: string
  readonly from: number
  readonly to: number
}> => {
  const runs: Array<{ aggregateType: string; aggregateId: string; from: number; to: number }> = []
  for (const [index, reaction] of reactions.entries()) {
    const last = runs[runs.length - 1]
    if (
      last !== undefined &&
      last.aggregateType === reaction.aggregateType &&
      last.aggregateId === reaction.aggregateId
    )
      last.to = index + 1
    else
      runs.push({
        aggregateType: reaction.aggregateType,
        aggregateId: reaction.aggregateId,
        from: index,
        to: index + 1,
      })
  }
  return runs
}

/** Runs a reactor as a durable consumer until interrupted. */
export const runReactor = <D extends EventDefinition, E, R>(options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly catalog: EventCatalog<D>
  readonly reactor: ReactorDefinition<D, E, R>
  readonly dispatch: Dispatch
  readonly agent: string
  /** Runs after a reaction and before the ack; tests use it to crash at that point. */
  readonly beforeAck?: (event: EventOf<D>, delivery: Delivery) => Effect.Effect<void, unknown>
  /** Completes when the reactor should drain and stop (graceful shutdown). */
  readonly until?: Effect.Effect<void>
  /** Where it counts the events of types its catalogue lacks, which it skips (for /status). */
  readonly skipped?: SkippedEvents
  /** Where it notes the reactions the code now decides otherwise than the log recorded (for /status). */
  readonly otherwise?: ReactionsDecidedOtherwise
  /** Where it keeps the deliveries it tries again after a transient failure, until settled (for /status). */
  readonly retrying?: RetryingDeliveries
  /** In a replay, the commands the log holds: a recorded command a reaction no longer gives is noted too. */
  readonly recorded?: RecordedCommands
  /** Where each reaction's times are noted (for /status and /metrics). */
  readonly times?: ReactionTimes
}): Effect.Effect<void, EventLogError, R> => {
  const react = reactToEvent(
    options.reactor,
    options.dispatch,
    options.agent,
    options.otherwise,
    options.recorded,
    options.times,
  )
  return runDurableConsumer({
    nats: options.nats,
    namespace: options.namespace,
    catalog: options.catalog,
    spec: {
      name: options.reactor.name,
      domain: options.reactor.consumes.domain,
      filterSubject: reactorSubjects(options.namespace, options.catalog, options.reactor),
      ...(options.reactor.maxDeliveries === undefined
        ? {}
        : { maxDeliveries: options.reactor.maxDeliveries }),
      ...(options.reactor.backoff === undefined ? {} : { backoff: options.reactor.backoff }),
      ...(options.reactor.concurrency === undefined ? {} : { concurrency: options.reactor.concurrency }),
    },
    ...(options.until === undefined ? {} : { until: options.until }),
    ...(options.skipped === undefined ? {} : { skipped: options.skipped }),
    ...(options.retrying === undefined ? {} : { retrying: options.retrying }),
    // A commit of none of its types is acknowledged undecoded: `react` would skip each of its events.
    reactsTo: new Set(options.reactor.eventTypes),
    // A reaction that failed because a dependency was away (the event log, a database) is tried
    // again, never dead-lettered for it.
    isTransient: isTransientFailure,
    handle: (event, delivery) =>
      react(
        event,
        { stream: delivery.stream, sequence: delivery.sequence, subject: delivery.subject },
        delivery,
      ).pipe(
        Effect.andThen(options.beforeAck === undefined ? Effect.void : options.beforeAck(event, delivery)),
      ),
  })
}
