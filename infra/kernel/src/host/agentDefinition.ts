import type { EventCatalog, EventDefinition } from "@mesh/contracts"
import type { EventLog, NatsHandles } from "@mesh/eventlog"
import type { Effect, Layer } from "effect"
import type { HttpRouter } from "effect/http"
import type { Kysely } from "kysely"
import type { AggregateDefinition } from "../deciders/commandHandler.ts"
import type { RebuildOptions, RebuildReport } from "../projections/projector.ts"
import type { Dispatch, ReactorDefinition } from "../reactors/reactor.ts"
import type { makeReceive } from "../requests/outsideRequests.ts"

/** What an agent's parts get from the host: its identity, the log, the read-model database and dispatch. */
export interface AgentContext<D extends EventDefinition> {
  readonly agent: string
  readonly namespace: string
  readonly nats: NatsHandles
  readonly log: EventLog<D>
  /** Untyped at this boundary: each part narrows it to its own tables (`db.withTables<Tables>()`). */
  readonly db: Kysely<unknown>
  readonly dispatch: Dispatch
  /**
   * Takes a request from outside (a webhook, a command line, a scheduled trigger): records it in
   * the requests stream first, whether or not it decides anything, then sends the commands it
   * carries with the request as their cause and its chain's correlation id. A retry of the same
   * request id sends the same command ids, so it acts once.
   */
  readonly receive: ReturnType<typeof makeReceive>
}

/**
 * A long-running part of an agent besides its reactors: a projection, an action executor. `R` is
 * what it needs from the agent's layer.
 */
export interface AgentWorker<D extends EventDefinition, R = never> {
  readonly name: string
  /**
   * Runs until `until` completes (then drains and returns) or until interrupted. A failure the
   * host judges transient (a lost connection, a timeout) restarts it after a backoff; any other
   * failure stops it and makes the agent unready, with the reason on /status.
   */
  readonly run: (context: AgentContext<D>, until: Effect.Effect<void>) => Effect.Effect<void, unknown, R>
  /** What /status shows for it, such as a projection's lag. */
  readonly status?: (context: AgentContext<D>) => Effect.Effect<unknown, unknown, R>
  /**
   * Whether it can serve yet, when running is not enough (a projection whose tables are not set up
   * cannot answer the queries the agent's routes make of it). The agent is ready only when it is.
   */
  readonly ready?: Effect.Effect<boolean>
  /**
   * Whether the agent stays ready while this worker waits to retry after a transient failure: for a
   * worker nothing the agent serves depends on (a poll of an outside system), so that the outside
   * system's outage does not take the agent's routes and reactors out of service. A worker that failed
   * for good still makes the agent unready.
   */
  readonly readyWhileRetrying?: boolean
  /**
   * A projection's name and a rebuild of its read model from the log, into shadow tables swapped
   * in while the live tables keep serving: what an operator's `mesh projections rebuild` runs.
   */
  readonly projection?: {
    readonly name: string
    /** The version this build projects. */
    readonly version: number
    readonly rebuild: (
      context: AgentContext<D>,
      options: Pick<RebuildOptions, "onProgress" | "rollback">,
    ) => Effect.Effect<RebuildReport, unknown, R>
  }
}

/**
 * HTTP routes an agent adds beside the host's /healthz, /readyz and /status: an `HttpRouter` layer
 * (an `HttpApiBuilder.layer` of a typed API, or plain `HttpRouter.add` routes).
 */
export type AgentRoutes<D extends EventDefinition, R = never> = (
  context: AgentContext<D>,
) => Layer.Layer<never, unknown, HttpRouter.HttpRouter | R>

/**
 * An agent: its catalogue, aggregates, reactors, workers, routes and read-model migrations. `R` is
 * every service its parts require; the layer given to `runAgentMain` must provide all of them, or
 * the program does not compile.
 */
export interface AgentDefinition<D extends EventDefinition, R = never> {
  readonly name: string
  readonly catalog: EventCatalog<D>
  // biome-ignore lint/suspicious/noExplicitAny: aggregates of one agent have different command and state types
  readonly aggregates: ReadonlyArray<AggregateDefinition<D, any, any>>
  readonly reactors: ReadonlyArray<ReactorDefinition<D, unknown, R>>
  readonly workers?: ReadonlyArray<AgentWorker<D, R>>
  readonly routes?: ReadonlyArray<AgentRoutes<D, R>>
  /** Runs the read-model migrations at start-up (under the migrator's advisory lock). */
  readonly migrate?: (db: Kysely<unknown>) => Effect.Effect<void, unknown, R>
}

/** Declares an agent; `R` names the services its parts require. */
export const defineAgent = <D extends EventDefinition, R = never>(
  definition: AgentDefinition<D, R>,
): AgentDefinition<D, R> => definition
