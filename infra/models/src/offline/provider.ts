import { messageOf } from "@mesh/eventlog"
import { Clock, Effect } from "effect"
import { defaultPriceTable, type PriceTable } from "../config.ts"
import { ModelError } from "../modelError.ts"
import type {
  ChatRequest,
  EmbedPurpose,
  EmbedRequest,
  EmbedResult,
  ModelProviderShape,
} from "../modelProvider.ts"
import { OFFLINE_EMBED_DIMENSIONS, OFFLINE_EMBED_MODEL } from "./embedder.ts"
import { embedTexts } from "./sentenceEmbedder.ts"
import { approximateTokenCount } from "./text.ts"

/** The name the offline model reports for the skills it answers. */
export const OFFLINE_CHAT_MODEL = "mesh-offline-1"

/**
 * Builds the offline provider. It does not chat: a skill run on it (`runSkill`) is answered by the skill's own
 * declared offline implementation, so no prompt is ever parsed to find the task. Embed runs the bundled sentence
 * encoder.
 */
export const makeOfflineProvider = (prices: PriceTable = defaultPriceTable): ModelProviderShape => ({
  provider: "offline",
  resolveChatModel: () => OFFLINE_CHAT_MODEL,
  embedModel: OFFLINE_EMBED_MODEL,
  prices,
  chat: Effect.fn("OfflineModel.chat")(function* (_request: ChatRequest) {
    return yield* new ModelError({
      reason: "Unsupported",
      provider: "offline",
      model: OFFLINE_CHAT_MODEL,
      message:
        "the offline model does not chat: it answers skills only through their declared offline implementations (runSkill)",
    })
  }),
  embed: Effect.fn("OfflineModel.embed")(function* (request: EmbedRequest) {
    const started = yield* Clock.currentTimeMillis
    const embeddings = yield* embedOffline(request.input, request.purpose)
    const finished = yield* Clock.currentTimeMillis
    const result: EmbedResult = {
      embeddings,
      dimensions: OFFLINE_EMBED_DIMENSIONS,
      model: OFFLINE_EMBED_MODEL,
      provider: "offline",
      promptTokens: request.input.reduce((n, text) => n + approximateTokenCount(text), 0),
      latencyMs: finished - started,
    }
    return result
  }),
})

/** The sentence encoder's vectors for texts; a model that fails to load or run is a ModelError. */
const embedOffline = (texts: ReadonlyArray<string>, purpose: EmbedPurpose = "document") =>
  Effect.tryPromise({
    try: () => embedTexts(texts, purpose),
    catch: (cause) =>
      new ModelError({
        reason: "Unavailable",
        provider: "offline",
        model: OFFLINE_EMBED_MODEL,
        message: `the offline sentence encoder failed to load or run: ${messageOf(cause)}`,
      }),
  })

/**
 * How fast the offline embedder runs on this machine: texts embedded, the time it took, and texts
 * per second. The model is loaded before the clock starts, so the figure is the steady rate.
 */
export const measureOfflineEmbedThroughput = Effect.fn("OfflineModel.measureEmbedThroughput")(function* (
  texts: ReadonlyArray<string>,
  batch = 64,
) {
  yield* embedOffline(["warm up"])
  const started = yield* Clock.currentTimeMillis
  for (let i = 0; i < texts.length; i += batch) yield* embedOffline(texts.slice(i, i + batch))
  const elapsedMs = Math.max(1, (yield* Clock.currentTimeMillis) - started)
  return { texts: texts.length, elapsedMs, perSecond: Math.round((texts.length / elapsedMs) * 1000) }
})
