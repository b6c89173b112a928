import { readFile } from "node:fs/promises"
import { basename } from "node:path"
import { Effect, Schema } from "effect"

// The labelled datasets the eval runner scores: their cases, their rows and how a file of them is read. Each agent
// keeps its own datasets (and their baselines) in its package's evals/ folder.

/** One labelled case. */
export interface EvalCase<I, X> {
  readonly id: string
  readonly input: I
  readonly expected: X
}

/** A case's expectation next to what the skill answered (null: nobody answered, a human must). */
export interface EvalRow<X, O> {
  readonly id: string
  readonly expected: X
  readonly output: O | null
}

/** A labelled dataset for a skill, with the metrics it is scored by (every metric: higher is better, 0..1). */
export interface EvalDataset<I, O, X> {
  readonly name: string
  /** The name of the skill it scores. */
  readonly skill: string
  readonly cases: ReadonlyArray<EvalCase<I, X>>
  readonly score: (rows: ReadonlyArray<EvalRow<X, O>>) => Readonly<Record<string, number>>
}

/** A dataset file could not be read or does not match its schema. */
export class EvalDatasetError extends Schema.TaggedError<EvalDatasetError>()("EvalDatasetError", {
  file: Schema.String,
  message: Schema.String,
}) {}

/** `hits` out of `total`, rounded to 4 places; 1 when there is nothing to count. */
export const ratio = (hits: number, total: number): number =>
  total === 0 ? 1 : Math.round((hits / total) * 10_000) / 10_000

/** Whether a text mentions a term, whatever the case. */
export const mentions = (text: string, term: string): boolean =>
  text.toLowerCase().includes(term.toLowerCase())

const fileOf = <A>(cases: Schema.Codec<A, unknown>) => Schema.Struct({ skill: Schema.String, cases })

const readJson = <A>(path: string, schema: Schema.Codec<A, unknown>) => {
  const file = basename(path)
  return Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => new EvalDatasetError({ file, message: `cannot read: ${String(cause)}` }),
  }).pipe(
    Effect.flatMap((text) => Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(text)),
    Effect.mapError((error) =>
      error instanceof EvalDatasetError ? error : new EvalDatasetError({ file, message: error.message }),
    ),
  )
}

const caseOf = <I, X>(input: Schema.Codec<I, unknown>, expected: Schema.Codec<X, unknown>) =>
  Schema.Struct({ id: Schema.String, input, expected })

/**
 * Loads a labelled dataset file (`{skill, cases: [{id, input, expected}]}`) for a skill, decoding each case by the
 * skill's input schema and the expectation's; the dataset is named after the file.
 */
export const loadEvalDataset = <I, O, X>(
  path: string,
  skill: string,
  input: Schema.Codec<I, unknown>,
  expected: Schema.Codec<X, unknown>,
  score: EvalDataset<I, O, X>["score"],
) =>
  readJson(path, fileOf(Schema.Array(caseOf(input, expected)))).pipe(
    Effect.map(
      (doc): EvalDataset<I, O, X> => ({
        name: basename(path).replace(/\.json$/, ""),
        skill,
        cases: doc.cases,
        score,
      }),
    ),
  )
