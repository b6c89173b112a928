import type { DecidedOtherwise } from "../deciders/decidedOtherwise.ts"

/**
 * One reaction whose command the current code decides otherwise than the log recorded, or, in a
 * replay, whose write to a shared register it makes otherwise than the day stored it.
 */
export interface ReactionDecidedOtherwise extends DecidedOtherwise {
  /** The event the reaction answered. */
  readonly cause: { readonly eventId: string; readonly type: string }
  /** The aggregate its command addressed, or the register instance it wrote, `<type>/<id>`. */
  readonly aggregate: string
  /** The command's id, or the register write's idempotency key. */
  readonly commandId: string
}

/** How many of the latest such reactions a reactor keeps for /status. */
export const keptDecidedOtherwise = 10

/**
 * The reactions of one reactor that decided otherwise than the log recorded, counted, with the
 * latest few kept: what an agent's /status shows per reactor, and what a replay of recorded
 * history reports as the places where the code running now departs from the history. Counts live
 * in the process and start at zero with it.
 */
export class ReactionsDecidedOtherwise {
  #count = 0
  readonly #latest: Array<ReactionDecidedOtherwise> = []

  record(reaction: ReactionDecidedOtherwise): void {
    this.#count += 1
    this.#latest.push(reaction)
    if (this.#latest.length > keptDecidedOtherwise) this.#latest.shift()
  }

  /** The count so far and the latest reactions, oldest first. */
  summary(): { readonly count: number; readonly latest: ReadonlyArray<ReactionDecidedOtherwise> } {
    return { count: this.#count, latest: [...this.#latest] }
  }
}
