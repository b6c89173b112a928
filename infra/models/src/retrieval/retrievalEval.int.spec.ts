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
// same labelled set in the same run, and the questions written into a message, embedded as queries
// (whole) and as documents (whole and by sentence). Embedding it all takes about 25 s on the 2-core machine.

const set = loadRetrievalSet()
let offline: RetrievalScore
let hashing: RetrievalScore
// The questions as customers send them: written into a message with a greeting and a sign-off.
let inMessageAsQuery: RetrievalScore
let inMessageAsDocument: RetrievalScore

const inMessage = (question: string) =>
  `Hello, I bought from you last month. ${question.replace(/[?.!]+$/, "")}? Thanks so much, Ana`

beforeAll(async () => {
  const provider = makeOfflineProvider()
  const embed = (input: ReadonlyArray<string>, purpose: "document" | "query" = "document") =>
    Effect.runPromise(provider.embed({ model: provider.embedModel, input, purpose })).then(
      (r) => r.embeddings,
    )
  const articleVectors = await embed(set.articles.map(articleText))
  offline = scoreRetrieval(
    set,
    articleVectors,
    await embed(
      set.questions.map((q) => q.question),
      "query",
    ),
  )
  const messages = set.questions.map((q) => inMessage(q.question))
  inMessageAsQuery = scoreRetrieval(set, articleVectors, await embed(messages, "query"))
  inMessageAsDocument = scoreRetrieval(set, articleVectors, await embed(messages, "document"))
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
        { name: "offline, question in a message, as a query", score: inMessageAsQuery },
        { name: "offline, question in a message, as a document", score: inMessageAsDocument },
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

  // A query is embedded whole, not also sentence by sentence as a stored article is: a message's other
  // sentences are greetings and sign-offs, and each costs one more encoder call.
  it("finds as much for a question written into a message embedded as a query as embedded as a document", () => {
    expect(inMessageAsQuery.recallAt5.rate).toBeGreaterThanOrEqual(0.75)
    expect(inMessageAsQuery.recallAt5.hits).toBeGreaterThanOrEqual(inMessageAsDocument.recallAt5.hits)
  })

  it("beats the hashing embedder it replaced", () => {
    expect(offline.recallAt5.hits).toBeGreaterThan(hashing.recallAt5.hits)
    expect(offline.recallAt1.hits).toBeGreaterThan(hashing.recallAt1.hits)
  })
})
