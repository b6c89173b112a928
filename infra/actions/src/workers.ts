import { type EventDefinition, Subjects } from "@mesh/contracts"
import type { AgentWorker } from "@mesh/kernel"
import { Effect } from "effect"
import { makeActionCommands } from "./action/actionCommands.ts"
import { type ActionExecutorOptions, makeActionExecutor } from "./executor/actionExecutor.ts"
import type { ActionGate } from "./gate/actionGate.ts"
import { makeSagaDriver } from "./saga/sagaDriver.ts"

/**
 * The action executor as a part of an agent's process: it executes that agent's actions only
 * (its own durable consumer on `<ns>.actions.<agent>.*`), so a platform team can also run it as a
 * separate deployment with the same code and scale it on its consumer's lag.
 */
export const actionExecutorWorker = <D extends EventDefinition>(
  options: Omit<ActionExecutorOptions, "nats" | "namespace" | "consumerName" | "filterSubject">,
): AgentWorker<D> => ({
  name: "action-executor",
  run: (context, until) =>
    makeActionExecutor({
      ...options,
      nats: context.nats,
      namespace: context.namespace,
      consumerName: `action-executor-${context.agent}`,
      filterSubject: Subjects.aggregateTypeWildcard(context.namespace, "actions", context.agent),
    }).run(until),
})

/** The saga driver of an agent, as a part of its process; its steps pass through the agent's gate. */
export const sagaDriverWorker = <D extends EventDefinition>(
  gateOf: (commands: ReturnType<typeof makeActionCommands>) => ActionGate,
): AgentWorker<D> => ({
  name: "saga-driver",
  run: (context, until) =>
    Effect.suspend(() => {
      const commands = makeActionCommands({ nats: context.nats, namespace: context.namespace })
      return makeSagaDriver({ commands, gate: gateOf(commands) }).run(context.agent, context.nats, until)
    }),
})
