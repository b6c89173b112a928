import { EscalationReason, type Sentiment, TicketIntent } from "@mesh/contracts"
import { type Rate, rateOf, renderTable } from "@mesh/models"
import type { TriageOutput } from "../skills/tasks.ts"
import type { LabelledTicket } from "./labelledTickets.ts"

// The triage report of issue 11: accuracy and escalation rates, each with its 95% Wilson interval, split by
// language, true intent and escalation reason, with a confusion matrix and the first misses. The scoring rules:
// an abstained answer is wrong for intent and goes to a human (counts as escalated); no answer at all is wrong
// and goes to a human too. Sentiment is scored on whatever the model answered, abstained or not.

/** What a customer wants, as triage classifies it. */
type Intent = typeof TicketIntent.Type

/** Whether the model declined to label the intent. */
export const isAbstention = (output: TriageOutput): boolean =>
  output.abstention !== undefined && output.abstention !== null

/** Whether triage got the intent: an abstention or no answer is wrong. */
export const isIntentCorrect = (expected: Intent, output: TriageOutput | null): boolean =>
  output !== null && !isAbstention(output) && output.intent === expected

/** Whether the ticket goes to a human: escalated, abstained, or not answered at all. */
export const goesToHuman = (output: TriageOutput | null): boolean =>
  output === null || output.escalate || isAbstention(output)

/** The columns of the confusion matrix after the intents. */
export const ABSTAINED = "abstained"
/** The column of the rows nobody answered. */
export const NO_ANSWER = "no answer"

/** A row triage got wrong in some way: what was expected and what came back. */
export interface TriageMiss {
  readonly id: string
  readonly lang: string
  /** What was wrong: any of intent, sentiment, escalation (missed, or needless). */
  readonly wrong: ReadonlyArray<"intent" | "sentiment" | "escalation">
  readonly expected: {
    readonly intent: Intent
    readonly sentiment: typeof Sentiment.Type
    readonly mustEscalate: boolean
    readonly reasons: ReadonlyArray<EscalationReason>
  }
  /** What the skill answered (null: nobody answered). */
  readonly got: {
    readonly intent: Intent
    readonly sentiment: typeof Sentiment.Type
    readonly escalate: boolean
    readonly abstention: string | null
  } | null
}

/** The triage report: JSON-serialisable as it is. */
export interface TriageReport {
  readonly counts: {
    readonly rows: number
    /** Answered with an intent (neither abstained nor unanswered). */
    readonly answered: number
    readonly abstained: number
    /** Nobody answered (the skill handed the ticket to a human). */
    readonly unanswered: number
    readonly mustEscalate: number
    /** Went to a human: escalated, abstained or unanswered. */
    readonly toHuman: number
  }
  readonly intentAccuracy: Rate
  readonly sentimentAccuracy: Rate
  readonly escalationRecall: Rate
  readonly escalationPrecision: Rate
  readonly answeredRate: Rate
  readonly abstentionRate: Rate
  /** Intent accuracy by the row's `lang` ("unknown" when absent), languages sorted. */
  readonly intentAccuracyByLanguage: Readonly<Record<string, Rate>>
  /** Intent recall by true intent, every intent. */
  readonly intentRecallByIntent: Readonly<Record<Intent, Rate>>
  /** Escalation recall by each reason a row gives ("unspecified": must escalate, no reason given); only those present. */
  readonly escalationRecallByReason: Readonly<Record<string, Rate>>
  /** Rows: true intents; columns: predicted intents, then {@link ABSTAINED} and {@link NO_ANSWER}. */
  readonly confusion: {
    readonly intents: ReadonlyArray<Intent>
    readonly columns: ReadonlyArray<string>
    readonly counts: ReadonlyArray<ReadonlyArray<number>>
  }
  /** The abstentions' stated reasons and how often each came, most frequent first (at most 20). */
  readonly abstentionReasons: ReadonlyArray<{ readonly reason: string; readonly count: number }>
  /** Rows with any miss, in input order; at most `maxMisses` kept, `total` counts them all. */
  readonly misses: { readonly total: number; readonly rows: ReadonlyArray<TriageMiss> }
}

/** A running count of hits out of n. */
interface Count {
  hits: number
  n: number
}

const bump = <K>(map: Map<K, Count>, key: K, hit: boolean): void => {
  const count = map.get(key) ?? { hits: 0, n: 0 }
  count.n++
  if (hit) count.hits++
  map.set(key, count)
}

// Distinct abstention texts are kept up to this many; the rest are counted together.
const MAX_ABSTENTION_REASONS = 200
const OTHER_REASONS = "(other reasons)"

/** Folds answers into a report one at a time. */
export interface TriageTally {
  /** Counts one row and what the skill answered for it (null: nobody answered). */
  readonly add: (row: LabelledTicket, output: TriageOutput | null) => void
  /** The report of the rows added so far. */
  readonly report: () => TriageReport
}

/**
 * A tally that keeps only counts and the first `maxMisses` misses, so a file of any length is scored in
 * constant memory: the caller can drop each row and answer once it is added.
 */
export const triageTally = (options: { readonly maxMisses?: number } = {}): TriageTally => {
  const maxMisses = options.maxMisses ?? 40
  const intents = TicketIntent.literals
  const columns = [...intents, ABSTAINED, NO_ANSWER]
  const confusion = intents.map(() => columns.map(() => 0))
  const byLanguage = new Map<string, Count>()
  const byIntent = new Map<Intent, Count>(intents.map((i) => [i, { hits: 0, n: 0 }]))
  const byReason = new Map<string, Count>()
  const abstentionReasons = new Map<string, number>()
  const misses: Array<TriageMiss> = []
  let missTotal = 0
  let rows = 0
  let intentHits = 0
  let sentimentHits = 0
  let abstained = 0
  let unanswered = 0
  let mustEscalate = 0
  let caught = 0
  let toHuman = 0
  let rightlyToHuman = 0

  const add = (row: LabelledTicket, output: TriageOutput | null): void => {
    rows++
    const abstains = output !== null && isAbstention(output)
    const intentHit = isIntentCorrect(row.intent, output)
    const sentimentHit = output !== null && output.sentiment === row.sentiment
    const human = goesToHuman(output)
    if (intentHit) intentHits++
    if (sentimentHit) sentimentHits++
    if (output === null) unanswered++
    if (abstains) {
      abstained++
      const reason = output.abstention ?? ""
      const key =
        abstentionReasons.has(reason) || abstentionReasons.size < MAX_ABSTENTION_REASONS
          ? reason
          : OTHER_REASONS
      abstentionReasons.set(key, (abstentionReasons.get(key) ?? 0) + 1)
    }
    if (row.mustEscalate) {
      mustEscalate++
      if (human) caught++
      const reasons = row.reasons ?? []
      if (reasons.length === 0) bump(byReason, "unspecified", human)
      for (const reason of new Set(reasons)) bump(byReason, reason, human)
    }
    if (human) {
      toHuman++
      if (row.mustEscalate) rightlyToHuman++
    }
    bump(byLanguage, row.lang ?? "unknown", intentHit)
    bump(byIntent, row.intent, intentHit)
    const column = output === null ? NO_ANSWER : abstains ? ABSTAINED : output.intent
    confusion[intents.indexOf(row.intent)]![columns.indexOf(column)]!++

    const escalationHit = human === row.mustEscalate
    if (intentHit && sentimentHit && escalationHit) return
    missTotal++
    if (misses.length >= maxMisses) return
    misses.push({
      id: row.id,
      lang: row.lang ?? "unknown",
      wrong: [
        ...(intentHit ? [] : ["intent" as const]),
        ...(sentimentHit ? [] : ["sentiment" as const]),
        ...(escalationHit ? [] : ["escalation" as const]),
      ],
      expected: {
        intent: row.intent,
        sentiment: row.sentiment,
        mustEscalate: row.mustEscalate,
        reasons: row.reasons ?? [],
      },
      got:
        output === null
          ? null
          : {
              intent: output.intent,
              sentiment: output.sentiment,
              escalate: output.escalate,
              abstention: output.abstention ?? null,
            },
    })
  }

  const rates = <K extends string>(map: Map<K, Count>, keys: ReadonlyArray<K>): Record<K, Rate> =>
    Object.fromEntries(
      keys.map((key) => {
        const count = map.get(key) ?? { hits: 0, n: 0 }
        return [key, rateOf(count.hits, count.n)]
      }),
    ) as Record<K, Rate>

  const report = (): TriageReport => {
    const answered = rows - abstained - unanswered
    const reasonOrder: ReadonlyArray<string> = [...EscalationReason.literals, "unspecified"]
    return {
      counts: { rows, answered, abstained, unanswered, mustEscalate, toHuman },
      intentAccuracy: rateOf(intentHits, rows),
      sentimentAccuracy: rateOf(sentimentHits, rows),
      escalationRecall: rateOf(caught, mustEscalate),
      escalationPrecision: rateOf(rightlyToHuman, toHuman),
      answeredRate: rateOf(answered, rows),
      abstentionRate: rateOf(abstained, rows),
      intentAccuracyByLanguage: rates(byLanguage, [...byLanguage.keys()].sort()),
      intentRecallByIntent: rates(byIntent, intents),
      escalationRecallByReason: rates(
        byReason,
        reasonOrder.filter((reason) => byReason.has(reason)),
      ),
      confusion: { intents, columns, counts: confusion.map((counts) => [...counts]) },
      abstentionReasons: [...abstentionReasons]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
        .slice(0, 20),
      misses: { total: missTotal, rows: [...misses] },
    }
  }

  return { add, report }
}

/** One labelled row and what the skill answered for it (null: nobody answered). */
export interface TriageAnswer {
  readonly row: LabelledTicket
  readonly output: TriageOutput | null
}

/** The report of a set of answers. */
export const triageReport = (
  answers: Iterable<TriageAnswer>,
  options: { readonly maxMisses?: number } = {},
): TriageReport => {
  const tally = triageTally(options)
  for (const answer of answers) tally.add(answer.row, answer.output)
  return tally.report()
}

/**
 * The report's headline rates as eval metrics (0..1, higher is better, 1 when there is nothing to count, as the
 * other datasets score), fit for evals/baselines.json.
 */
export const triageMetrics = (report: TriageReport): Readonly<Record<string, number>> => {
  const value = (rate: Rate) => rate.rate ?? 1
  return {
    intentAccuracy: value(report.intentAccuracy),
    sentimentAccuracy: value(report.sentimentAccuracy),
    escalationRecall: value(report.escalationRecall),
    escalationPrecision: value(report.escalationPrecision),
    answeredRate: value(report.answeredRate),
  }
}

const fixed3 = (value: number): string => value.toFixed(3)

const rateCells = (rate: Rate): Array<string> => [
  rate.rate === null ? "-" : fixed3(rate.rate),
  `[${fixed3(rate.lo)}, ${fixed3(rate.hi)}]`,
  `${rate.hits}/${rate.n}`,
]

const rateTable = (title: string, first: string, rates: ReadonlyArray<readonly [string, Rate]>): string =>
  `${title}\n${renderTable(
    [first, "rate", "95% CI", "hits/n"],
    rates.map(([name, rate]) => [name, ...rateCells(rate)]),
  )}`

const clip = (text: string, width: number): string =>
  text.length <= width ? text : `${text.slice(0, width - 1)}…`

const expectedText = (miss: TriageMiss): string => {
  const e = miss.expected
  const escalation = e.mustEscalate
    ? `escalate${e.reasons.length === 0 ? "" : `(${e.reasons.join(",")})`}`
    : "no-escalate"
  return `${e.intent} ${e.sentiment} ${escalation}`
}

const gotText = (miss: TriageMiss): string => {
  const g = miss.got
  if (g === null) return "no answer (to a human)"
  const escalation = g.escalate ? "escalate" : "no-escalate"
  return g.abstention === null
    ? `${g.intent} ${g.sentiment} ${escalation}`
    : `abstained: ${clip(g.abstention, 40)} (guess ${g.intent}) ${g.sentiment} ${escalation}`
}

/** The report as plain-text tables, fixed-width, for a terminal. */
export const formatTriageReport = (report: TriageReport): string => {
  const c = report.counts
  const sections: Array<string> = [
    `${c.rows} rows: ${c.answered} answered, ${c.abstained} abstained, ${c.unanswered} unanswered; ` +
      `${c.mustEscalate} must escalate, ${c.toHuman} went to a human`,
    rateTable("overall", "metric", [
      ["intent accuracy", report.intentAccuracy],
      ["sentiment accuracy", report.sentimentAccuracy],
      ["escalation recall", report.escalationRecall],
      ["escalation precision", report.escalationPrecision],
      ["answered", report.answeredRate],
      ["abstained", report.abstentionRate],
    ]),
    rateTable("intent accuracy by language", "lang", Object.entries(report.intentAccuracyByLanguage)),
    rateTable("intent recall by true intent", "intent", Object.entries(report.intentRecallByIntent)),
  ]
  const byReason = Object.entries(report.escalationRecallByReason)
  if (byReason.length > 0) sections.push(rateTable("escalation recall by reason", "reason", byReason))
  const { intents, columns, counts } = report.confusion
  sections.push(
    `intent confusion (rows: true intent, columns: answered)\n${renderTable(
      ["true \\ answered", ...columns],
      intents.map((intent, i) => [intent, ...counts[i]!.map(String)]),
    )}`,
  )
  if (report.abstentionReasons.length > 0)
    sections.push(
      `abstentions: ${c.abstained}\n${renderTable(
        ["reason", "count"],
        report.abstentionReasons.map((a) => [clip(a.reason, 60), String(a.count)]),
      )}`,
    )
  const { total, rows } = report.misses
  if (total === 0) sections.push("misses: none")
  else
    sections.push(
      `misses: ${total}${rows.length < total ? ` (the first ${rows.length} shown)` : ""}\n${renderTable(
        ["id", "lang", "wrong", "expected", "got"],
        rows.map((miss) => [
          clip(miss.id, 32),
          miss.lang,
          miss.wrong.join(","),
          expectedText(miss),
          gotText(miss),
        ]),
        ["left", "left", "left", "left", "left"],
      )}`,
    )
  return sections.join("\n\n")
}
