import { messageOf } from "@mesh/eventlog"
import { Clock, Effect, Result, Schema } from "effect"
import { defaultPriceTable, type PriceTable } from "../config.ts"
import { ModelError } from "../modelError.ts"
import type {
  ChatRequest,
  ChatResult,
  EmbedRequest,
  EmbedResult,
  ModelProviderShape,
} from "../modelProvider.ts"
import {
  ChooseSupplierInput,
  DraftListingInput,
  DraftReplyInput,
  type RecognisedTask,
  recogniseTask,
  TriageInput,
} from "../tasks.ts"
import { draftListingOffline, draftReplyOffline } from "./drafting.ts"
import { OFFLINE_EMBED_DIMENSIONS, OFFLINE_EMBED_MODEL } from "./embedder.ts"
import { committedTriageModel } from "./learned/triageArtefact.ts"
import { type TriageModel, triageWithModel } from "./learned/triageModel.ts"
import { embedTexts } from "./sentenceEmbedder.ts"
import { chooseSupplierOffline } from "./supplier.ts"
import { approximateTokenCount } from "./text.ts"
import { triageTicketOffline } from "./triage.ts"

/** The name the offline model reports for chat. */
export const OFFLINE_CHAT_MODEL = "mesh-offline-1"

const unsupported = (message: string) =>
  new ModelError({ reason: "Unsupported", provider: "offline", model: OFFLINE_CHAT_MODEL, message })

const decodeWith = <S extends Schema.ConstraintDecoder<unknown>>(
  schema: S,
  task: RecognisedTask,
): Result.Result<S["Type"], ModelError> =>
  Result.mapError(
    Schema.decodeUnknownResult(schema)(task.input),
    (issue) =>
      new ModelError({
        reason: "InvalidRequest",
        provider: "offline",
        model: OFFLINE_CHAT_MODEL,
        message: `input of ${task.task} is invalid: ${issue.message}`,
      }),
  )

// The committed triage model, or why it cannot be loaded (a broken checkout): a failed call, never a crash.
const loadTriageModelOnce = (): Result.Result<TriageModel, ModelError> => {
  try {
    return Result.succeed(committedTriageModel())
  } catch (cause) {
    return Result.fail(
      new ModelError({
        reason: "Unavailable",
        provider: "offline",
        model: OFFLINE_CHAT_MODEL,
        message: cause instanceof Error ? cause.message : String(cause),
        cause,
      }),
    )
  }
}

/** Answers a recognised task with JSON text that satisfies the task's output schema. */
export const answerTask = (task: RecognisedTask): Result.Result<string, ModelError> => {
  switch (task.task) {
    case "triage_ticket":
      // v3 and later: the learned model; v1 and v2: the keyword scorers they were recorded with.
      return Result.flatMap(decodeWith(TriageInput, task), (input) => {
        if (task.variant < 3)
          return Result.succeed(JSON.stringify(triageTicketOffline(input, task.variant >= 2 ? 2 : 1)))
        const model = loadTriageModelOnce()
        return Result.map(model, (m) => JSON.stringify(triageWithModel(m, input)))
      })
    case "draft_reply":
      return Result.map(decodeWith(DraftReplyInput, task), (input) =>
        JSON.stringify(draftReplyOffline(input)),
      )
    case "draft_listing":
      return Result.map(decodeWith(DraftListingInput, task), (input) =>
        JSON.stringify(draftListingOffline(input)),
      )
    case "choose_supplier":
      return Result.map(decodeWith(ChooseSupplierInput, task), (input) =>
        JSON.stringify(chooseSupplierOffline(input)),
      )
    default:
      return Result.fail(unsupported(`the offline model has no skill for task "${task.task}"`))
  }
}

const systemOf = (request: ChatRequest): string =>
  [request.system ?? "", ...request.messages.filter((m) => m.role === "system").map((m) => m.content)].join(
    "\n",
  )

const lastUserOf = (request: ChatRequest): string =>
  request.messages.findLast((m) => m.role === "user")?.content ?? ""

/** Builds the offline provider: chat answers mesh tasks deterministically; embed runs the bundled sentence encoder. */
export const makeOfflineProvider = (prices: PriceTable = defaultPriceTable): ModelProviderShape => ({
  provider: "offline",
  resolveChatModel: () => OFFLINE_CHAT_MODEL,
  embedModel: OFFLINE_EMBED_MODEL,
  prices,
  chat: Effect.fn("OfflineModel.chat")(function* (request: ChatRequest) {
    const started = yield* Clock.currentTimeMillis
    const system = systemOf(request)
    const user = lastUserOf(request)
    const task = recogniseTask(system, user)
    if (task === null) {
      return yield* unsupported(
        "the offline model only answers mesh tasks (a mesh-task marker and an <input> block)",
      )
    }
    const content = yield* Effect.fromResult(answerTask(task))
    const finished = yield* Clock.currentTimeMillis
    const result: ChatResult = {
      content,
      model: OFFLINE_CHAT_MODEL,
      provider: "offline",
      promptTokens: approximateTokenCount(`${system}\n${user}`),
      completionTokens: approximateTokenCount(content),
      latencyMs: finished - started,
    }
    return result
  }),
  embed: Effect.fn("OfflineModel.embed")(function* (request: EmbedRequest) {
    const started = yield* Clock.currentTimeMillis
    const embeddings = yield* embedOffline(request.input)
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
const embedOffline = (texts: ReadonlyArray<string>) =>
  Effect.tryPromise({
    try: () => embedTexts(texts),
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
