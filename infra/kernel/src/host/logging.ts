import { Config, Effect, Layer, Logger, References } from "effect"

/** How much a process logs (`MESH_LOG_LEVEL`): one of these, from everything to nothing. */
export type MeshLogLevel = "debug" | "info" | "warn" | "error" | "none"

/** How each log line is written (`MESH_LOG_FORMAT`): logfmt text, or one JSON object. */
export type MeshLogFormat = "text" | "json"

const effectLevels = {
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  none: "None",
} as const satisfies Record<MeshLogLevel, string>

const levelConfig = Config.Literals(["debug", "info", "warn", "error", "none"], "MESH_LOG_LEVEL").pipe(
  Config.withDefault("info" as const),
)
const formatConfig = Config.Literals(["text", "json"], "MESH_LOG_FORMAT").pipe(
  Config.withDefault("text" as const),
)

// Both formats put one log event on one line, cause and annotations included; stdout stays free
// for a command's data, so that `mesh tail --json | jq` never meets a log line.
const textLogger = Logger.withConsoleError(Logger.formatLogFmt)
const jsonLogger = Logger.withConsoleError(Logger.formatJson)

/** The logger of every mesh process: lines on stderr only, at a minimum level. */
const layer = (options: { readonly level: MeshLogLevel; readonly format: MeshLogFormat }) =>
  Layer.mergeAll(
    Logger.layer([options.format === "json" ? jsonLogger : textLogger]),
    Layer.succeed(References.MinimumLogLevel, effectLevels[options.level]),
  )

/**
 * The logging of agents' hosts and the `mesh` command line. It replaces Effect's default logger:
 * each event is one line on stderr, as logfmt text or, with `MESH_LOG_FORMAT=json`, one JSON
 * object (`timestamp`, `level`, `message`, `annotations`, `spans`, `cause`, `fiberId`).
 */
export const MeshLogger = {
  /** The logger for explicit settings (tests, or settings read elsewhere). */
  layer,
  /**
   * Reads `MESH_LOG_LEVEL` (debug|info|warn|error|none, default info) and `MESH_LOG_FORMAT`
   * (text|json, default text); a bad value fails with a ConfigError naming the variable.
   */
  layerFromConfig: Layer.unwrap(
    Effect.map(Config.all({ level: levelConfig, format: formatConfig }), layer),
  ) satisfies Layer.Layer<never, Config.ConfigError>,
}
