import { Clock, Effect, Schema, Semaphore } from "effect"
import { Ollama } from "ollama"
import { chatModelFor, type ModelSettings } from "../config.ts"
import { ModelError, type ModelErrorReason } from "../modelError.ts"
import type {
  ChatRequest,
  ChatResult,
  EmbedRequest,
  EmbedResult,
  ModelProviderShape,
} from "../modelProvider.ts"

// What we rely on in Ollama's answers; anything else is a BadResponse rather than a crash further down.
const OllamaChatResponse = Schema.Struct({
  model: Schema.optionalKey(Schema.String),
  message: Schema.Struct({ role: Schema.optionalKey(Schema.String), content: Schema.String }),
  prompt_eval_count: Schema.optionalKey(Schema.Finite),
  eval_count: Schema.optionalKey(Schema.Finite),
})
const OllamaEmbedResponse = Schema.Struct({
  model: Schema.optionalKey(Schema.String),
  embeddings: Schema.Array(Schema.Array(Schema.Finite)),
  prompt_eval_count: Schema.optionalKey(Schema.Finite),
})

const reasonForStatus = (status: number): ModelErrorReason =>
  status === 404
    ? "ModelNotFound"
    : status === 429 || status === 503
      ? "Overloaded"
      : status >= 500
        ? "ServerError"
        : "InvalidRequest"

/** Maps whatever the ollama client threw to a ModelError naming what went wrong. */
export const classifyOllamaFailure = (cause: unknown, model: string): ModelError => {
  const error = cause instanceof Error ? cause : new Error(String(cause))
  const status = (error as { status_code?: unknown }).status_code
  if (error.name === "ResponseError" && typeof status === "number") {
    return new ModelError({
      reason: reasonForStatus(status),
      provider: "ollama",
      model,
      message: `Ollama answered ${status}: ${error.message}`,
      status,
    })
  }
  if (error instanceof SyntaxError) {
    return new ModelError({
      reason: "BadResponse",
      provider: "ollama",
      model,
      message: `Ollama's answer is not JSON: ${error.message}`,
    })
  }
  const code = (error.cause as { code?: unknown } | undefined)?.code
  return new ModelError({
    reason: "Unavailable",
    provider: "ollama",
    model,
    message: `Ollama cannot be reached: ${error.message}${typeof code === "string" ? ` (${code})` : ""}`,
  })
}

const badResponse = (model: string, message: string) =>
  new ModelError({ reason: "BadResponse", provider: "ollama", model, message })

const timeoutError = (model: string, timeoutMs: number) =>
  new ModelError({
    reason: "Timeout",
    provider: "ollama",
    model,
    message: `no answer from Ollama within ${timeoutMs} ms`,
  })

/**
 * Builds the Ollama provider. Each call gets its own abort signal, so a timeout or an interruption cancels the HTTP
 * request; the semaphore caps calls in flight, and the timeout counts from when a call gets its permit (time spent
 * queueing behind the cap is not the server's fault).
 */
export const makeOllamaProvider = Effect.fn("OllamaModel.make")(function* (
  settings: ModelSettings & { readonly ollamaHost: string },
) {
  const permits = yield* Semaphore.make(settings.concurrency)
  const host = settings.ollamaHost.replace(/\/$/, "")

  // A client per call whose fetch carries that call's abort signal; the client's own calls take no signal.
  const clientFor = (signal: AbortSignal) =>
    new Ollama({ host, fetch: (input, init) => fetch(input, { ...init, signal }) })

  const call = <A>(model: string, timeoutMs: number, run: (client: Ollama) => Promise<A>) =>
    Effect.tryPromise({
      try: (signal) => run(clientFor(signal)),
      catch: (cause) => classifyOllamaFailure(cause, model),
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () => Effect.fail(timeoutError(model, timeoutMs)),
      }),
      Semaphore.withPermits(permits, 1),
    )

  const chat = Effect.fn("OllamaModel.chat")(function* (request: ChatRequest) {
    const timeoutMs = request.timeoutMs ?? settings.timeoutMs
    const messages = [
      ...(request.system !== undefined ? [{ role: "system", content: request.system }] : []),
      ...request.messages.map((m) => ({ role: m.role, content: m.content })),
    ]
    const started = yield* Clock.currentTimeMillis
    const raw = yield* call(request.model, timeoutMs, (client) =>
      client.chat({
        model: request.model,
        messages,
        stream: false,
        ...(request.format !== undefined ? { format: request.format } : {}),
        ...(request.temperature !== undefined ? { options: { temperature: request.temperature } } : {}),
      }),
    )
    const finished = yield* Clock.currentTimeMillis
    const response = yield* Schema.decodeUnknownEffect(OllamaChatResponse)(raw).pipe(
      Effect.mapError((issue) =>
        badResponse(request.model, `Ollama's chat answer lacks what its API promises: ${issue.message}`),
      ),
    )
    const result: ChatResult = {
      content: response.message.content,
      model: response.model ?? request.model,
      provider: "ollama",
      promptTokens: response.prompt_eval_count ?? 0,
      completionTokens: response.eval_count ?? 0,
      latencyMs: finished - started,
    }
    return result
  })

  const embed = Effect.fn("OllamaModel.embed")(function* (request: EmbedRequest) {
    const timeoutMs = request.timeoutMs ?? settings.timeoutMs
    const started = yield* Clock.currentTimeMillis
    const raw = yield* call(request.model, timeoutMs, (client) =>
      client.embed({ model: request.model, input: [...request.input] }),
    )
    const finished = yield* Clock.currentTimeMillis
    const response = yield* Schema.decodeUnknownEffect(OllamaEmbedResponse)(raw).pipe(
      Effect.mapError((issue) =>
        badResponse(request.model, `Ollama's embed answer lacks what its API promises: ${issue.message}`),
      ),
    )
    if (response.embeddings.length !== request.input.length) {
      return yield* badResponse(
        request.model,
        `Ollama returned ${response.embeddings.length} embeddings for ${request.input.length} inputs`,
      )
    }
    const result: EmbedResult = {
      embeddings: response.embeddings.map((vector) => [...vector]),
      dimensions: response.embeddings[0]?.length ?? 0,
      model: response.model ?? request.model,
      provider: "ollama",
      promptTokens: response.prompt_eval_count ?? 0,
      latencyMs: finished - started,
    }
    return result
  })

  const provider: ModelProviderShape = {
    provider: "ollama",
    resolveChatModel: (preferred, workload = "interactive") => chatModelFor(settings, preferred, workload),
    embedModel: settings.embedModel,
    prices: settings.prices,
    chat,
    embed,
  }
  return provider
})
