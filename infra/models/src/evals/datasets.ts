import { readFile } from "node:fs/promises"
import { relative } from "node:path"
import { fileURLToPath } from "node:url"
import { Sentiment, TicketIntent } from "@mesh/contracts"
import { Effect, Schema } from "effect"
import type { SkillName } from "../skills/catalog.ts"
import {
  type ChooseSupplierInput,
  ChooseSupplierInput as ChooseSupplierInputSchema,
  type ChooseSupplierOutput,
  type DraftListingInput,
  DraftListingInput as DraftListingInputSchema,
  type DraftListingOutput,
  type DraftReplyInput,
  DraftReplyInput as DraftReplyInputSchema,
  type DraftReplyOutput,
  MAX_LISTING_TITLE,
  type TriageInput,
  TriageInput as TriageInputSchema,
  type TriageOutput,
} from "../tasks.ts"
import { type LabelledTicket, parseLabelledTickets, triageInputOf } from "./labelledTickets.ts"
import { goesToHuman, isIntentCorrect, triageMetrics, triageReport } from "./triageReport.ts"

/** The folder of the labelled datasets (infra/models/evals). */
export const evalsDirectory = fileURLToPath(new URL("../../evals/", import.meta.url))

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
  readonly skill: SkillName
  readonly cases: ReadonlyArray<EvalCase<I, X>>
  readonly score: (rows: ReadonlyArray<EvalRow<X, O>>) => Readonly<Record<string, number>>
}

/** A dataset file could not be read or does not match its schema. */
export class EvalDatasetError extends Schema.TaggedError<EvalDatasetError>()("EvalDatasetError", {
  file: Schema.String,
  message: Schema.String,
}) {}

const ratio = (hits: number, total: number): number =>
  total === 0 ? 1 : Math.round((hits / total) * 10_000) / 10_000

const fileOf = <A>(cases: Schema.Codec<A, unknown>) => Schema.Struct({ skill: Schema.String, cases })

const readJson = <A>(file: string, schema: Schema.Codec<A, unknown>) =>
  Effect.tryPromise({
    try: () => readFile(`${evalsDirectory}${file}`, "utf8"),
    catch: (cause) => new EvalDatasetError({ file, message: `cannot read: ${String(cause)}` }),
  }).pipe(
    Effect.flatMap((text) => Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(text)),
    Effect.mapError((error) =>
      error instanceof EvalDatasetError ? error : new EvalDatasetError({ file, message: error.message }),
    ),
  )

/** What triage should answer for a ticket. */
export const TriageExpectation = Schema.Struct({
  intent: TicketIntent,
  sentiment: Sentiment,
  mustEscalate: Schema.Boolean,
  why: Schema.optionalKey(Schema.String),
})
/** What triage should answer for a ticket. */
export type TriageExpectation = typeof TriageExpectation.Type

/**
 * Scores triage: intent and sentiment accuracy, escalation precision and recall. As in the triage report, an
 * abstained answer is a wrong intent, and a ticket nobody could triage or that was abstained on goes to a human,
 * which counts as escalating it.
 */
export const scoreTriage = (rows: ReadonlyArray<EvalRow<TriageExpectation, TriageOutput>>) => {
  const escalated = rows.filter((r) => goesToHuman(r.output))
  const mustEscalate = rows.filter((r) => r.expected.mustEscalate)
  return {
    intentAccuracy: ratio(
      rows.filter((r) => isIntentCorrect(r.expected.intent, r.output)).length,
      rows.length,
    ),
    sentimentAccuracy: ratio(
      rows.filter((r) => r.output?.sentiment === r.expected.sentiment).length,
      rows.length,
    ),
    escalationPrecision: ratio(escalated.filter((r) => r.expected.mustEscalate).length, escalated.length),
    escalationRecall: ratio(mustEscalate.filter((r) => goesToHuman(r.output)).length, mustEscalate.length),
  }
}

/** What a good reply cites, says, and leaves out. */
export const ReplyExpectation = Schema.Struct({
  mustCite: Schema.Array(Schema.String),
  mustMention: Schema.Array(Schema.String),
  mustNotMention: Schema.Array(Schema.String),
})
/** What a good reply cites, says, and leaves out. */
export type ReplyExpectation = typeof ReplyExpectation.Type

const mentions = (text: string, term: string): boolean => text.toLowerCase().includes(term.toLowerCase())

/** Scores replies: citation recall, required mentions, absence of what must be left out, and all three at once. */
export const scoreReplies = (rows: ReadonlyArray<EvalRow<ReplyExpectation, DraftReplyOutput>>) => {
  const cites = (r: EvalRow<ReplyExpectation, DraftReplyOutput>) =>
    r.output !== null && r.expected.mustCite.every((id) => r.output?.citedFactIds.includes(id))
  const says = (r: EvalRow<ReplyExpectation, DraftReplyOutput>) =>
    r.output !== null && r.expected.mustMention.every((term) => mentions(r.output?.body ?? "", term))
  const clean = (r: EvalRow<ReplyExpectation, DraftReplyOutput>) =>
    r.output !== null && r.expected.mustNotMention.every((term) => !mentions(r.output?.body ?? "", term))
  return {
    accuracy: ratio(rows.filter((r) => cites(r) && says(r) && clean(r)).length, rows.length),
    citationRecall: ratio(rows.filter(cites).length, rows.length),
    mentionRate: ratio(rows.filter(says).length, rows.length),
    leakFreeRate: ratio(rows.filter(clean).length, rows.length),
  }
}

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

/** The supplier a buyer chose (null: nobody is eligible). */
export const SupplierExpectation = Schema.Struct({
  supplierId: Schema.NullOr(Schema.String),
  why: Schema.optionalKey(Schema.String),
})
/** The supplier a buyer chose. */
export type SupplierExpectation = typeof SupplierExpectation.Type

/** Scores supplier choices: exact agreement with the buyer, and handing over to a human exactly when nobody fits. */
export const scoreSupplierChoices = (
  rows: ReadonlyArray<EvalRow<SupplierExpectation, ChooseSupplierOutput>>,
) => {
  const chosen = (r: EvalRow<SupplierExpectation, ChooseSupplierOutput>) => r.output?.supplierId ?? null
  const handOvers = rows.filter((r) => r.expected.supplierId === null)
  return {
    accuracy: ratio(
      rows.filter((r) => r.output !== null && chosen(r) === r.expected.supplierId).length,
      rows.length,
    ),
    handOverRecall: ratio(handOvers.filter((r) => chosen(r) === null).length, handOvers.length),
  }
}

const caseOf = <I, X>(input: Schema.Codec<I, unknown>, expected: Schema.Codec<X, unknown>) =>
  Schema.Struct({ id: Schema.String, input, expected })

const load = <I, O, X>(
  file: string,
  skill: SkillName,
  input: Schema.Codec<I, unknown>,
  expected: Schema.Codec<X, unknown>,
  score: EvalDataset<I, O, X>["score"],
) =>
  readJson(file, fileOf(Schema.Array(caseOf(input, expected)))).pipe(
    Effect.map(
      (doc): EvalDataset<I, O, X> => ({ name: file.replace(/\.json$/, ""), skill, cases: doc.cases, score }),
    ),
  )

/** Loads a tickets dataset (tickets.json, or tickets-holdout.json: tickets never tuned on). */
export const loadTicketsDataset = (file = "tickets.json") =>
  load<TriageInput, TriageOutput, TriageExpectation>(
    file,
    "triageTicket",
    TriageInputSchema,
    TriageExpectation,
    scoreTriage,
  )

/** Loads the replies dataset. */
export const loadRepliesDataset = (file = "replies.json") =>
  load<DraftReplyInput, DraftReplyOutput, ReplyExpectation>(
    file,
    "draftReply",
    DraftReplyInputSchema,
    ReplyExpectation,
    scoreReplies,
  )

/** Loads the listings dataset. */
export const loadListingsDataset = (file = "listings.json") =>
  load<DraftListingInput, DraftListingOutput, ListingExpectation>(
    file,
    "draftListing",
    DraftListingInputSchema,
    ListingExpectation,
    scoreListings,
  )

/** Loads the supplier choices dataset. */
export const loadSuppliersDataset = (file = "suppliers.json") =>
  load<ChooseSupplierInput, ChooseSupplierOutput, SupplierExpectation>(
    file,
    "chooseSupplier",
    ChooseSupplierInputSchema,
    SupplierExpectation,
    scoreSupplierChoices,
  )

/** The frozen triage holdout: labelled messages never trained or tuned on (corpus/triage/holdout/holdout.jsonl). */
export const triageHoldoutFile = fileURLToPath(
  new URL("../../corpus/triage/holdout/holdout.jsonl", import.meta.url),
)

/** Scores triage on labelled messages by the triage report's rules, as the metrics of {@link triageMetrics}. */
export const scoreLabelledTriage = (rows: ReadonlyArray<EvalRow<LabelledTicket, TriageOutput>>) =>
  triageMetrics(triageReport(rows.map((r) => ({ row: r.expected, output: r.output }))))

const isMissing = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && (cause as { code?: unknown }).code === "ENOENT"

/**
 * Loads the triage holdout. While it does not exist yet (or is empty) there is nothing to score: null, unless it
 * is `required` (asked for by name). A line that does not parse fails the load: a gated set must be whole.
 */
export const loadTriageHoldoutDataset = (required: boolean, file = triageHoldoutFile) => {
  const name = relative(fileURLToPath(new URL("../../", import.meta.url)), file)
  return Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (cause) => cause,
  }).pipe(
    Effect.catch((cause) =>
      !required && isMissing(cause)
        ? Effect.succeed(null)
        : Effect.fail(
            new EvalDatasetError({
              file: name,
              message: isMissing(cause)
                ? `${name} does not exist yet`
                : `cannot read ${name}: ${cause instanceof Error ? cause.message : String(cause)}`,
            }),
          ),
    ),
    Effect.flatMap((text) => {
      if (text === null) return Effect.succeed(null)
      const { rows, rejected } = parseLabelledTickets(text)
      if (rejected.length > 0)
        return Effect.fail(
          new EvalDatasetError({
            file: name,
            message: `${name}: ${rejected
              .slice(0, 3)
              .map((r) => `line ${r.line} ${r.message}`)
              .join("; ")}`,
          }),
        )
      if (rows.length === 0)
        return required
          ? Effect.fail(new EvalDatasetError({ file: name, message: `${name} has no labelled row` }))
          : Effect.succeed(null)
      const dataset: EvalDataset<TriageInput, TriageOutput, LabelledTicket> = {
        name: "holdout",
        skill: "triageTicket",
        cases: rows.map((row) => ({ id: row.id, input: triageInputOf(row), expected: row })),
        score: scoreLabelledTriage,
      }
      return Effect.succeed(dataset)
    }),
  )
}
