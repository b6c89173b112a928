import { NodeRuntime } from "@effect/platform-node"
import type { EventDefinition } from "@mesh/contracts"
import { Cause, Effect, Exit } from "effect"
import { type AgentDefinition, startAgent } from "./agentHost.ts"
import { agentHostConfig } from "./config.ts"

/**
 * The whole life of an agent process: read and validate its settings (a bad one stops the process
 * with a message naming it), start, serve until SIGTERM or SIGINT, then drain and exit.
 */
export const runAgentMain = <D extends EventDefinition>(agent: AgentDefinition<D>): void => {
  const program = Effect.gen(function* () {
    const config = yield* agentHostConfig
    yield* Effect.scoped(Effect.andThen(startAgent(agent, config), Effect.never))
  }).pipe(
    Effect.onExit((exit) =>
      Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
        ? Effect.sync(() => {
            const error = Cause.squash(exit.cause)
            const text = (error instanceof Error ? error.message || String(error) : String(error)).replace(
              /\s*\n\s*/g,
              " ",
            )
            const setting = /^ConfigError\(SchemaError\((.*)\)\)$/s.exec(text)
            process.stderr.write(
              `agent ${agent.name} cannot run: ${setting === null ? text : `invalid setting: ${setting[1]}`}\n`,
            )
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
