import type { EscalationReason } from "@mesh/contracts"
import { rateOf } from "@mesh/models"
import { describe, expect, it } from "vitest"
import type { TriageOutput } from "../skills/tasks.ts"
import { scoreTriage } from "./datasets.ts"
import type { LabelledTicket } from "./labelledTickets.ts"
import { formatTriageReport, type TriageAnswer, triageMetrics, triageReport } from "./triageReport.ts"

const row = (
  id: string,
  intent: LabelledTicket["intent"],
  more: Partial<LabelledTicket> = {},
): LabelledTicket => ({
  id,
  channel: "email",
  text: `message ${id}`,
  intent,
  sentiment: "neutral",
  mustEscalate: false,
  ...more,
})

const answer = (intent: TriageOutput["intent"], more: Partial<TriageOutput> = {}): TriageOutput => ({
  intent,
  sentiment: "neutral",
  priority: "normal",
  escalate: false,
  escalationReason: null,
  confidence: 0.9,
  ...more,
})

const escalated = (intent: TriageOutput["intent"], reason: EscalationReason): TriageOutput =>
  answer(intent, { escalate: true, escalationReason: reason, escalationReasons: [reason] })

describe("the triage report", () => {
  // Given four tickets: one answered right, one abstained on, one nobody answered, one escalation missed.
  const answers: ReadonlyArray<TriageAnswer> = [
    { row: row("a", "refund", { lang: "en" }), output: answer("refund") },
    {
      row: row("b", "refund", { lang: "fr" }),
      output: answer("refund", { abstention: "two intents, neither clearly the ask" }),
    },
    {
      row: row("c", "complaint", {
        sentiment: "negative",
        mustEscalate: true,
        reasons: ["safety", "high_value"],
      }),
      output: null,
    },
    {
      row: row("d", "other", { lang: "en", mustEscalate: true, reasons: ["legal"] }),
      output: answer("other"),
    },
  ]
  const report = triageReport(answers)

  it("counts an abstention and a missing answer as wrong intents that go to a human", () => {
    expect(report.counts).toEqual({
      rows: 4,
      answered: 2,
      abstained: 1,
      unanswered: 1,
      mustEscalate: 2,
      toHuman: 2,
    })
    expect(report.intentAccuracy).toMatchObject({ hits: 2, n: 4, rate: 0.5 })
    // The abstained answer still gave a sentiment; nobody gave one for c.
    expect(report.sentimentAccuracy).toMatchObject({ hits: 3, n: 4 })
    // c went to a human (nobody answered) and counts as caught; d was missed.
    expect(report.escalationRecall).toMatchObject({ hits: 1, n: 2 })
    // b (abstained) and c (unanswered) went to a human; only c had to.
    expect(report.escalationPrecision).toMatchObject({ hits: 1, n: 2 })
    expect(report.answeredRate).toMatchObject({ hits: 2, n: 4 })
    expect(report.abstentionRate).toMatchObject({ hits: 1, n: 4 })
    expect(report.abstentionReasons).toEqual([{ reason: "two intents, neither clearly the ask", count: 1 }])
  })

  it("splits intent accuracy by language, with unknown for rows that give none", () => {
    expect(report.intentAccuracyByLanguage).toEqual({
      en: rateOf(2, 2),
      fr: rateOf(0, 1),
      unknown: rateOf(0, 1),
    })
    expect(report.intentRecallByIntent).toEqual({
      refund: rateOf(1, 2),
      order_status: rateOf(0, 0),
      product_question: rateOf(0, 0),
      complaint: rateOf(0, 1),
      other: rateOf(1, 1),
    })
  })

  it("splits escalation recall by each reason a row gives, in the policy's order", () => {
    expect(report.escalationRecallByReason).toEqual({
      safety: rateOf(1, 1),
      legal: rateOf(0, 1),
      high_value: rateOf(1, 1),
    })
    expect(Object.keys(report.escalationRecallByReason)).toEqual(["safety", "legal", "high_value"])
    const unspecified = triageReport([{ row: row("e", "refund", { mustEscalate: true }), output: null }])
    expect(unspecified.escalationRecallByReason).toEqual({ unspecified: rateOf(1, 1) })
  })

  it("puts abstentions and missing answers in their own columns of the confusion matrix", () => {
    const mixed = triageReport([
      ...answers,
      { row: row("e", "refund"), output: answer("complaint") },
      { row: row("f", "order_status"), output: escalated("order_status", "fraud") },
    ])
    expect(mixed.confusion.columns).toEqual([
      "refund",
      "order_status",
      "product_question",
      "complaint",
      "other",
      "abstained",
      "no answer",
    ])
    expect(mixed.confusion.intents).toEqual([
      "refund",
      "order_status",
      "product_question",
      "complaint",
      "other",
    ])
    expect(mixed.confusion.counts).toEqual([
      [1, 0, 0, 1, 0, 1, 0],
      [0, 1, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 1, 0, 0],
    ])
  })

  it("lists the misses in input order with what was expected and what came back, capped", () => {
    expect(report.misses.total).toBe(3)
    expect(report.misses.rows.map((m) => [m.id, m.wrong])).toEqual([
      ["b", ["intent", "escalation"]],
      ["c", ["intent", "sentiment"]],
      ["d", ["escalation"]],
    ])
    expect(report.misses.rows[0]).toEqual({
      id: "b",
      lang: "fr",
      wrong: ["intent", "escalation"],
      expected: { intent: "refund", sentiment: "neutral", mustEscalate: false, reasons: [] },
      got: {
        intent: "refund",
        sentiment: "neutral",
        escalate: false,
        abstention: "two intents, neither clearly the ask",
      },
    })
    expect(report.misses.rows[1]?.got).toBeNull()
    const capped = triageReport(answers, { maxMisses: 1 })
    expect(capped.misses.total).toBe(3)
    expect(capped.misses.rows.map((m) => m.id)).toEqual(["b"])
  })

  it("gives the headline rates as eval metrics, 1 when there is nothing to count", () => {
    expect(triageMetrics(report)).toEqual({
      intentAccuracy: 0.5,
      sentimentAccuracy: 0.75,
      escalationRecall: 0.5,
      escalationPrecision: 0.5,
      answeredRate: 0.5,
    })
    expect(triageMetrics(triageReport([]))).toEqual({
      intentAccuracy: 1,
      sentimentAccuracy: 1,
      escalationRecall: 1,
      escalationPrecision: 1,
      answeredRate: 1,
    })
  })

  it("survives a round trip through JSON unchanged", () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
  })

  it("prints fixed-width tables: rates with their interval and n, splits, the matrix and the misses", () => {
    const text = formatTriageReport(report)
    expect(text).toContain(
      "4 rows: 2 answered, 1 abstained, 1 unanswered; 2 must escalate, 2 went to a human",
    )
    expect(text).toMatch(/intent accuracy\s+0\.500\s+\[0\.150, 0\.850\]\s+2\/4/)
    expect(text).toMatch(/intent accuracy by language\nlang\s+rate/)
    expect(text).toMatch(/\nfr\s+0\.000\s+\[0\.000, 0\.793\]\s+0\/1/)
    expect(text).toMatch(/\nsafety\s+1\.000/)
    expect(text).toMatch(/\nrefund\s+1\s+0\s+0\s+0\s+0\s+1\s+0\n/)
    expect(text).toContain("misses: 3\n")
    expect(text).toContain("abstained: two intents, neither clearly the ask (guess refund)")
    expect(text).toContain("no answer (to a human)")
    // Every line of a table is as wide as its header or narrower (trailing blanks trimmed), never wider.
    const overall = text.split("\n\n")[1]!.split("\n").slice(1)
    const width = overall[1]!.length
    for (const line of overall) expect(line.length).toBeLessThanOrEqual(width)
  })
})

describe("the legacy ticket sets", () => {
  it("score an abstention as a wrong intent that goes to a human, as the report does", () => {
    const scores = scoreTriage([
      {
        id: "x",
        expected: { intent: "refund", sentiment: "neutral", mustEscalate: true },
        output: answer("refund", { abstention: "unsure" }),
      },
      {
        id: "y",
        expected: { intent: "other", sentiment: "neutral", mustEscalate: false },
        output: answer("other"),
      },
    ])
    expect(scores).toEqual({
      intentAccuracy: 0.5,
      sentimentAccuracy: 1,
      escalationPrecision: 1,
      escalationRecall: 1,
    })
  })
})
