import { Context, Effect, Layer } from "effect"
import { loadModelSettings, type ModelSettings, type PriceTable, type SkillWorkload } from "./config.ts"
import type { ModelError, ProviderName } from "./modelError.ts"
import { makeOfflineProvider } from "./offline/provider.ts"
import { makeOllamaProvider } from "./ollama/provider.ts"

/** One chat message. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** A chat call. `format` is a JSON schema (or "json") the answer must follow; `timeoutMs` overrides the default. */
export interface ChatRequest {
  readonly model: string
  readonly system?: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly format?: Readonly<Record<string, unknown>> | "json"
  readonly temperature?: number
  readonly timeoutMs?: number
}

/** A chat answer with what it cost. */
export interface ChatResult {
  readonly content: string
  readonly model: string
  readonly provider: ProviderName
  readonly promptTokens: number
  readonly completionTokens: number
  readonly latencyMs: number
}

/** An embedding call for a batch of texts. */
export interface EmbedRequest {
  readonly model: string
  readonly input: ReadonlyArray<string>
  readonly timeoutMs?: number
  /**
   * What the texts are for: `document` (default) is stored and searched; `query` is a search for
   * documents, embedded once and thrown away. An embedder may read them differently: the offline one
   * embeds a query whole, which is faster and finds no less (see `embedTexts`).
   */
  readonly purpose?: EmbedPurpose
}

/** What embedded texts are for: stored documents, or the queries that search them. */
export type EmbedPurpose = "document" | "query"

/** One vector per input text, in order. */
export interface EmbedResult {
  readonly embeddings: Array<Array<number>>
  readonly dimensions: number
  readonly model: string
  readonly provider: ProviderName
  readonly promptTokens: number
  readonly latencyMs: number
}

/** What every model provider offers. */
export interface ModelProviderShape {
  /** Which provider this is. */
  readonly provider: ProviderName
  /**
   * The chat model a call preferring `preferred` for a workload (interactive unless said) will get:
   * the operator's model for the workload, else the one pinned for all, else `preferred`; offline has one.
   */
  readonly resolveChatModel: (preferred: string, workload?: SkillWorkload) => string
  /** The embedding model callers should name. */
  readonly embedModel: string
  /** Prices for cost estimates. */
  readonly prices: PriceTable
  /** Chats with a model (the offline provider refuses: it answers skills through their declared implementations). */
  readonly chat: (request: ChatRequest) => Effect.Effect<ChatResult, ModelError>
  /** Embeds texts. */
  readonly embed: (request: EmbedRequest) => Effect.Effect<EmbedResult, ModelError>
}

/** The model layer: chat with structured output, and embeddings, from Ollama or the built-in offline model. */
export class ModelProvider extends Context.Service<ModelProvider, ModelProviderShape>()("ModelProvider") {
  /**
   * The built-in offline model: deterministic, no server, no weights. A skill run on it is answered by the skill's
   * declared `offline` implementation; it does not chat.
   */
  static readonly layerOffline = Layer.sync(ModelProvider, () => makeOfflineProvider())

  /** Ollama with the given settings (host required). */
  static readonly layerOllama = (settings: ModelSettings & { readonly ollamaHost: string }) =>
    Layer.effect(ModelProvider, makeOllamaProvider(settings))

  /**
   * The offline model for a long-lived process (an agent): its sentence encoder starts loading in
   * the background as the layer is built, beside the rest of the process's start. Loading (a
   * thread, tfjs and the weights) takes about 0.8 s on these 2 cores against 20–40 ms for a warm
   * embedding, and the first embedding would otherwise pay it inside a reaction: in the shop's day
   * the first resolved question's hop into content ops took 710 ms. A load that fails is logged
   * here and fails again, as a `ModelError`, on the first embedding that needs it.
   */
  static readonly layerOfflineWarm = (prices?: PriceTable) =>
    Layer.effect(
      ModelProvider,
      Effect.gen(function* () {
        const provider = makeOfflineProvider(prices)
        yield* provider.embed({ model: provider.embedModel, input: ["warm up"], purpose: "query" }).pipe(
          Effect.catch((e) => Effect.logWarning(`the offline embedder did not load ahead: ${e.message}`)),
          Effect.forkScoped,
        )
        return provider
      }),
    )

  /**
   * Either provider from explicit settings: Ollama when a host is set, offline otherwise. With
   * `warmEmbedder`, for a process whose reactions embed, the offline one loads its encoder ahead
   * (see `layerOfflineWarm`); a process that never embeds should not pay its load and memory.
   */
  static readonly layerFromSettings = (
    settings: ModelSettings,
    options: { readonly warmEmbedder?: boolean } = {},
  ) =>
    settings.ollamaHost !== null
      ? ModelProvider.layerOllama({ ...settings, ollamaHost: settings.ollamaHost })
      : options.warmEmbedder === true
        ? ModelProvider.layerOfflineWarm(settings.prices)
        : Layer.sync(ModelProvider, () => makeOfflineProvider(settings.prices))

  /** `layerFromConfig`, with the options of `layerFromSettings`. */
  static readonly layerFromConfigWith = (options: { readonly warmEmbedder?: boolean }) =>
    Layer.unwrap(
      Effect.map(loadModelSettings, (settings) => ModelProvider.layerFromSettings(settings, options)),
    )

  /** Reads MESH_OLLAMA_HOST and the MESH_* settings: Ollama when MESH_OLLAMA_HOST is set, the offline model otherwise. */
  static readonly layerFromConfig = ModelProvider.layerFromConfigWith({})
}
