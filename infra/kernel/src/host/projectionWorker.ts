import type { EventCatalog, EventDefinition } from "@mesh/contracts"
import { type EventLog, makeEventLog, SkippedEvents } from "@mesh/eventlog"
import { Effect } from "effect"
import type { Kysely } from "kysely"
import { readModelSchemaOf } from "../projections/names.ts"
import type { Projection, ProjectionStream } from "../projections/projection.ts"
import { makeProjector } from "../projections/projector.ts"
import type { AgentContext, AgentWorker } from "./agentDefinition.ts"

/**
 * A projection as a part of an agent's process: set up (rebuilt first if its version changed),
 * then caught up and followed live in the agent's read-model database, with its lag and the
 * events of unknown types it skipped on /status.
 * It reads with the agent's catalogue, or with `catalog` for a projection of events the agent's
 * catalogue does not hold (the actions read model); `streams` narrows what it reads to what only
 * the running agent and namespace name (the actions of that agent). On shutdown it stops where it is: a batch in
 * flight rolls back with its checkpoint, so the next start applies it again exactly once.
 */
export const projectionWorker = <P extends EventDefinition, DB, D extends EventDefinition = P>(
  projection: Projection<P, DB>,
  options: {
    readonly schema?: string
    readonly catalog?: EventCatalog<P>
    readonly streams?: (context: AgentContext<D>) => ReadonlyArray<ProjectionStream>
  } = {},
): AgentWorker<D> => {
  // One count for the worker's life, across restarts of its projector.
  const skipped = new SkippedEvents()
  // Serving its own version in this process: its tables exist and are of its version (after a
  // rebuild, its own or another replica's). Until then, and from when a newer build swaps its
  // version in, the agent is not ready: its routes would read tables of another version.
  let serving = false
  const projectorOf = (context: AgentContext<D>) =>
    makeProjector({
      projection:
        options.streams === undefined ? projection : { ...projection, streams: options.streams(context) },
      // The projection owns its tables; the database is untyped at the host's boundary.
      db: context.db as Kysely<DB>,
      schema: options.schema ?? readModelSchemaOf(context.namespace, context.agent),
      eventLog:
        options.catalog === undefined
          ? (context.log as unknown as EventLog<P>)
          : makeEventLog({ nats: context.nats, catalog: options.catalog, namespace: context.namespace }),
      nats: context.nats,
      skipped,
      onServing: (now) => {
        serving = now
      },
    })
  return {
    name: `projection ${projection.name}`,
    run: (context, until) =>
      Effect.gen(function* () {
        const projector = projectorOf(context)
        yield* Effect.raceFirst(projector.run, until)
      }),
    status: (context) => projectorOf(context).status,
    ready: Effect.sync(() => serving),
    projection: {
      name: projection.name,
      version: projection.version,
      rebuild: (context, options) => projectorOf(context).rebuild(options),
    },
  }
}
