import { Context } from "effect"

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
}

/** The cause of the reaction running on this fiber, or undefined outside a reaction. */
export const CurrentReactionCause = Context.Reference<ReactionCause | undefined>(
  "mesh/CurrentReactionCause",
  {
    defaultValue: () => undefined,
  },
)
