import { Context, Effect } from "effect"

/**
 * The event a running reaction answers, as every read inside the reaction can see it: set by the
 * kernel around each `react`, absent outside one (an HTTP route, a worker, a tool).
 *
 * It is ambient, as the trace context is, so that a store the reaction reads (the shared
 * registers) can read as of the cause without every agent passing it along: a replay of recorded
 * history must see what the reaction saw when it first ran, whichever agent wrote it.
 */
export interface ReactionCause {
  readonly eventId: string
  /** The cause's `occurredAt`: when its writer decided it, on the writer's clock. */
  readonly occurredAt: string
  /** The JetStream stream it was delivered from, e.g. `MESH_PROCUREMENT`. */
  readonly stream: string
  /** The stream sequence of its commit. */
  readonly sequence: number
  /**
   * The reaction replays recorded history (an agent run with `MESH_REPLAY`, in a sandbox): what it
   * reads should be as the cause found it (see {@link historyForReaction}), not as the replay's
   * stores hold it, the end of the day replayed. A live reaction reads the present.
   */
  readonly replaying: boolean
  /**
   * The instant a replayed reaction reads as of, when it first ran: just before its earliest command
   * the log recorded, or, when it recorded none, its cause's `occurredAt` or the last decision of
   * its reactor's reactions to the same aggregate, whichever is later (its consumer ran them
   * first). Live, the cause's `occurredAt`.
   */
  readonly readAsOf: string
  /**
   * The reaction runs live on its event's first delivery to the agent's consumer, which existed when
   * the event was stored: no earlier run of it can have recorded anything (a redelivery, a retry
   * after a failure or a crash, another replica's run come with a higher delivery count), so what it
   * would look up first, to read back, is not there. False on a redelivery, in a replay, and for
   * history older than the consumer (a fork's copied log, whose decisions were copied too); absent
   * outside a consumer.
   */
  readonly firstDelivery?: boolean
  /**
   * In a replay, where a store the reaction writes through (the shared registers) notes a write
   * the reaction now makes otherwise than the recorded day made it; the kernel reports it with the
   * reaction's own departures. Live, absent.
   */
  readonly noteDeparture?: (departure: StoreWriteDeparture) => void
}

/**
 * A write a replayed reaction makes otherwise than the recorded day made it, to a store beside the
 * log (a shared register): nothing is stored for it, and the recorded value stands.
 */
export interface StoreWriteDeparture {
  /** What it wrote to, `<register>/<id>`. */
  readonly aggregate: string
  /** The write's idempotency key, or a description of the write when it has none. */
  readonly writeId: string
  /** The types of the changes the day recorded for the write (none: the day stored nothing). */
  readonly recorded: ReadonlyArray<string>
  /** The types of the changes it makes now, or null when the store now refuses it. */
  readonly now: ReadonlyArray<string> | null
  /** The first difference, in words. */
  readonly difference: string
}

/** The cause of the reaction running on this fiber, or undefined outside a reaction. */
export const CurrentReactionCause = Context.Reference<ReactionCause | undefined>(
  "mesh/CurrentReactionCause",
  {
    defaultValue: () => undefined,
  },
)

/**
 * An aggregate's history as it stood at a cause: the events written up to the cause's instant, and
 * up to the last one written in answer to the cause itself (a reaction's earlier commands, or
 * another reaction's to the same event, were in the log when it decided). A prefix of the history,
 * so a state the aggregate really held.
 */
export const historyAsOf = <E extends { readonly occurredAt: string; readonly causationId: string | null }>(
  history: ReadonlyArray<E>,
  cause: { readonly occurredAt: number; readonly eventId: string | null },
): ReadonlyArray<E> => {
  let end = 0
  for (const [i, event] of history.entries()) {
    if (
      Date.parse(event.occurredAt) <= cause.occurredAt ||
      (cause.eventId !== null && event.causationId === cause.eventId)
    )
      end = i + 1
  }
  return end === history.length ? history : history.slice(0, end)
}

/**
 * An aggregate's history as a reaction reads it: in a replay, as it stood when the reaction first
 * ran (`readAsOf`, {@link historyAsOf}; its own answers not yet written); live, or outside a
 * reaction, whole. For a reaction that loads an aggregate
 * (its own, to see what is left to do) and must, replayed, see what it saw then.
 */
export const historyForReaction = <
  E extends { readonly occurredAt: string; readonly causationId: string | null },
>(
  history: ReadonlyArray<E>,
): Effect.Effect<ReadonlyArray<E>> =>
  Effect.map(CurrentReactionCause, (cause) =>
    cause?.replaying === true
      ? historyAsOf(history, { occurredAt: Date.parse(cause.readAsOf), eventId: null })
      : history,
  )
