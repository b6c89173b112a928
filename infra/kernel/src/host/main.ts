import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { EventDefinition } from "@mesh/contracts"
import { MeshNamespace, NatsClient } from "@mesh/eventlog"
import { ReadModelDb, ReadModelDbError } from "@mesh/sql"
import { Cause, Config, Context, Effect, Exit, Layer, Option } from "effect"
import { messageOf } from "../projections/errors.ts"
import type { AgentDefinition } from "./agentDefinition.ts"
import { type AgentHostServices, type StartAgentOptions, startAgent } from "./agentHost.ts"
import { AgentSettings } from "./agentSettings.ts"
import { MeshLogger } from "./logging.ts"

/**
 * The host's own services from the environment: NATS (`MESH_NATS_URL`), the namespace, the
 * settings, then the read-model database (`MESH_DATABASE_URL`). The database opens last, once
 * everything cheaper has been checked: opening embedded PGlite takes seconds of CPU, which a
 * process stopping on a bad setting or an unreachable NATS should not pay.
 */
export const agentHostLayerFromConfig = (agent: string) =>
  ReadModelDb.layerFromConfig.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        NatsClient.layerFromConfig(agent),
        MeshNamespace.layerFromConfig,
        AgentSettings.layerFromConfig,
      ),
    ),
  )

/**
 * An agent as a layer: building it starts the agent, releasing it drains the agent. It needs the
 * agent's services and the host's (`AgentHostServices`); `agentProgram` runs it as a process.
 */
export const agentLayer = <D extends EventDefinition, R>(
  agent: AgentDefinition<D, R>,
  options: StartAgentOptions = {},
): Layer.Layer<never, unknown, R | AgentHostServices> => Layer.effectDiscard(startAgent(agent, options))

/**
 * What is wrong with a setting, in one line naming the variable: Effect's config errors carry the
 * variable as the path of a schema issue, and a missing variable as a value of no type at all.
 */
export const describeConfigError = (error: Config.ConfigError): string => {
  const cause = error.cause
  const detail = cause.message
    .replace(/\s*\n\s*at \[[^\]]*\]\s*$/, "")
    .replace(/\s+/g, " ")
    .trim()
  const issue = (cause as { readonly issue?: SettingIssue }).issue
  if (issue?._tag !== "Pointer" || issue.path === undefined) return `invalid setting: ${detail}`
  const name = issue.path.join(".")
  return isAbsent(issue.issue) ? `missing setting: ${name}` : `invalid setting ${name}: ${detail}`
}

/** The parts of a schema issue this reads: its tag, the variable's path, and what it wraps. */
interface SettingIssue {
  readonly _tag?: string
  readonly path?: ReadonlyArray<unknown>
  readonly actual?: unknown
  readonly issue?: SettingIssue
}

// An environment variable is a string when it is set at all: a value of no type, under however
// many layers of decoding (a redacted secret adds one), is a missing one.
const isAbsent = (issue: SettingIssue | undefined): boolean =>
  issue === undefined
    ? false
    : issue._tag === "InvalidType"
      ? issue.actual === undefined || (Option.isOption(issue.actual) && Option.isNone(issue.actual))
      : issue._tag === "Encoding" && isAbsent(issue.issue)

/** One line saying why an agent cannot run, naming the setting when a setting is at fault. */
export const describeStartFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Config.ConfigError ? describeConfigError(error) : messageOf(error)
}

/**
 * Ends the process with `code` once what it still holds has let go, and at the latest after a
 * grace period. A `process.exit` while V8 still compiles on its background threads (an agent
 * stopping on a bad setting while an embedded database loads) can deadlock Node 24's exit: its
 * compiler threads wait for a collection the exiting main thread never runs (seen here: about one
 * stop in five hung until killed). Letting the event loop drain first avoids that; the timer
 * covers a handle that would never let go.
 */
export const exitWhenSettled = (code: number, graceMs = 2_000): void => {
  process.exitCode = code
  setTimeout(() => process.exit(code), graceMs).unref()
}

/**
 * An agent's life: its layer built (the agent started), then served until interrupted (SIGTERM or
 * SIGINT, which drains it), or until its read-model database is lost for good (an embedded
 * database whose thread died), which drains it and fails with `DatabaseLost`: every statement would
 * fail from then on, and only a new process can open the database again, so the agent stops to be
 * restarted rather than stay up unready for ever.
 */
export const agentProgram = <D extends EventDefinition, R>(
  agent: AgentDefinition<D, R>,
  layer: Layer.Layer<NoInfer<R> | AgentHostServices, unknown, never>,
  options: StartAgentOptions = {},
): Effect.Effect<never, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const services = yield* Layer.build(agentLayer(agent, options).pipe(Layer.provideMerge(layer)))
      return yield* Context.get(services, ReadModelDb).lost.pipe(
        Effect.tapError((error) => Effect.logError(`${agent.name} stops: ${error.message}`)),
      )
    }),
  )

/** Whether an agent's program ended because its read-model database was lost (exit code 3). */
const lostItsDatabase = (cause: Cause.Cause<unknown>): boolean => {
  const error = Cause.squash(cause)
  return error instanceof ReadModelDbError && error.reason._tag === "DatabaseLost"
}

/**
 * The whole life of an agent process: build its layer (its settings and connections: a missing or
 * bad setting, or a dependency that does not answer, stops the process at once with one line on
 * stderr naming it, and exit code 1), start the agent, serve until SIGTERM or SIGINT, then drain and
 * exit 0. An agent that loses its embedded database drains and exits 3 (see `agentProgram`). The
 * type checker refuses a layer that does not provide every service the agent requires.
 */
export const runAgentMain = <D extends EventDefinition, R>(
  agent: AgentDefinition<D, R>,
  layer: Layer.Layer<NoInfer<R> | AgentHostServices, unknown, never>,
): void => {
  const program = agentProgram(agent, layer).pipe(
    // Logs go to stderr, at MESH_LOG_LEVEL, as text or MESH_LOG_FORMAT=json.
    Effect.provide(MeshLogger.layerFromConfig),
    Effect.onExit((exit) =>
      Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
        ? Effect.sync(() => {
            process.stderr.write(
              `agent ${agent.name} ${lostItsDatabase(exit.cause) ? "stopped" : "cannot run"}: ${describeStartFailure(exit.cause)}\n`,
            )
          })
        : Effect.void,
    ),
  )
  NodeRuntime.runMain(program, {
    disableErrorReporting: true,
    // An interruption here is a SIGTERM/SIGINT that drained cleanly: a normal stop, exit 0
    // (Kubernetes counts anything else as a crash). A lost database is 3, a failed start 1.
    teardown: (exit) =>
      exitWhenSettled(
        Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : lostItsDatabase(exit.cause) ? 3 : 1,
      ),
  })
}
