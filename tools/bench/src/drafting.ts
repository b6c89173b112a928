import { randomUUID } from "node:crypto"
import {
  type DraftListingInput,
  draftListing,
  draftListingBatch,
  MAX_LISTINGS_PER_CALL,
} from "@mesh/content-ops/skills"
import { canonicalJson, type EventEnvelope } from "@mesh/contracts"
import { applyTopology, declareTopology, NatsClient, type NatsHandles } from "@mesh/eventlog"
import {
  approximateTokenCount,
  DecisionRecorder,
  decideEachOnce,
  decideOnce,
  decisionIdFor,
  defaultPriceTable,
  ModelProvider,
  runSkill,
} from "@mesh/models"
import { chatResponder, type FakeOllama, startFakeOllama } from "@mesh/models/testing"
import { Effect, Layer, ManagedRuntime, Result, Schema } from "effect"
import { type BenchResult, now } from "./harness.ts"

// The deciding agent, named as content ops names itself (its `contentOpsName`), without loading the agent.
const agent = "content-ops"
// A model with a price in the default table, so that each decision carries a cost.
const model = "llama3.2:3b"
// A small local model's fixed cost per call (connection, prompt set-up, first token): what batching saves.
const CALL_LATENCY_MS = 25

const brands = ["Lumo", "Nordhaus", "Kettleby", "Arbor & Vale", "Tessin", "Quill", "Marlow", "Brightfold"]
const products: ReadonlyArray<{
  readonly name: string
  readonly category: string
  readonly attributes: ReadonlyArray<readonly [string, ReadonlyArray<string>]>
  readonly highlights: ReadonlyArray<string>
}> = [
  {
    name: "Desk Lamp",
    category: "lighting",
    attributes: [
      ["colour", ["matt black", "brass", "sage green", "white"]],
      ["dimensions", ["42 x 15 x 20 cm", "38 x 14 x 18 cm"]],
      ["bulb", ["E27 LED 8 W included", "E14 LED 5 W included"]],
    ],
    highlights: ["dims in three steps with a touch switch", "works on 100 to 240 V", "fabric cable 1.8 m"],
  },
  {
    name: "Electric Kettle",
    category: "kitchen",
    attributes: [
      ["capacity", ["1.7 l", "1.2 l", "1.5 l"]],
      ["colour", ["stainless steel", "cream", "slate grey"]],
      ["power", ["2200 W", "1800 W"]],
    ],
    highlights: ["keep-warm setting for 30 minutes", "removable limescale filter", "boil-dry protection"],
  },
  {
    name: "Linen Duvet Cover",
    category: "bedding",
    attributes: [
      ["size", ["135 x 200 cm", "155 x 220 cm", "200 x 200 cm"]],
      ["colour", ["natural", "terracotta", "indigo", "oat"]],
      ["material", ["100% stone-washed linen"]],
    ],
    highlights: ["button closure", "pre-washed for softness", "machine washable at 40 °C"],
  },
  {
    name: "Travel Backpack",
    category: "bags",
    attributes: [
      ["capacity", ["28 l", "35 l", "40 l"]],
      ["colour", ["olive", "black", "sand"]],
      ["weight", ["1.1 kg", "1.3 kg"]],
    ],
    highlights: [
      "padded sleeve for a 16-inch laptop",
      "opens flat like a suitcase",
      "water-resistant fabric",
    ],
  },
  {
    name: "Ceramic Planter",
    category: "garden",
    attributes: [
      ["dimensions", ["Ø 18 cm, 16 cm high", "Ø 24 cm, 21 cm high", "Ø 30 cm, 26 cm high"]],
      ["colour", ["speckled white", "charcoal", "rust"]],
    ],
    highlights: ["drainage hole with a cork plug", "matching saucer included", "hand-glazed"],
  },
]

/**
 * `count` distinct products' facts, the same on every run: a product type, brand and attributes
 * chosen by index, a model number and a price of its own, so that no two prompts are the same.
 */
export const productFacts = (count: number): ReadonlyArray<DraftListingInput> =>
  Array.from({ length: count }, (_, i) => {
    const product = products[i % products.length]!
    const brand = brands[Math.floor(i / products.length) % brands.length]!
    return {
      sku: `SKU-${String(1000 + i)}`,
      productName: `${product.name} ${String.fromCharCode(65 + (i % 26))}${10 + i}`,
      brand,
      category: product.category,
      attributes: product.attributes.map(([name, values]) => ({ name, value: values[i % values.length]! })),
      highlights: product.highlights.slice(0, 2 + (i % 2)),
      price: { amountMinor: 1_990 + ((i * 1_237) % 15_000), currency: "EUR" },
    }
  })

/** The event a listing's facts arrive with, as the drafting reaction receives it. */
const factsRecorded = (facts: DraftListingInput): EventEnvelope => ({
  eventId: randomUUID(),
  type: "ProductFactsRecorded",
  schemaVersion: 1,
  aggregateType: "listing",
  aggregateId: `bench:${facts.sku}`,
  aggregateVersion: 1,
  occurredAt: "2026-11-27T10:00:00.000Z",
  correlationId: `corr-${randomUUID()}`,
  causationId: null,
  actor: { kind: "human", id: "merchandiser" },
  payload: { facts: { tenantId: "bench", ...facts }, version: 1 },
})

/** What the model was asked and answered while a path ran, as it reported it (the provider bills by these). */
interface Served {
  calls: number
  promptTokens: number
  completionTokens: number
}

/**
 * The model: a server speaking Ollama's API that drafts as the offline skill does, reports token
 * counts that follow the size of each prompt and answer (as a tokenizer's would), and takes a
 * fixed time per call. Only the call's overhead is timed, not generation: a real model writes the
 * same answers either way, so its time shrinks less with batching than this one's.
 */
const startDraftingModel = async (served: Served): Promise<FakeOllama> => {
  const drafts = chatResponder({
    draft_listing: (input) => Result.succeed(draftListing.offline!(input as DraftListingInput)),
    draft_listing_batch: (input) =>
      Result.succeed({
        answers: (input as { items: ReadonlyArray<DraftListingInput> }).items.map(draftListing.offline!),
      }),
  })
  return startFakeOllama({
    chat: (request) => {
      const reply = drafts(request)
      const messages = (request.body as { messages?: ReadonlyArray<{ content?: string }> }).messages ?? []
      const promptTokens = approximateTokenCount(messages.map((m) => m.content ?? "").join("\n"))
      const json = reply.json as { message?: { content?: string } } | undefined
      const completionTokens = approximateTokenCount(json?.message?.content ?? "")
      served.calls++
      served.promptTokens += promptTokens
      served.completionTokens += completionTokens
      return {
        ...reply,
        json: { ...json, prompt_eval_count: promptTokens, eval_count: completionTokens },
        delayMs: CALL_LATENCY_MS,
      }
    },
  })
}

/**
 * Drafting listings for a catalogue: N listings decided one at a time (`decideOnce`, one model
 * call and one recorded decision each), the same N decided in batches (`decideEachOnce` over
 * `draftListingBatch`, up to 8 a call, still one decision per cause with its share of the call),
 * and beneath them the batch skill's model calls alone (`runSkill`, nothing recorded). A model
 * server speaking Ollama's API answers with the skills' offline drafts, in a fixed time per call,
 * with token counts that follow the prompt's and answer's size; decisions are recorded in NATS.
 * Every cause's decision is loaded back and checked.
 */
export const runDraftingBench = async (options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly listings?: number
  readonly rounds?: number
}): Promise<BenchResult> => {
  const count = options.listings ?? 64
  const rounds = options.rounds ?? 3
  const { nats, namespace } = options
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const served: Served = { calls: 0, promptTokens: 0, completionTokens: 0 }
  const ollama = await startDraftingModel(served)
  const runtime = ManagedRuntime.make(
    Layer.merge(
      DecisionRecorder.layer({ namespace }).pipe(Layer.provide(Layer.succeed(NatsClient, nats))),
      ModelProvider.layerOllama({
        ollamaHost: ollama.url,
        chatModel: model,
        chatModelByWorkload: { interactive: null, background: null },
        embedModel: "all-minilm",
        timeoutMs: 30_000,
        concurrency: 4,
        prices: defaultPriceTable,
      }),
    ),
  )
  const facts = productFacts(count)
  const chunks = Array.from({ length: Math.ceil(count / MAX_LISTINGS_PER_CALL) }, (_, i) =>
    facts.slice(i * MAX_LISTINGS_PER_CALL, (i + 1) * MAX_LISTINGS_PER_CALL),
  )
  const expected = facts.map((f) =>
    canonicalJson(Schema.encodeSync(draftListing.output)(draftListing.offline!(f))),
  )

  /** Runs one path over the N listings, timing it and counting what the model served it. */
  const measure = async <A>(run: () => Promise<A>) => {
    const before = { ...served }
    const started = now()
    const value = await run()
    const ms = now() - started
    return {
      value,
      ms,
      calls: served.calls - before.calls,
      promptTokens: served.promptTokens - before.promptTokens,
      completionTokens: served.completionTokens - before.completionTokens,
    }
  }

  const oneAtATime = () => {
    const causes = facts.map(factsRecorded)
    return measure(() =>
      runtime.runPromise(
        Effect.forEach(facts, (input, i) =>
          decideOnce(draftListing, input, { cause: causes[i]!, agent, reuseByInput: false }),
        ),
      ),
    ).then((m) => ({ ...m, causes }))
  }
  const batched = () => {
    const causes = facts.map(factsRecorded)
    const toMake = facts.map((input, i) => ({ input, cause: causes[i]! }))
    return measure(() => runtime.runPromise(decideEachOnce(draftListingBatch, toMake, { agent }))).then(
      (m) => ({ ...m, causes }),
    )
  }
  const raw = () =>
    measure(() =>
      runtime.runPromise(Effect.forEach(chunks, (items) => runSkill(draftListingBatch, { items }))),
    )

  /**
   * Loads every cause's decision back and fails unless each has its own, caused by it, answered
   * with the draft of its own facts (a batch's answers not shifted), batched or not as the path
   * says; the totals are what the decisions recorded.
   */
  const verify = async (path: string, causes: ReadonlyArray<EventEnvelope>, batchSize: number | null) => {
    const loaded = await runtime.runPromise(
      Effect.gen(function* () {
        const recorder = yield* DecisionRecorder
        return yield* Effect.forEach(causes, (cause) =>
          recorder.load(agent, decisionIdFor(draftListing.name, cause.eventId)),
        )
      }),
    )
    const problems: Array<string> = []
    for (const [i, { event, invocation }] of loaded.entries()) {
      const p = event.payload
      if (event.causationId !== causes[i]!.eventId)
        problems.push(`listing ${i}: caused by ${event.causationId}`)
      if (p.outcome !== "answered") problems.push(`listing ${i}: ${p.outcome} (${p.fallbackReason})`)
      if (canonicalJson(invocation.output) !== expected[i])
        problems.push(`listing ${i}: another listing's draft`)
      if (batchSize === null ? p.batch !== undefined : p.batch?.size !== Math.min(batchSize, count))
        problems.push(`listing ${i}: batch ${JSON.stringify(p.batch ?? null)}`)
    }
    if (new Set(loaded.map((d) => d.event.eventId)).size !== causes.length)
      problems.push("two causes share a decision")
    if (problems.length > 0)
      throw new Error(
        `drafting ${path}: ${problems.length} of ${count} decisions wrong: ${problems.slice(0, 3).join("; ")}`,
      )
    return loaded.reduce(
      (sum, { event: { payload: p } }) => ({
        promptTokens: sum.promptTokens + p.promptTokens,
        completionTokens: sum.completionTokens + p.completionTokens,
        costUsd: sum.costUsd + p.costUsd,
      }),
      { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    )
  }

  try {
    // Warm-up: the connections, the object store and each path's code, on listings not measured.
    const warmUp = productFacts(2 * MAX_LISTINGS_PER_CALL)
    await runtime.runPromise(
      Effect.gen(function* () {
        yield* decideEachOnce(
          draftListingBatch,
          warmUp.map((input) => ({ input, cause: factsRecorded(input) })),
          { agent },
        )
        yield* Effect.forEach(warmUp.slice(0, 4), (input) =>
          decideOnce(draftListing, input, { cause: factsRecorded(input), agent, reuseByInput: false }),
        )
        yield* runSkill(draftListingBatch, { items: warmUp.slice(0, MAX_LISTINGS_PER_CALL) })
      }),
    )

    type Measured = Awaited<ReturnType<typeof measure>>
    const runs: Record<"single" | "batched" | "raw", Array<Measured>> = { single: [], batched: [], raw: [] }
    const recorded: Record<"single" | "batched", Array<Awaited<ReturnType<typeof verify>>>> = {
      single: [],
      batched: [],
    }
    let rawCostUsd = 0
    // Alternate the paths so that none gets the quieter part of a noisy machine; new causes each round.
    for (let round = 0; round < rounds; round++) {
      const single = await oneAtATime()
      runs.single.push(single)
      recorded.single.push(await verify("one at a time", single.causes, null))
      const batch = await batched()
      runs.batched.push(batch)
      recorded.batched.push(await verify("batched", batch.causes, MAX_LISTINGS_PER_CALL))
      const beneath = await raw()
      runs.raw.push(beneath)
      rawCostUsd = beneath.value.reduce((sum, run) => sum + run.invocation.costUsd, 0)
      if (beneath.value.some((run, i) => run.output?.answers.length !== chunks[i]!.length))
        throw new Error("drafting raw: a batch came back without an answer per listing")
    }
    // The decisions' recorded shares must add up to what the model reported for their calls.
    for (const path of ["single", "batched"] as const)
      for (const [round, totals] of recorded[path].entries()) {
        const servedRun = runs[path][round]!
        if (
          totals.promptTokens !== servedRun.promptTokens ||
          totals.completionTokens !== servedRun.completionTokens
        )
          throw new Error(
            `drafting ${path}: decisions record ${totals.promptTokens}+${totals.completionTokens} tokens, the model served ${servedRun.promptTokens}+${servedRun.completionTokens}`,
          )
      }

    const fastest = (measured: ReadonlyArray<Measured>) => measured.reduce((a, b) => (b.ms < a.ms ? b : a))
    const figures = (measured: ReadonlyArray<Measured>, costUsd: number) => {
      const best = fastest(measured)
      return {
        wallMs: best.ms,
        msPerListing: best.ms / count,
        modelCalls: best.calls,
        promptTokens: best.promptTokens,
        completionTokens: best.completionTokens,
        // Millionths of a dollar: a small local model's price makes a listing cost about $0.00001.
        costMicroUsd: costUsd * 1_000_000,
        costUsdPerMillionListings: (costUsd * 1_000_000) / count,
      }
    }
    const single = figures(runs.single, recorded.single[0]!.costUsd)
    const batch = figures(runs.batched, recorded.batched[0]!.costUsd)
    const beneath = figures(runs.raw, rawCostUsd)
    // Ours is the batched path, raw its model calls alone: 1 means recording adds nothing.
    const ratio = beneath.wallMs / batch.wallMs
    const vsOneAtATime = {
      calls: batch.modelCalls / single.modelCalls,
      promptTokens: batch.promptTokens / single.promptTokens,
      completionTokens: batch.completionTokens / single.completionTokens,
      cost: batch.costMicroUsd / single.costMicroUsd,
      time: batch.wallMs / single.wallMs,
    }
    return {
      benchmark: "drafting",
      description: `drafting ${count} listings in batches of ${MAX_LISTINGS_PER_CALL} (decideEachOnce, a recorded decision each) beside one at a time (decideOnce) and the batch calls alone (runSkill); model ${CALL_LATENCY_MS} ms a call`,
      paths: { oneAtATime: single, batched: batch, raw: beneath },
      ratio,
      // What batching is for: far fewer calls, the instructions paid once a call (fewer prompt
      // tokens) and so a smaller bill; the answers are as long either way, so the bill shrinks only
      // by the prompt's share. Recording a decision per cause must not take longer than the calls.
      goal: "batched: <= 1/4 the calls, fewer prompt tokens and a smaller bill than one at a time; raw/batched time >= 0.5",
      goalMet:
        vsOneAtATime.calls <= 0.25 && vsOneAtATime.promptTokens < 1 && vsOneAtATime.cost < 1 && ratio >= 0.5,
      extra: {
        listings: count,
        perCall: MAX_LISTINGS_PER_CALL,
        rounds,
        model,
        modelLatencyMsPerCall: CALL_LATENCY_MS,
        batchedVsOneAtATime: vsOneAtATime,
        rawVsBatchedTime: ratio,
        recordingMsPerListing: (batch.wallMs - beneath.wallMs) / count,
        wallMsByRound: {
          oneAtATime: runs.single.map((r) => r.ms),
          batched: runs.batched.map((r) => r.ms),
          raw: runs.raw.map((r) => r.ms),
        },
        verified: `${rounds * 2 * count} decisions loaded back: one per cause, caused by it, its own facts' draft, tokens adding up to the model's`,
      },
    }
  } finally {
    await runtime.dispose()
    await ollama.close()
  }
}
