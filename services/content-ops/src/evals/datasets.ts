import { fileURLToPath } from "node:url"
import { type EvalRow, loadEvalDataset, mentions, ratio } from "@mesh/models"
import { Schema } from "effect"
import {
  type DraftListingInput,
  DraftListingInput as DraftListingInputSchema,
  type DraftListingOutput,
  MAX_LISTING_TITLE,
} from "../skills/tasks.ts"

// The labelled dataset of the agent's skill: products' facts with what a merchandiser requires of their listings.
// The machinery that runs and scores it (evaluateSkill, the baselines) is @mesh/models'.

/** The folder of the agent's labelled datasets and their baselines (services/content-ops/evals). */
export const contentOpsEvalsDirectory = fileURLToPath(new URL("../../evals/", import.meta.url))

/** What a merchandiser requires of a listing. */
export const ListingExpectation = Schema.Struct({
  titleMustInclude: Schema.Array(Schema.String),
  mustMention: Schema.Array(Schema.String),
  forbidden: Schema.Array(Schema.String),
})
/** What a merchandiser requires of a listing. */
export type ListingExpectation = typeof ListingExpectation.Type

/** Scores listings: title rules, facts mentioned, unsupported claims absent, and all at once. */
export const scoreListings = (rows: ReadonlyArray<EvalRow<ListingExpectation, DraftListingOutput>>) => {
  const textOf = (o: DraftListingOutput) => [o.title, o.description, ...o.bullets].join("\n")
  const titleOk = (r: EvalRow<ListingExpectation, DraftListingOutput>) =>
    r.output !== null &&
    r.output.title.length <= MAX_LISTING_TITLE &&
    r.expected.titleMustInclude.every((term) => mentions(r.output?.title ?? "", term))
  const factsOk = (r: EvalRow<ListingExpectation, DraftListingOutput>) =>
    r.output !== null && r.expected.mustMention.every((term) => mentions(textOf(r.output!), term))
  const claimsOk = (r: EvalRow<ListingExpectation, DraftListingOutput>) =>
    r.output !== null && r.expected.forbidden.every((term) => !mentions(textOf(r.output!), term))
  const required = rows.reduce((n, r) => n + r.expected.mustMention.length, 0)
  const mentioned = rows.reduce(
    (n, r) =>
      n +
      (r.output === null ? 0 : r.expected.mustMention.filter((t) => mentions(textOf(r.output!), t)).length),
    0,
  )
  return {
    accuracy: ratio(rows.filter((r) => titleOk(r) && factsOk(r) && claimsOk(r)).length, rows.length),
    titleRate: ratio(rows.filter(titleOk).length, rows.length),
    factCoverage: ratio(mentioned, required),
    claimFreeRate: ratio(rows.filter(claimsOk).length, rows.length),
  }
}

/** Loads the listings dataset. */
export const loadListingsDataset = (file = "listings.json") =>
  loadEvalDataset<DraftListingInput, DraftListingOutput, ListingExpectation>(
    `${contentOpsEvalsDirectory}${file}`,
    "draftListing",
    DraftListingInputSchema,
    ListingExpectation,
    scoreListings,
  )
