import { defaultPriceTable, ModelProvider, runSkill } from "@mesh/models"
import { fakeReplies, startFakeOllama } from "@mesh/models/testing"
import { Effect } from "effect"
import { afterAll, beforeEach, describe, expect, it } from "vitest"
import { chooseSupplier } from "./chooseSupplier.ts"
import { chooseSupplierOffline } from "./offline/supplier.ts"
import type { ChooseSupplierInput } from "./tasks.ts"
import { procurementTaskAnswers } from "./testing/fakeModelAnswers.ts"

const fake = await startFakeOllama({ answers: procurementTaskAnswers })
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const withOllama = <A, E>(effect: Effect.Effect<A, E, ModelProvider>) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(
        ModelProvider.layerOllama({
          ollamaHost: fake.url,
          chatModel: null,
          chatModelByWorkload: { interactive: null, background: null },
          embedModel: "all-minilm",
          timeoutMs: 2_000,
          concurrency: 2,
          prices: defaultPriceTable,
        }),
      ),
    ),
  )

const reorder: ChooseSupplierInput = {
  sku: "KTL-GLS",
  quantity: 10,
  neededWithinDays: 10,
  suppliers: [
    {
      id: "a",
      name: "A",
      unitCost: { amountMinor: 100, currency: "EUR" },
      leadTimeDays: 3,
      onTimeRate: 0.95,
      minOrderQuantity: 1,
    },
  ],
}

describe("chooseSupplier on a server speaking Ollama's API", () => {
  it("takes a well-behaved model's answer from the model the skill prefers", async () => {
    const run = await withOllama(runSkill(chooseSupplier, reorder))
    expect(run.invocation).toMatchObject({ outcome: "answered", provider: "ollama", model: "qwen2.5:7b" })
    expect(run.output).toEqual(chooseSupplierOffline(reorder))
  })

  it("hands the reorder to a buyer after two malformed answers, without asking the offline model", async () => {
    fake.enqueue("chat", fakeReplies.chat("sure! supplier A"), fakeReplies.chat("{}"))
    const run = await withOllama(runSkill(chooseSupplier, reorder))
    expect(fake.stats().chatRequests).toBe(2)
    expect(run.output).toBeNull()
    expect(run.invocation.outcome).toBe("needs-human")
    expect(run.invocation.provider).toBeNull()
    expect(run.invocation.fallbackReason).toContain("invalid output")
    expect(run.invocation.rawOutput).toBe("{}")
  })
})
