import type { EventDefinition } from "@mesh/contracts"
import { type AggregateRef, type EventLog, type EventLogError, historyForReaction } from "@mesh/eventlog"
import { Effect } from "effect"
import { type Decider, type DomainEvent, fold } from "./decider.ts"

/**
 * An aggregate's state as a reaction reads it, from the log itself rather than a read model (so it
 * holds what was written a moment before, however far the projections lag): its history whole,
 * or, in a replayed reaction, as the reaction's cause found it (`historyForReaction`), folded by
 * its decider. Outside a reaction, the history whole.
 */
export const stateForReaction = <D extends EventDefinition, Event extends DomainEvent, State>(
  log: EventLog<D>,
  aggregate: AggregateRef,
  decider: Pick<Decider<unknown, Event, State>, "evolve" | "initialState">,
): Effect.Effect<State, EventLogError> =>
  log.load(aggregate).pipe(
    Effect.flatMap((loaded) => historyForReaction(loaded.events)),
    // The log's envelopes are the decider's events (type and payload): its catalogue holds them.
    Effect.map((events) => fold(decider, decider.initialState(), events as unknown as ReadonlyArray<Event>)),
  )
