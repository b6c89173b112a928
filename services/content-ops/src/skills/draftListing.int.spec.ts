import { defaultPriceTable, ModelProvider, OFFLINE_CHAT_MODEL, runSkill } from "@mesh/models"
import { fakeReplies, startFakeOllama } from "@mesh/models/testing"
import { Effect } from "effect"
import { afterAll, beforeEach, describe, expect, it } from "vitest"
import { draftListing } from "./draftListing.ts"
import { draftListingOffline } from "./offline/listing.ts"
import type { DraftListingInput } from "./tasks.ts"
import { contentOpsTaskAnswers } from "./testing/fakeModelAnswers.ts"

const fake = await startFakeOllama({ answers: contentOpsTaskAnswers })
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const withOllama = <A, E>(
  effect: Effect.Effect<A, E, ModelProvider>,
  chatModelByWorkload: { interactive: string | null; background: string | null } = {
    interactive: null,
    background: null,
  },
) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(
        ModelProvider.layerOllama({
          ollamaHost: fake.url,
          chatModel: null,
          chatModelByWorkload,
          embedModel: "all-minilm",
          timeoutMs: 2_000,
          concurrency: 2,
          prices: defaultPriceTable,
        }),
      ),
    ),
  )

const kettle: DraftListingInput = {
  sku: "KTL-GLS",
  productName: "Glass Kettle",
  brand: "Brisk",
  category: "kitchen appliances",
  attributes: [{ name: "capacity", value: "1.7 l" }],
  highlights: ["Blue LED while boiling"],
  price: { amountMinor: 4_900, currency: "EUR" },
}

describe("draftListing on a server speaking Ollama's API", () => {
  it("takes a well-behaved model's answer", async () => {
    const run = await withOllama(runSkill(draftListing, kettle))
    expect(run.invocation).toMatchObject({ outcome: "answered", provider: "ollama", model: "llama3.2:3b" })
    expect(run.output).toEqual(draftListingOffline(kettle))
  })

  it("is background work: it asks the operator's background model, not the interactive one", async () => {
    const run = await withOllama(runSkill(draftListing, kettle), {
      interactive: "qwen2.5:7b",
      background: "llama3.2:1b",
    })
    expect(fake.requests().map((r) => (r.body as { model?: string }).model)).toEqual(["llama3.2:1b"])
    expect(run.invocation.model).toBe("llama3.2:1b")
  })

  it("drafts offline after two malformed answers, saying why", async () => {
    fake.enqueue("chat", fakeReplies.chat("Here is your listing!"), fakeReplies.chat('{"title":""}'))
    const run = await withOllama(runSkill(draftListing, kettle))
    expect(fake.stats().chatRequests).toBe(2)
    expect(run.invocation).toMatchObject({
      outcome: "fell-back",
      provider: "offline",
      model: OFFLINE_CHAT_MODEL,
    })
    expect(run.invocation.fallbackReason).toContain("invalid output")
    expect(run.output?.title).toBe("Brisk Glass Kettle, 1.7 l")
  })
})
