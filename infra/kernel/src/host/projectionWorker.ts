import type { EventDefinition } from "@mesh/contracts"
import { Effect } from "effect"
import type { Projection } from "../projections/projection.ts"
import { makeProjector } from "../projections/projector.ts"
import type { AgentContext, AgentWorker } from "./agentHost.ts"

/** The service schema of an agent's read models: its name as a Postgres identifier. */
export const serviceSchemaOf = (agent: string): string => agent.replaceAll("-", "_")

/**
 * A projection as a part of an agent's process: set up (rebuilt first if its version changed),
 * then caught up and followed live in the agent's read-model database, with its lag on /status.
 * On shutdown it stops where it is: a batch in flight rolls back with its checkpoint, so the next
 * start applies it again exactly once.
 */
export const projectionWorker = <D extends EventDefinition, DB>(
  projection: Projection<D, DB>,
  options: { readonly schema?: string } = {},
): AgentWorker<D> => {
  const projectorOf = (context: AgentContext<D>) =>
    makeProjector({
      projection,
      db: context.db,
      schema: options.schema ?? serviceSchemaOf(context.agent),
      eventLog: context.log,
      nats: context.nats,
    })
  return {
    name: `projection ${projection.name}`,
    run: (context, until) =>
      Effect.gen(function* () {
        const projector = projectorOf(context)
        yield* projector.setup
        yield* Effect.raceFirst(projector.run, until)
      }),
    status: (context) => projectorOf(context).status,
  }
}
