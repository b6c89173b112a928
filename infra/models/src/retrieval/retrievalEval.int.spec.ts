import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { HASH_EMBED_MODEL, hashEmbed, OFFLINE_EMBED_MODEL } from "../offline/embedder.ts"
import { makeOfflineProvider } from "../offline/provider.ts"
import {
  articleText,
  formatRetrievalScores,
  loadRetrievalSet,
  type RetrievalScore,
  scoreRetrieval,
} from "./retrievalEval.ts"

// The retrieval report: the offline provider's embedder and the hashing embedder it replaced, on the
// same labelled set in the same run. Embedding the set takes about 13 s on the 2-core machine.

const set = loadRetrievalSet()
let offline: RetrievalScore
let hashing: RetrievalScore

beforeAll(async () => {
  const provider = makeOfflineProvider()
  const embed = (input: ReadonlyArray<string>) =>
    Effect.runPromise(provider.embed({ model: provider.embedModel, input })).then((r) => r.embeddings)
  offline = scoreRetrieval(
    set,
    await embed(set.articles.map(articleText)),
    await embed(set.questions.map((q) => q.question)),
  )
  hashing = scoreRetrieval(
    set,
    set.articles.map((a) => hashEmbed(articleText(a))),
    set.questions.map((q) => hashEmbed(q.question)),
  )
  console.log(
    `retrieval: ${set.questions.length} questions over ${set.articles.length} articles\n${formatRetrievalScores(
      [
        { name: `offline (${OFFLINE_EMBED_MODEL})`, score: offline },
        { name: `hashing (${HASH_EMBED_MODEL})`, score: hashing },
      ],
    )}\nmisses of the offline embedder (expected article, its rank, what came first):\n${offline.misses
      .map((m) => `  ${m.questionId} "${m.question}": ${m.expected} at ${m.rank}, top ${m.top.join(", ")}`)
      .join("\n")}`,
  )
}, 120_000)

describe("retrieval relevance on the labelled set", () => {
  it("has at least 100 questions, each mapped to an article of the set", () => {
    expect(set.questions.length).toBeGreaterThanOrEqual(100)
  })

  it("finds the answering article in the offline embedder's top 5 for at least 90% of questions", () => {
    expect(offline.recallAt5.rate).toBeGreaterThanOrEqual(0.9)
  })

  it("beats the hashing embedder it replaced", () => {
    expect(offline.recallAt5.hits).toBeGreaterThan(hashing.recallAt5.hits)
    expect(offline.recallAt1.hits).toBeGreaterThan(hashing.recallAt1.hits)
  })
})
