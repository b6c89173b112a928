import { expect } from "vitest"
import { type Decider, type DomainEvent, fold } from "./decider.ts"

/**
 * Given/When/Then for deciders: `spec.given(events).when(command).thenEmits(events)` (not `then`: an object with a `then` is a thenable). Runs the decider
 * purely, so a spec needs no infrastructure.
 */
export const DeciderSpecification = {
  for: <Command, Event extends DomainEvent, State>(decider: Decider<Command, Event, State>) => ({
    given: (history: ReadonlyArray<Event>) => ({
      when: (command: Command) => {
        const run = () => decider.decide(command, fold(decider, decider.initialState(), history))
        return {
          thenEmits: (expected: ReadonlyArray<Event>) => expect(run()).toEqual(expected),
          thenNothingHappens: () => expect(run()).toEqual([]),
          thenThrows: (message?: string | RegExp) => expect(run).toThrow(message),
        }
      },
    }),
  }),
}
