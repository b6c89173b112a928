import { replayConfig } from "@mesh/eventlog"
import { Config, Context, Effect, Layer, Schema } from "effect"

/** Settings of an agent process besides its connections and namespace: where it listens, how it drains. */
export interface AgentSettingsShape {
  readonly httpHost: string
  /** 0 picks a free port (tests). */
  readonly httpPort: number
  /** How long a shutdown waits for in-flight messages before abandoning them to redelivery. */
  readonly shutdownGraceMs: number
  /**
   * The agent replays recorded history (`MESH_REPLAY`, a sandbox): its commands are decided as they
   * were issued, and one the log does not hold is reported, not appended (see `makeCommandHandler`).
   */
  readonly replaying: boolean
}

const Port = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 65_535 })),
)
const NonNegativeInt = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
)

/** Reads and validates the settings; a bad value fails with an error naming the variable. */
export const agentSettingsConfig: Config.Config<AgentSettingsShape> = Config.all({
  httpHost: Config.String("MESH_HTTP_HOST").pipe(Config.withDefault("0.0.0.0")),
  httpPort: Config.schema(Port, "MESH_HTTP_PORT").pipe(Config.withDefault(8080)),
  shutdownGraceMs: Config.schema(NonNegativeInt, "MESH_SHUTDOWN_GRACE_MS").pipe(Config.withDefault(10_000)),
  replaying: replayConfig,
})

/** The settings of the agent process. */
export class AgentSettings extends Context.Service<AgentSettings, AgentSettingsShape>()(
  "mesh/AgentSettings",
) {
  /** Fixed settings (tests, tools that start an agent in process); unset fields take their defaults. */
  static readonly layer = (settings: Partial<AgentSettingsShape> = {}) =>
    Layer.succeed(AgentSettings, {
      httpHost: "127.0.0.1",
      httpPort: 0,
      shutdownGraceMs: 10_000,
      replaying: false,
      ...settings,
    })

  /** The settings from the environment: `MESH_HTTP_HOST`, `MESH_HTTP_PORT`, `MESH_REPLAY`, … */
  static readonly layerFromConfig = Layer.effect(
    AgentSettings,
    Effect.gen(function* () {
      return AgentSettings.of(yield* agentSettingsConfig)
    }),
  )
}
