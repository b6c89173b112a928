import { readFile } from "node:fs/promises"
import { relative } from "node:path"
import { fileURLToPath } from "node:url"
import { Sentiment, TicketIntent } from "@mesh/contracts"
import {
  type EvalDataset,
  EvalDatasetError,
  type EvalRow,
  loadEvalDataset,
  mentions,
  ratio,
} from "@mesh/models"
import { Effect, Schema } from "effect"
import {
  type DraftReplyInput,
  DraftReplyInput as DraftReplyInputSchema,
  type DraftReplyOutput,
  type TriageInput,
  TriageInput as TriageInputSchema,
  type TriageOutput,
} from "../skills/tasks.ts"
import { type LabelledTicket, parseLabelledTickets, triageInputOf } from "./labelledTickets.ts"
import { goesToHuman, isIntentCorrect, triageMetrics, triageReport } from "./triageReport.ts"

// The labelled datasets of the agent's skills: tickets for triage, replies for drafting, and the frozen triage
// holdout. The machinery that runs and scores them (evaluateSkill, the baselines) is @mesh/models'.

/** The folder of the agent's labelled datasets and their baselines (services/customer-ops/evals). */
export const ticketEvalsDirectory = fileURLToPath(new URL("../../evals/", import.meta.url))

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

/** Loads a tickets dataset (tickets.json, or tickets-holdout.json: tickets never tuned on). */
export const loadTicketsDataset = (file = "tickets.json") =>
  loadEvalDataset<TriageInput, TriageOutput, TriageExpectation>(
    `${ticketEvalsDirectory}${file}`,
    "triageTicket",
    TriageInputSchema,
    TriageExpectation,
    scoreTriage,
  )

/** Loads the replies dataset. */
export const loadRepliesDataset = (file = "replies.json") =>
  loadEvalDataset<DraftReplyInput, DraftReplyOutput, ReplyExpectation>(
    `${ticketEvalsDirectory}${file}`,
    "draftReply",
    DraftReplyInputSchema,
    ReplyExpectation,
    scoreReplies,
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
