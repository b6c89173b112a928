import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { cosineSimilarity, HASH_EMBED_DIMENSIONS, hashEmbed, OFFLINE_EMBED_DIMENSIONS } from "./embedder.ts"
import { makeOfflineProvider, measureOfflineEmbedThroughput } from "./provider.ts"
import {
  embedTexts,
  forgetRecentVectors,
  SENTENCE_EMBED_MAX_CHARS,
  sentenceEncoderWork,
  sentencesOf,
} from "./sentenceEmbedder.ts"
import { stem, tokenize } from "./text.ts"

const norm = (v: ReadonlyArray<number>) => Math.sqrt(v.reduce((s, x) => s + x * x, 0))

describe("text", () => {
  it("splits negated contractions so negation stays visible", () => {
    expect(tokenize("I don't want it, it isn't here and I won't wait")).toEqual([
      "i",
      "do",
      "not",
      "want",
      "it",
      "it",
      "is",
      "not",
      "here",
      "and",
      "i",
      "will",
      "not",
      "wait",
    ])
  })
  it("stems inflections to one feature", () => {
    expect(new Set(["refunds", "refunded", "refunding"].map(stem))).toEqual(new Set(["refund"]))
    expect(stem("shipped")).toBe("ship")
  })
})

describe("hashing embedder", () => {
  it("is deterministic, 384-dimensional and L2-normalised", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => /[a-z0-9]/i.test(s)),
        (text) => {
          const a = hashEmbed(text)
          const b = hashEmbed(text)
          return (
            a.length === HASH_EMBED_DIMENSIONS &&
            a.every((x, i) => x === b[i]) &&
            Math.abs(norm(a) - 1) < 1e-9
          )
        },
      ),
      { numRuns: 200 },
    )
  })

  it("maps text without words to the zero vector", () => {
    expect(norm(hashEmbed("   ?!  "))).toBe(0)
  })

  it("puts related texts closer than unrelated ones", () => {
    const query = hashEmbed("where is my parcel, tracking not updating")
    const related = hashEmbed("the tracking for my parcel has not updated")
    const unrelated = hashEmbed("is the wool blanket machine washable")
    expect(cosineSimilarity(query, related)).toBeGreaterThan(cosineSimilarity(query, unrelated) + 0.2)
  })

  it("does not know that a parcel is a delivery", () => {
    const query = hashEmbed("my parcel never came")
    const answer = hashEmbed(
      "Lost deliveries: if your order has not arrived within five days, we send it again",
    )
    const unrelated = hashEmbed("my jumper never came in a bigger size")
    expect(cosineSimilarity(query, answer)).toBeLessThan(cosineSimilarity(query, unrelated))
  })
})

describe("sentence embedder", () => {
  it("gives 512-dimensional unit vectors, the zero vector for empty text", async () => {
    const [a, b, empty] = await embedTexts(["where is my parcel", "One. Two sentences here.", "   "])
    for (const v of [a!, b!]) {
      expect(v).toHaveLength(OFFLINE_EMBED_DIMENSIONS)
      expect(norm(v)).toBeCloseTo(1, 6)
    }
    expect(empty).toHaveLength(OFFLINE_EMBED_DIMENSIONS)
    expect(norm(empty!)).toBe(0)
  })

  it("matches meaning, not words: a parcel is a delivery", async () => {
    const [query, answer, unrelated] = await embedTexts([
      "my parcel never came",
      "Lost deliveries: if your order has not arrived within five days, we send it again",
      "my jumper never came in a bigger size",
    ])
    expect(cosineSimilarity(query!, answer!)).toBeGreaterThan(cosineSimilarity(query!, unrelated!))
  })

  it("gives the same vector whatever the batch, and shares one model between concurrent first calls", async () => {
    const texts = ["refund for a broken kettle", "How long do returns take? About five days."]
    const together = await embedTexts(texts)
    // The model again, each text in a run of its own: not the vectors kept from the first call.
    forgetRecentVectors()
    const alone = await Promise.all(texts.map((t) => embedTexts([t])))
    for (let i = 0; i < texts.length; i++)
      expect(cosineSimilarity(together[i]!, alone[i]![0]!)).toBeCloseTo(1, 5)
  })

  it("embeds concurrent callers' texts in shared runs, each answered with its own vectors", async () => {
    const questions = Array.from(
      { length: 12 },
      (_, i) => `Will the ${["slate", "ivory", "ochre"][i % 3]} planter number ${i} rust outside in winter?`,
    )
    const alone: Array<ReadonlyArray<number>> = []
    for (const q of questions) alone.push((await embedTexts([q], "query"))[0]!)
    forgetRecentVectors()
    const before = sentenceEncoderWork()
    const together = await Promise.all(questions.map((q) => embedTexts([q], "query")))
    const after = sentenceEncoderWork()
    expect(after.requests - before.requests).toBe(questions.length)
    // The first may run before the rest have come; the rest wait for it and share what follows.
    expect(after.runs - before.runs).toBeLessThan(questions.length / 2)
    for (let i = 0; i < questions.length; i++) {
      expect(together[i]).toHaveLength(1)
      expect(cosineSimilarity(together[i]![0]!, alone[i]!)).toBeCloseTo(1, 5)
      // Each got its own text's vector, not a neighbour's.
      for (let j = 0; j < questions.length; j++)
        if (j !== i) expect(cosineSimilarity(together[i]![0]!, alone[j]!)).toBeLessThan(0.99999)
    }
  })

  it("embeds a text it embedded lately once, waiting for a run in progress, and hands each caller its own copy", async () => {
    forgetRecentVectors()
    const question = "Can the ochre stoneware serving bowl go in the dishwasher?"
    const message = `Hello,\n${question}\nThank you very much.`
    const before = sentenceEncoderWork()
    // The question whole, twice at once; then as a sentence of a document, beside two new sentences.
    const [[first], [second]] = await Promise.all([
      embedTexts([question], "query"),
      embedTexts([question], "query"),
    ])
    const afterQueries = sentenceEncoderWork()
    expect(afterQueries.requests - before.requests).toBe(1)
    expect(afterQueries.textsEncoded - before.textsEncoded).toBe(1)
    expect(afterQueries.textsKept - before.textsKept).toBe(1)
    expect(second).toEqual(first)
    const [document] = await embedTexts([message])
    const afterDocument = sentenceEncoderWork()
    // The whole message and its first and last sentences are new; its question is kept.
    expect(afterDocument.textsEncoded - afterQueries.textsEncoded).toBe(3)
    expect(afterDocument.textsKept - afterQueries.textsKept).toBe(1)
    expect(norm(document!)).toBeCloseTo(1, 6)
    // A caller that changes its vector changes nobody else's.
    first![0] = 42
    const [again] = await embedTexts([question], "query")
    expect(again).toEqual(second)
    expect(again![0]).not.toBe(42)
    // Forgotten, the text goes to the model again, and comes back the same to float rounding.
    forgetRecentVectors()
    const [fresh] = await embedTexts([question], "query")
    expect(sentenceEncoderWork().textsEncoded - afterDocument.textsEncoded).toBe(1)
    expect(cosineSimilarity(fresh!, second!)).toBeCloseTo(1, 6)
  })

  it("cuts a text at the character cap", async () => {
    const base = "parcel late ".repeat(Math.ceil(SENTENCE_EMBED_MAX_CHARS / 12))
    const [capped, longer] = await embedTexts([base, `${base} Blankets are machine washable.`])
    expect(cosineSimilarity(capped!, longer!)).toBeCloseTo(1, 5)
  })

  it("splits sentences at their ends and at newlines", () => {
    expect(sentencesOf("Returns. Where is it?\nRefunds!  ")).toEqual(["Returns.", "Where is it?", "Refunds!"])
  })

  it("is the offline provider's embedder, under its own model name", async () => {
    const provider = makeOfflineProvider()
    const result = await Effect.runPromise(provider.embed({ model: provider.embedModel, input: ["kettle"] }))
    expect(result).toMatchObject({ model: "mesh-use-512", dimensions: 512, provider: "offline" })
    expect(result.embeddings[0]).toEqual((await embedTexts(["kettle"]))[0])
  })

  it("embeds dozens of short texts a second", async () => {
    const texts = Array.from({ length: 60 }, (_, i) => `ticket ${i}: my order ${i * 7} has not arrived yet`)
    const throughput = await Effect.runPromise(measureOfflineEmbedThroughput(texts))
    // About 90 a second on the 2-core machine (the hashing embedder: tens of thousands); room for a busy CI.
    expect(throughput.texts).toBe(60)
    expect(throughput.perSecond).toBeGreaterThan(10)
  })
})
