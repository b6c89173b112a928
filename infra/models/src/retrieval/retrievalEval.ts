import { readFileSync } from "node:fs"
import { Result, Schema } from "effect"
import { type Rate, rateOf } from "../evals/rates.ts"

// Retrieval relevance of issue 11: 150 customer questions, each labelled with the one knowledge-base
// article (of 45) that answers it, written in customers' words rather than the articles' ('parcel',
// 'jumper', 'cash back'). An embedder ranks every article for every question by cosine similarity;
// recall@k is the share of questions whose article is among the first k.

const Text = Schema.String.check(Schema.isMinLength(1, { message: "must not be empty" }))

/** A knowledge-base article of the retrieval set. */
export const RetrievalArticle = Schema.Struct({ id: Text, title: Text, text: Text })
/** A knowledge-base article of the retrieval set. */
export type RetrievalArticle = typeof RetrievalArticle.Type

/** A question of the retrieval set and the id of the article that answers it. */
export const RetrievalQuestion = Schema.Struct({ id: Text, question: Text, articleId: Text })
/** A question of the retrieval set and the id of the article that answers it. */
export type RetrievalQuestion = typeof RetrievalQuestion.Type

/** The labelled retrieval set. */
export interface RetrievalSet {
  readonly articles: ReadonlyArray<RetrievalArticle>
  readonly questions: ReadonlyArray<RetrievalQuestion>
}

const corpusDir = new URL("../../corpus/retrieval/", import.meta.url)

const readJsonLines = <S extends Schema.ConstraintDecoder<unknown>>(
  file: string,
  schema: S,
): Array<S["Type"]> => {
  const decode = Schema.decodeUnknownResult(Schema.fromJsonString(schema))
  return readFileSync(new URL(file, corpusDir), "utf8")
    .split(/\r?\n/)
    .flatMap((line, i) => {
      if (line.trim() === "") return []
      const decoded = decode(line)
      if (Result.isFailure(decoded)) throw new Error(`${file} line ${i + 1}: ${decoded.failure.message}`)
      return [decoded.success]
    })
}

/**
 * Reads the labelled set from infra/models/corpus/retrieval; throws on a malformed line, a repeated
 * id, or a question whose article is not in the set.
 */
export const loadRetrievalSet = (): RetrievalSet => {
  const articles = readJsonLines("articles.jsonl", RetrievalArticle)
  const questions = readJsonLines("questions.jsonl", RetrievalQuestion)
  const articleIds = new Set(articles.map((a) => a.id))
  if (articleIds.size !== articles.length) throw new Error("articles.jsonl repeats an article id")
  if (new Set(questions.map((q) => q.id)).size !== questions.length)
    throw new Error("questions.jsonl repeats a question id")
  const orphan = questions.find((q) => !articleIds.has(q.articleId))
  if (orphan !== undefined) throw new Error(`question ${orphan.id} names unknown article ${orphan.articleId}`)
  return { articles, questions }
}

/** The text of an article as it is embedded: its title as the first sentence, then its body. */
export const articleText = (article: RetrievalArticle): string => `${article.title}. ${article.text}`

const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += a[i]! * (b[i] ?? 0)
  return sum
}

/** Article ids ranked for one question, best first, by the dot product of unit vectors (ties by id). */
export const rankArticles = (
  question: ReadonlyArray<number>,
  articles: ReadonlyArray<{ readonly id: string; readonly vector: ReadonlyArray<number> }>,
): Array<string> =>
  articles
    .map((a) => ({ id: a.id, score: dot(question, a.vector) }))
    .sort((x, y) => y.score - x.score || x.id.localeCompare(y.id))
    .map((a) => a.id)

/** A question its article was not in the top 5 for, with what came first instead. */
export interface RetrievalMiss {
  readonly questionId: string
  readonly question: string
  readonly expected: string
  /** 1-based rank of the expected article. */
  readonly rank: number
  readonly top: ReadonlyArray<string>
}

/** Recall@1 and recall@5 with their 95% Wilson intervals, the mean reciprocal rank, and the misses. */
export interface RetrievalScore {
  readonly recallAt1: Rate
  readonly recallAt5: Rate
  readonly meanReciprocalRank: number
  readonly misses: ReadonlyArray<RetrievalMiss>
}

/**
 * Scores an embedder on the set from its unit vectors: `articleVectors[i]` of `set.articles[i]`,
 * `questionVectors[j]` of `set.questions[j]`.
 */
export const scoreRetrieval = (
  set: RetrievalSet,
  articleVectors: ReadonlyArray<ReadonlyArray<number>>,
  questionVectors: ReadonlyArray<ReadonlyArray<number>>,
): RetrievalScore => {
  const articles = set.articles.map((a, i) => ({ id: a.id, vector: articleVectors[i]! }))
  let at1 = 0
  let at5 = 0
  let reciprocal = 0
  const misses: Array<RetrievalMiss> = []
  set.questions.forEach((q, j) => {
    const ranking = rankArticles(questionVectors[j]!, articles)
    const rank = ranking.indexOf(q.articleId) + 1
    if (rank === 1) at1++
    if (rank >= 1 && rank <= 5) at5++
    else
      misses.push({
        questionId: q.id,
        question: q.question,
        expected: q.articleId,
        rank,
        top: ranking.slice(0, 3),
      })
    reciprocal += rank === 0 ? 0 : 1 / rank
  })
  const n = set.questions.length
  return {
    recallAt1: rateOf(at1, n),
    recallAt5: rateOf(at5, n),
    meanReciprocalRank: n === 0 ? 0 : Math.round((reciprocal / n) * 10_000) / 10_000,
    misses,
  }
}

const percent = (r: Rate): string => `${((r.rate ?? 0) * 100).toFixed(1)}%`
const interval = (r: Rate): string => `[${(r.lo * 100).toFixed(1)}, ${(r.hi * 100).toFixed(1)}]`

/** One line per embedder: recall@1 and recall@5 with their 95% Wilson intervals, and MRR. */
export const formatRetrievalScores = (
  scores: ReadonlyArray<{ readonly name: string; readonly score: RetrievalScore }>,
) => {
  const width = Math.max(8, ...scores.map((s) => s.name.length))
  return [
    `${"embedder".padEnd(width)}  recall@1 [95% CI]       recall@5 [95% CI]       MRR`,
    ...scores.map(
      ({ name, score }) =>
        `${name.padEnd(width)}  ${percent(score.recallAt1).padStart(6)} ${interval(score.recallAt1).padEnd(15)}  ${percent(score.recallAt5).padStart(6)} ${interval(score.recallAt5).padEnd(15)}  ${score.meanReciprocalRank.toFixed(3)}`,
    ),
  ].join("\n")
}
