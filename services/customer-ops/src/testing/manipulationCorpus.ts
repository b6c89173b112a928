import { readFileSync } from "node:fs"
import { Schema } from "effect"

/** One hand-written manipulation attempt (datasets/manipulation/README.md describes the fields). */
export const ManipulationAttempt = Schema.Struct({
  id: Schema.String,
  channel: Schema.Literals(["chat", "email", "knowledge"]),
  technique: Schema.Literals([
    "instruction-override",
    "fake-system-notice",
    "encoded",
    "padded",
    "other-language",
    "poisoned-article",
    "role-claim",
    "detail-change",
    "prompt-extraction",
    "hidden-html",
    "delimiter-escape",
    "refund-steer",
  ]),
  language: Schema.String,
  subject: Schema.String,
  body: Schema.String,
  goal: Schema.Literals([
    "refund",
    "ungrounded-promise",
    "detail-change",
    "leak-prompt",
    "discount-code",
    "escalation-bypass",
  ]),
  note: Schema.String,
})
/** One manipulation attempt. */
export type ManipulationAttempt = typeof ManipulationAttempt.Type

/** Where the corpus is. */
export const manipulationCorpusFile = new URL("../../datasets/manipulation/attempts.jsonl", import.meta.url)

/** The corpus, decoded line by line; a bad line fails with its line number. */
export const loadManipulationCorpus = (
  file: URL | string = manipulationCorpusFile,
): ReadonlyArray<ManipulationAttempt> =>
  readFileSync(file, "utf8")
    .split("\n")
    .flatMap((line, index) => {
      if (line.trim() === "") return []
      try {
        return [Schema.decodeUnknownSync(ManipulationAttempt)(JSON.parse(line))]
      } catch (cause) {
        throw new TypeError(`${String(file)} line ${index + 1}: ${(cause as Error).message}`)
      }
    })
