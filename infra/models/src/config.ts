import { Config, Effect, Schema } from "effect"

/** What one million tokens cost a model, in US dollars; offline is free. */
export const ModelPrice = Schema.Struct({
  inputPerMillionUsd: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  outputPerMillionUsd: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
})
/** What one million tokens cost a model. */
export type ModelPrice = typeof ModelPrice.Type

/** Prices by model name. */
export const PriceTable = Schema.Record(Schema.String, ModelPrice)
/** Prices by model name. */
export type PriceTable = typeof PriceTable.Type

/**
 * Default prices: local Ollama models are billed at a rough estimate of the machine time they use, so that
 * evals can compare a small and a large model; override with MESH_MODEL_PRICES.
 */
export const defaultPriceTable: PriceTable = {
  "llama3.2:3b": { inputPerMillionUsd: 0.02, outputPerMillionUsd: 0.06 },
  "qwen2.5:7b": { inputPerMillionUsd: 0.05, outputPerMillionUsd: 0.15 },
  "all-minilm": { inputPerMillionUsd: 0.005, outputPerMillionUsd: 0 },
}

/** The chat model skills prefer when nothing else is configured. */
export const DEFAULT_CHAT_MODEL = "llama3.2:3b"
/** The default Ollama embedding model: 384 dimensions (the offline embedder has 512; MESH_MEMORY_DIMENSIONS follows the provider). */
export const DEFAULT_EMBED_MODEL = "all-minilm"
/** Default per-call timeout. */
export const DEFAULT_TIMEOUT_MS = 30_000
/** Default number of model calls in flight at once. */
export const DEFAULT_CONCURRENCY = 2

/**
 * What a skill's calls wait on: a person (`interactive`: a customer's reply) or nothing but a
 * workflow that can take its time (`background`: drafting a listing). The operator maps each to a
 * model, so background work can run on a cheaper one.
 */
export const SkillWorkload = Schema.Literals(["interactive", "background"])
/** What a skill's calls wait on. */
export type SkillWorkload = typeof SkillWorkload.Type

/** The model layer's settings, read from the environment. */
export interface ModelSettings {
  /** Ollama's base URL; null means no Ollama, so the offline model is used. */
  readonly ollamaHost: string | null
  /** A chat model pinned by the operator; it overrides what skills prefer. Null lets skills choose. */
  readonly chatModel: string | null
  /** A chat model per workload (MESH_CHAT_MODEL_INTERACTIVE, …_BACKGROUND); it overrides `chatModel` for that workload. */
  readonly chatModelByWorkload: { readonly [W in SkillWorkload]: string | null }
  /** The embedding model. */
  readonly embedModel: string
  /** Per-call timeout in milliseconds when a call names none. */
  readonly timeoutMs: number
  /** At most this many calls are in flight at once. */
  readonly concurrency: number
  /** Prices for cost estimates. */
  readonly prices: PriceTable
}

const HostUrl = Schema.String.check(
  Schema.isPattern(/^https?:\/\/[^\s/]+(:\d+)?\/?$/, {
    message: "must be an http(s) URL such as http://127.0.0.1:11434",
  }),
)
const ModelName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, { message: "must be a model name such as llama3.2:3b" }),
)

const optionalNonEmpty = <A>(config: Config.Config<A>, name: string): Config.Config<A | null> =>
  Config.String(name).pipe(
    Config.withDefault(""),
    Config.flatMap((raw) => (raw.trim() === "" ? Config.succeed(null) : config)),
  )

/** The settings as an effect `Config`: a bad value fails with a ConfigError naming the variable. */
export const modelSettingsConfig: Config.Config<ModelSettings> = Config.all({
  ollamaHost: optionalNonEmpty(Config.schema(HostUrl, "MESH_OLLAMA_HOST"), "MESH_OLLAMA_HOST"),
  chatModel: optionalNonEmpty(Config.schema(ModelName, "MESH_CHAT_MODEL"), "MESH_CHAT_MODEL"),
  chatModelByWorkload: Config.all({
    interactive: optionalNonEmpty(
      Config.schema(ModelName, "MESH_CHAT_MODEL_INTERACTIVE"),
      "MESH_CHAT_MODEL_INTERACTIVE",
    ),
    background: optionalNonEmpty(
      Config.schema(ModelName, "MESH_CHAT_MODEL_BACKGROUND"),
      "MESH_CHAT_MODEL_BACKGROUND",
    ),
  }),
  embedModel: Config.schema(ModelName, "MESH_EMBED_MODEL").pipe(Config.withDefault(DEFAULT_EMBED_MODEL)),
  timeoutMs: Config.schema(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3_600_000 })),
    "MESH_MODEL_TIMEOUT_MS",
  ).pipe(Config.withDefault(DEFAULT_TIMEOUT_MS)),
  concurrency: Config.schema(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 256 })),
    "MESH_MODEL_CONCURRENCY",
  ).pipe(Config.withDefault(DEFAULT_CONCURRENCY)),
  prices: Config.schema(Schema.fromJsonString(PriceTable), "MESH_MODEL_PRICES").pipe(
    Config.withDefault({}),
    Config.map((overrides) => ({ ...defaultPriceTable, ...overrides })),
  ),
})

/**
 * The chat model a skill of `workload` preferring `preferred` gets: the workload's model, else the
 * operator's pinned one, else the skill's preference.
 */
export const chatModelFor = (
  settings: Pick<ModelSettings, "chatModel" | "chatModelByWorkload">,
  preferred: string,
  workload: SkillWorkload,
): string => settings.chatModelByWorkload[workload] ?? settings.chatModel ?? preferred

/** Reads the settings from the current ConfigProvider (the environment by default). */
export const loadModelSettings = Effect.gen(function* () {
  return yield* modelSettingsConfig
})

/** The estimated cost of a call in US dollars; unknown models and the offline model cost nothing. */
export const estimateCostUsd = (
  prices: PriceTable,
  model: string,
  promptTokens: number,
  completionTokens: number,
): number => {
  const price = prices[model]
  if (price === undefined) return 0
  return (promptTokens * price.inputPerMillionUsd + completionTokens * price.outputPerMillionUsd) / 1_000_000
}
