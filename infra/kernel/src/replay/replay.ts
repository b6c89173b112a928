import type { Domain, EventDefinition, EventOf } from "@mesh/contracts"
import type { EventLog, EventLogError } from "@mesh/eventlog"
import { Effect, Stream } from "effect"
import type { AggregateDefinition } from "../deciders/commandHandler.ts"
import type { DomainEvent } from "../deciders/decider.ts"

// Replaying history: a domain stream read in order, each event decoded and upcast through the
// reader's catalogue and folded through its aggregate's decider, so that the state of every
// aggregate is known after each event. It reads only: no reaction runs, no side effect happens, no
// model is called, nothing is appended. The same stream replayed twice gives the same states.

/** A decider's fold, whatever its command and state types. */
interface Folder {
  readonly initialState: () => unknown
  readonly evolve: (state: unknown, event: DomainEvent) => unknown
}

/** One event replayed: where it sits in its stream, and its aggregate's state after it. */
export interface ReplayedEvent<D extends EventDefinition> {
  readonly sequence: number
  /** Its place in its commit. */
  readonly index: number
  readonly event: EventOf<D>
  /** `<aggregate type>/<aggregate id>`. */
  readonly aggregate: string
  /** The aggregate's state after the event; undefined when no given decider folds its type. */
  readonly state: unknown
  /** The aggregate's events so far, this one included. */
  readonly version: number
}

/** What to replay. */
export interface ReplayOptions<D extends EventDefinition> {
  readonly domain: Domain
  /** The deciders that fold the stream's aggregates, by aggregate type (others replay without state). */
  // biome-ignore lint/suspicious/noExplicitAny: any command and state; the fold only needs evolve
  readonly aggregates: ReadonlyArray<AggregateDefinition<D, any, any>>
  /** First sequence (default 1). */
  readonly fromSequence?: number
  /** Last sequence, inclusive (default, and at most: the stream's head when the replay starts). */
  readonly untilSequence?: number
  /** Events after this instant (epoch ms, by `occurredAt`) end the replay. */
  readonly untilTime?: number
}

/**
 * Replays a domain stream from `fromSequence` to its head as it stood when the replay began (or to
 * `untilSequence` / `untilTime`): every event with its aggregate's state after it. Aggregates are
 * folded from their first event in the range, so a replay that should show true states starts at
 * sequence 1.
 */
export const replayStream = <D extends EventDefinition>(
  log: EventLog<D>,
  options: ReplayOptions<D>,
): Effect.Effect<Stream.Stream<ReplayedEvent<D>, EventLogError>, EventLogError> =>
  Effect.gen(function* () {
    const stored = yield* log.headSequence(options.domain)
    const head = Math.min(stored, options.untilSequence ?? stored)
    const from = Math.max(1, options.fromSequence ?? 1)
    if (head < from) return Stream.empty
    const folders = new Map<string, Folder>()
    for (const a of options.aggregates)
      if (a.domain === options.domain) folders.set(a.type, a.decider as unknown as Folder)
    const states = new Map<string, { state: unknown; version: number }>()
    const untilTime = options.untilTime
    // A chunk of commits maps to one array of replayed events: a stream per commit, flattened,
    // would cost more than decoding and folding the commit. A chunk can fold to nothing (commits
    // of event types this reader's catalogue lacks), and a stream's chunks are never empty.
    const replayed = log.readRange(options.domain, { fromSequence: from, toSequence: head }).pipe(
      Stream.mapArray((commits) => {
        const out: Array<ReplayedEvent<D>> = []
        for (const commit of commits)
          commit.events.forEach((event, index) => {
            const aggregate = `${event.aggregateType}/${event.aggregateId}`
            const folder = folders.get(event.aggregateType)
            const before = states.get(aggregate)
            const version = (before?.version ?? 0) + 1
            const state =
              folder === undefined
                ? undefined
                : folder.evolve(before === undefined ? folder.initialState() : before.state, event)
            states.set(aggregate, { state, version })
            out.push({ sequence: commit.sequence, index, event, aggregate, state, version })
          })
        return [out as ReadonlyArray<ReplayedEvent<D>>] as const
      }),
      Stream.filter((out): out is readonly [ReplayedEvent<D>, ...Array<ReplayedEvent<D>>] => out.length > 0),
      Stream.flattenArray,
    )
    return untilTime === undefined
      ? replayed
      : replayed.pipe(Stream.takeWhile((r) => Date.parse(r.event.occurredAt) <= untilTime))
  })
