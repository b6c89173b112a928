import { type EventDefinition, Subjects } from "@mesh/contracts"
import { type AgentWorker, projectionWorker } from "@mesh/kernel"
import { Config, Effect } from "effect"
import { type ActionDefs, actionCatalog, makeActionCommands } from "./action/actionCommands.ts"
import { ConnectorRegistry } from "./connectors/registry.ts"
import { type ActionExecutorOptions, makeActionExecutor } from "./executor/actionExecutor.ts"
import { ActionGate } from "./gate/actionGate.ts"
import {
  type ActionsReadModel,
  actionsProjection,
  actionsReadModel,
  unfinishedActions,
} from "./readModel/actionsProjection.ts"
import { makeSagaDriver } from "./saga/sagaDriver.ts"

/**
 * The actions read model of the agent that owns the actions, in its service schema: the approvals
 * queue, the gate's quota history and the executor's sweep read it. It reads that agent's actions
 * only (`<ns>.actions.<agent>.*`): every agent shares the actions stream, and projecting the others'
 * actions cost each agent a write per foreign event (a third of each agent's read-model work on the
 * shop's day) for rows nothing of it reads. Sagas live under `saga-<agent>` and change no row.
 */
export const actionsProjectionWorker = <D extends EventDefinition>(): AgentWorker<D> =>
  projectionWorker<ActionDefs, ActionsReadModel, D>(actionsProjection, {
    catalog: actionCatalog,
    streams: (context) => [
      {
        domain: "actions",
        filterSubject: Subjects.aggregateTypeWildcard(context.namespace, "actions", context.agent),
      },
    ],
  })

/** How often the executor looks for actions no event will wake, and how old a quiet action must be. */
export interface ActionSweepSettings {
  readonly everyMs: number
  readonly staleAfterMs: number
}

/** Postgres' SQLSTATE for a table that does not exist. */
const undefinedTable = "42P01"

const defaultSweep: ActionSweepSettings = { everyMs: 5_000, staleAfterMs: 30_000 }

/** MESH_ACTIONS_HOLD: the process executes no action (a dry fork); unset or false, it executes them. */
export const actionsHeldConfig: Config.Config<boolean> = Config.Boolean("MESH_ACTIONS_HOLD").pipe(
  Config.withDefault(false),
)

const actionsHeld = Effect.gen(function* () {
  return yield* actionsHeldConfig
})

/**
 * The action executor as a part of an agent's process: it executes that agent's actions only (its
 * own durable consumer on `<ns>.actions.<agent>.*`) through the process's connectors, and sweeps
 * the agent's actions read model for lapsed approvals and stalled attempts. A platform team can also
 * run it as a separate deployment with the same code and scale it on its consumer's lag.
 */
export const actionExecutorWorker = <D extends EventDefinition>(
  options: Omit<
    ActionExecutorOptions,
    "nats" | "namespace" | "consumerName" | "filterSubject" | "connectors" | "sweep"
  > & { readonly sweep?: ActionSweepSettings } = {},
): AgentWorker<D, ConnectorRegistry> => ({
  name: "action-executor",
  run: (context, until) =>
    Effect.gen(function* () {
      // A dry fork's agents decide, request and gate their actions but execute none: the actions
      // wait in the log, each with its verdict, until the fork is promoted (its agents started
      // without the hold), when this executor's new consumer finds them from the stream's start.
      if (yield* actionsHeld) {
        yield* Effect.logInfo(
          `${context.agent}: actions held (MESH_ACTIONS_HOLD): none is executed, each waits in the log`,
        )
        return yield* until
      }
      const connectors = yield* ConnectorRegistry
      const sweep = options.sweep ?? defaultSweep
      const readModel = actionsReadModel(context.db, context.namespace, context.agent)
      const { sweep: _sweep, ...executorOptions } = options
      yield* makeActionExecutor({
        ...executorOptions,
        nats: context.nats,
        namespace: context.namespace,
        connectors,
        consumerName: `action-executor-${context.agent}`,
        filterSubject: Subjects.aggregateTypeWildcard(context.namespace, "actions", context.agent),
        sweep: {
          everyMs: sweep.everyMs,
          candidates: (now) =>
            Effect.tryPromise(() =>
              unfinishedActions(readModel, {
                now,
                staleBefore: new Date(Date.parse(now) - sweep.staleAfterMs).toISOString(),
                agent: context.agent,
              }).catch((error: unknown) => {
                // At start-up the sweep can run before the actions projection has made its table: then
                // there is nothing to sweep yet, which is not worth a warning.
                if ((error as { code?: unknown } | null)?.code === undefinedTable) return []
                throw error
              }),
            ),
        },
      }).run(until)
    }),
})

/** The saga driver of an agent, as a part of its process; its steps pass through the agent's gate. */
export const sagaDriverWorker = <D extends EventDefinition>(): AgentWorker<D, ActionGate> => ({
  name: "saga-driver",
  run: (context, until) =>
    Effect.gen(function* () {
      const gate = yield* ActionGate
      const commands = makeActionCommands({ nats: context.nats, namespace: context.namespace })
      yield* makeSagaDriver({ commands, gate }).run(context.agent, context.nats, until)
    }),
})
