import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { afterAll, beforeEach, describe, expect, it } from "vitest"
import { defaultPriceTable, type ModelSettings } from "../config.ts"
import { ModelError } from "../modelError.ts"
import { ModelProvider } from "../modelProvider.ts"
import { OFFLINE_CHAT_MODEL } from "../offline/provider.ts"
import { runSkill } from "../skills/skill.ts"
import { fakeReplies, startFakeOllama } from "../testing/fakeOllama.ts"
import { sortMessage, sortMessageByHuman } from "../testing/sampleSkill.ts"

const fake = await startFakeOllama()
afterAll(() => fake.close())
beforeEach(() => fake.reset())

type Overrides = Partial<Omit<ModelSettings, "ollamaHost">> & { readonly ollamaHost?: string }

const settings = (overrides: Overrides = {}): ModelSettings & { ollamaHost: string } => ({
  ollamaHost: fake.url,
  chatModel: null,
  chatModelByWorkload: { interactive: null, background: null },
  embedModel: "all-minilm",
  timeoutMs: 2_000,
  concurrency: 2,
  prices: defaultPriceTable,
  ...overrides,
})

const withOllama = <A, E>(effect: Effect.Effect<A, E, ModelProvider>, overrides: Overrides = {}) =>
  Effect.runPromise(effect.pipe(Effect.provide(ModelProvider.layerOllama(settings(overrides)))))

const chatOnce = (timeoutMs?: number) =>
  Effect.gen(function* () {
    const provider = yield* ModelProvider
    return yield* Effect.exit(
      provider.chat({
        model: "llama3.2:3b",
        messages: [{ role: "user", content: "hello" }],
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      }),
    )
  })

const failureOf = <A>(exit: Exit.Exit<A, ModelError>): ModelError => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail")
    throw new Error(`expected a typed failure: ${String(exit.cause)}`)
  return error.error
}

const modelOfRequest = (index: number) =>
  (fake.requests()[index]?.body as { model?: string } | undefined)?.model

const ticket = {
  subject: "Where is my order?",
  body: "Ordered on Monday, order 51230, and nothing has shipped yet. When will it arrive?",
}

describe("Ollama provider against a local server speaking Ollama's API", () => {
  it("parses structured output, sends the schema as format, and reads token counts", async () => {
    const answer = {
      topic: "delivery",
      urgent: false,
      reason: null,
      confidence: 0.91,
      actions: ["reply"],
    }
    fake.enqueue(
      "chat",
      fakeReplies.chat(JSON.stringify(answer), {
        model: "llama3.2:3b",
        promptTokens: 300,
        completionTokens: 40,
      }),
    )
    const run = await withOllama(runSkill(sortMessage, ticket))

    expect(run.output).toEqual(answer)
    expect(run.invocation.outcome).toBe("answered")
    expect(run.invocation.provider).toBe("ollama")
    expect(run.invocation.model).toBe("llama3.2:3b")
    expect(run.invocation.attempts).toHaveLength(1)
    expect(run.invocation.promptTokens).toBe(300)
    expect(run.invocation.completionTokens).toBe(40)
    expect(run.invocation.costUsd).toBeCloseTo((300 * 0.02 + 40 * 0.06) / 1_000_000, 12)
    expect(run.invocation.promptHash).toMatch(/^[0-9a-f]{64}$/)

    const [request] = fake.requests()
    const body = request?.body as {
      stream: boolean
      format: { properties: Record<string, unknown> }
      model: string
    }
    expect(request?.path).toBe("/api/chat")
    expect(body.stream).toBe(false)
    expect(body.model).toBe("llama3.2:3b")
    expect(Object.keys(body.format.properties)).toEqual(
      expect.arrayContaining(["topic", "urgent", "actions"]),
    )
  })

  it("an operator-pinned chat model overrides the skill's preference", async () => {
    await withOllama(runSkill(sortMessage, ticket), { chatModel: "qwen2.5:7b" })
    expect(modelOfRequest(0)).toBe("qwen2.5:7b")
  })

  it("asks each workload's model, which the run records and prices", async () => {
    const sortInBackground = { ...sortMessage, workload: "background" as const }
    const byWorkload = {
      chatModel: "llama3.2:3b",
      chatModelByWorkload: { interactive: "qwen2.5:7b", background: "cheap:1b" },
      prices: { ...defaultPriceTable, "cheap:1b": { inputPerMillionUsd: 0, outputPerMillionUsd: 0 } },
    }
    const background = await withOllama(runSkill(sortInBackground, ticket), byWorkload)
    const interactive = await withOllama(runSkill(sortMessage, ticket), byWorkload)
    expect([modelOfRequest(0), modelOfRequest(1)]).toEqual(["cheap:1b", "qwen2.5:7b"])
    expect(background.invocation.model).toBe("cheap:1b")
    expect(background.invocation.costUsd).toBe(0)
    expect(interactive.invocation.model).toBe("qwen2.5:7b")
    expect(interactive.invocation.costUsd).toBeGreaterThan(0)
  })

  it("falls back to the pinned model for a workload the operator did not map", async () => {
    const sortInBackground = { ...sortMessage, workload: "background" as const }
    await withOllama(runSkill(sortInBackground, ticket), {
      chatModel: "qwen2.5:7b",
      chatModelByWorkload: { interactive: "llama3.2:3b", background: null },
    })
    expect(modelOfRequest(0)).toBe("qwen2.5:7b")
  })

  it("retries malformed output once, then falls back to the offline model with the reason recorded", async () => {
    fake.enqueue(
      "chat",
      fakeReplies.chat('{"topic": "delivery", "urgent": '),
      fakeReplies.chat('{"topic":"x"}'),
    )
    const run = await withOllama(runSkill(sortMessage, ticket))

    expect(fake.stats().chatRequests).toBe(2)
    expect(run.invocation.outcome).toBe("fell-back")
    expect(run.invocation.provider).toBe("offline")
    expect(run.invocation.model).toBe(OFFLINE_CHAT_MODEL)
    expect(run.invocation.attempts.map((a) => [a.provider, a.result])).toEqual([
      ["ollama", "invalid-output"],
      ["ollama", "invalid-output"],
      ["offline", "valid"],
    ])
    expect(run.invocation.attempts[0]?.detail).toContain("not JSON")
    expect(run.invocation.attempts[1]?.detail).toContain("output schema")
    expect(run.invocation.fallbackReason).toContain("failed 2 times")
    expect(run.invocation.fallbackReason).toContain("invalid output")
    expect(run.output?.topic).toBe("delivery")
  })

  it("a skill whose fallback is a human ends as needs-human after two malformed answers", async () => {
    fake.enqueue("chat", fakeReplies.chat("sure! it is about delivery"), fakeReplies.chat("{}"))
    const run = await withOllama(runSkill(sortMessageByHuman, ticket))
    expect(run.output).toBeNull()
    expect(run.invocation.outcome).toBe("needs-human")
    expect(run.invocation.provider).toBeNull()
    expect(run.invocation.fallbackReason).toContain("invalid output")
    expect(run.invocation.rawOutput).toBe("{}")
  })

  it("a 200 whose body is not JSON is a BadResponse", async () => {
    fake.enqueue("chat", fakeReplies.malformedBody())
    const error = failureOf(await withOllama(chatOnce()))
    expect(error).toBeInstanceOf(ModelError)
    expect(error.reason).toBe("BadResponse")
  })

  it("a 500 is a typed ServerError, and a skill falls back without retrying the failed call", async () => {
    fake.enqueue("chat", fakeReplies.error(500, "model runner crashed"))
    const error = failureOf(await withOllama(chatOnce()))
    expect(error.reason).toBe("ServerError")
    expect(error.status).toBe(500)
    expect(error.message).toContain("model runner crashed")

    fake.reset()
    fake.enqueue("chat", fakeReplies.error(500, "model runner crashed"))
    const run = await withOllama(runSkill(sortMessage, ticket))
    expect(fake.stats().chatRequests).toBe(1)
    expect(run.invocation.outcome).toBe("fell-back")
    expect(run.invocation.fallbackReason).toContain("ServerError")
  })

  it("names a missing model and an overloaded server", async () => {
    fake.enqueue("chat", fakeReplies.error(404, 'model "nope" not found, try pulling it first'))
    expect(failureOf(await withOllama(chatOnce())).reason).toBe("ModelNotFound")
    fake.enqueue("chat", fakeReplies.error(503, "server busy"))
    expect(failureOf(await withOllama(chatOnce())).reason).toBe("Overloaded")
  })

  it("honours the timeout: the call fails well before the server's delay ends, and the request is aborted", async () => {
    fake.enqueue("chat", fakeReplies.delayed(5_000, fakeReplies.chat("too late")))
    const started = performance.now()
    const error = failureOf(await withOllama(chatOnce(200)))
    const elapsed = performance.now() - started

    expect(error.reason).toBe("Timeout")
    expect(elapsed).toBeGreaterThanOrEqual(190)
    expect(elapsed).toBeLessThan(2_000)
    await expect.poll(() => fake.stats().abandoned).toBe(1)
  })

  it("uses the configured timeout when the call names none", async () => {
    fake.enqueue("chat", fakeReplies.delayed(5_000, fakeReplies.chat("too late")))
    const started = performance.now()
    const error = failureOf(await withOllama(chatOnce(), { timeoutMs: 150 }))
    expect(error.reason).toBe("Timeout")
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  it("holds the concurrency cap: 10 concurrent calls with a cap of 2 never have more than 2 in flight", async () => {
    for (let i = 0; i < 10; i++)
      fake.enqueue("chat", fakeReplies.delayed(60, fakeReplies.chat(`answer ${i}`)))
    const results = await withOllama(
      Effect.gen(function* () {
        const provider = yield* ModelProvider
        return yield* Effect.forEach(
          Array.from({ length: 10 }, (_, i) => i),
          (i) =>
            provider.chat({ model: "llama3.2:3b", messages: [{ role: "user", content: `question ${i}` }] }),
          { concurrency: "unbounded" },
        )
      }),
      { concurrency: 2 },
    )
    expect(results).toHaveLength(10)
    expect(fake.stats().chatRequests).toBe(10)
    expect(fake.stats().maxInFlight).toBe(2)
  })

  it("reports an unreachable server as Unavailable", async () => {
    const gone = await startFakeOllama()
    const url = gone.url
    await gone.close()
    const error = failureOf(await withOllama(chatOnce(), { ollamaHost: url }))
    expect(error.reason).toBe("Unavailable")
  })

  it("embeds a batch through /api/embed", async () => {
    const result = await withOllama(
      Effect.gen(function* () {
        const provider = yield* ModelProvider
        return yield* provider.embed({ model: provider.embedModel, input: ["blue rug", "glass kettle"] })
      }),
    )
    expect(result.provider).toBe("ollama")
    expect(result.embeddings).toHaveLength(2)
    expect(result.dimensions).toBe(384)
    expect(result.promptTokens).toBe(8)
    expect(modelOfRequest(0)).toBe("all-minilm")
  })

  it("rejects an embed answer with the wrong number of vectors", async () => {
    fake.enqueue("embed", fakeReplies.embeddings([[1, 0, 0]]))
    const exit = await withOllama(
      Effect.gen(function* () {
        const provider = yield* ModelProvider
        return yield* Effect.exit(provider.embed({ model: "all-minilm", input: ["a", "b"] }))
      }),
    )
    expect(failureOf(exit).reason).toBe("BadResponse")
  })

  it("layerFromConfig picks Ollama when MESH_OLLAMA_HOST is set", async () => {
    const config = ConfigProvider.layer(
      ConfigProvider.fromEnv({ env: { MESH_OLLAMA_HOST: fake.url, MESH_MODEL_CONCURRENCY: "1" } }),
    )
    const provider = await Effect.runPromise(
      Effect.gen(function* () {
        const provider = yield* ModelProvider
        yield* provider.chat({ model: "llama3.2:3b", messages: [{ role: "user", content: "hi" }] })
        return provider.provider
      }).pipe(Effect.provide(ModelProvider.layerFromConfig.pipe(Layer.provide(config)))),
    )
    expect(provider).toBe("ollama")
    expect(fake.stats().chatRequests).toBe(1)
  })
})
