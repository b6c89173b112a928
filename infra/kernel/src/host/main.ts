import { NodeRuntime } from "@effect/platform-node"
import type { EventDefinition } from "@mesh/contracts"
import { Cause, Effect, Exit, Layer } from "effect"
import { messageOf } from "../projections/errors.ts"
import type { AgentDefinition } from "./agentDefinition.ts"
import { type AgentHostServices, type StartAgentOptions, startAgent } from "./agentHost.ts"

/**
 * An agent as a layer: building it starts the agent, releasing it drains the agent. It needs the
 * agent's services and the host's (`AgentHostServices`); `Layer.launch` runs it as a process.
 */
export const agentLayer = <D extends EventDefinition, R>(
  agent: AgentDefinition<D, R>,
  options: StartAgentOptions = {},
): Layer.Layer<never, unknown, R | AgentHostServices> => Layer.effectDiscard(startAgent(agent, options))

/**
 * One line saying why an agent cannot run, naming the setting when a setting is at fault. Effect's
 * config errors nest the variable's path inside a schema issue; the path is what an operator needs.
 */
export const describeStartFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const text = messageOf(error)
  const setting = /^ConfigError\((?:SchemaError\()?(.*?)\)?\)$/s.exec(text)
  if (setting === null) return text
  const detail = (setting[1] ?? "").replace(/\s+/g, " ").trim()
  return /Expected string, got undefined|Missing/i.test(detail)
    ? `missing setting: ${detail.match(/\[\s*"?([A-Z0-9_]+)"?\s*\]/)?.[1] ?? detail}`
    : `invalid setting: ${detail}`
}

/**
 * The whole life of an agent process: build its layer (its settings and connections: a missing or
 * bad setting, or a dependency that does not answer, stops the process at once with one line on
 * stderr naming it, and exit code 1), start the agent, serve until SIGTERM or SIGINT, then drain and
 * exit 0. The type checker refuses a layer that does not provide every service the agent requires.
 */
export const runAgentMain = <D extends EventDefinition, R>(
  agent: AgentDefinition<D, R>,
  layer: Layer.Layer<NoInfer<R> | AgentHostServices, unknown, never>,
): void => {
  const program = Layer.launch(agentLayer(agent).pipe(Layer.provide(layer))).pipe(
    Effect.onExit((exit) =>
      Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
        ? Effect.sync(() => {
            process.stderr.write(`agent ${agent.name} cannot run: ${describeStartFailure(exit.cause)}\n`)
          })
        : Effect.void,
    ),
  )
  NodeRuntime.runMain(program, {
    disableErrorReporting: true,
    // An interruption here is a SIGTERM/SIGINT that drained cleanly: a normal stop, exit 0
    // (Kubernetes counts anything else as a crash).
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1),
  })
}
