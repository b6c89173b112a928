/** An event as a decider sees it: its type and payload, before the log wraps it in an envelope. */
export interface DomainEvent<Type extends string = string, Payload = unknown> {
  readonly type: Type
  readonly payload: Payload
}

/**
 * An aggregate's behaviour as three pure functions: no clock, no I/O, no randomness. Time and
 * ids a decision needs arrive inside the command. Business rejections are events.
 */
export interface Decider<Command, Event extends DomainEvent, State> {
  readonly initialState: () => State
  readonly evolve: (state: State, event: Event) => State
  readonly decide: (command: Command, state: State) => ReadonlyArray<Event>
}

/** Folds events into state. */
export const fold = <Event extends DomainEvent, State>(
  decider: Pick<Decider<unknown, Event, State>, "evolve">,
  state: State,
  events: ReadonlyArray<Event>,
): State => {
  let current = state
  for (const event of events) current = decider.evolve(current, event)
  return current
}
