import { readFileSync } from "node:fs"
import { fnv1a, foldText } from "@mesh/models"
import { describe, expect, it } from "vitest"
import { triageHoldoutFile } from "../../../evals/datasets.ts"
import { type LabelledTicket, parseLabelledTickets } from "../../../evals/labelledTickets.ts"
import {
  buildTriageArtefact,
  readTriageCorpus,
  serialiseTriageArtefact,
  triageArtefactFile,
} from "./triageArtefact.ts"
import { INTENTS } from "./triageModel.ts"

// The corpus and the committed artefact are part of the model: these checks keep them whole, keep the holdout
// apart from what the model learns from, and keep the committed model the one the corpus trains.

const LANGUAGES = ["en", "fr", "de", "es"] as const

const corpus = readTriageCorpus()
const holdout = parseLabelledTickets(readFileSync(triageHoldoutFile, "utf8"))

// Character 5-gram shingles of the folded text, hashed: two messages that share most of theirs say the same
// thing in nearly the same words.
const shingles = (ticket: LabelledTicket): Set<number> => {
  const text = ` ${foldText(`${ticket.subject ?? ""} ${ticket.text}`).replace(/\s+/g, " ")} `
  const out = new Set<number>()
  for (let i = 0; i + 5 <= text.length; i++) out.add(fnv1a(text.slice(i, i + 5), 0))
  return out
}
const jaccard = (a: Set<number>, b: Set<number>): number => {
  let shared = 0
  for (const x of a) if (b.has(x)) shared++
  return shared / (a.size + b.size - shared)
}

describe("the triage corpus", () => {
  it("parses whole, with enough messages in every language and intent", () => {
    expect(corpus.problems).toEqual([])
    expect(corpus.rows.length).toBeGreaterThanOrEqual(800)
    for (const lang of LANGUAGES) {
      for (const intent of INTENTS) {
        const n = corpus.rows.filter((r) => r.lang === lang && r.intent === intent).length
        expect(n, `${lang} ${intent}`).toBeGreaterThanOrEqual(30)
      }
    }
  })

  it("labels escalations with their reasons, and every reason has examples in every language", () => {
    const unexplained = corpus.rows.filter(
      (r) => r.mustEscalate !== (r.reasons ?? []).length > 0 && !r.id.startsWith("legacy-"),
    )
    expect(unexplained.map((r) => r.id)).toEqual([])
    for (const lang of LANGUAGES) {
      for (const reason of ["safety", "legal", "fraud", "account_change", "vulnerable", "press_business"]) {
        const n = corpus.rows.filter(
          (r) => r.lang === lang && (r.reasons ?? []).includes(reason as never),
        ).length
        expect(n, `${lang} ${reason}`).toBeGreaterThanOrEqual(5)
      }
    }
  })
})

describe("the frozen holdout", () => {
  it("parses whole and covers every language and intent", () => {
    expect(holdout.rejected).toEqual([])
    expect(holdout.rows.length).toBeGreaterThanOrEqual(200)
    for (const lang of LANGUAGES) {
      for (const intent of INTENTS) {
        expect(
          holdout.rows.some((r) => r.lang === lang && r.intent === intent),
          `${lang} ${intent}`,
        ).toBe(true)
      }
    }
  })

  it("holds no near-duplicate of a training message", () => {
    const train = corpus.rows.map((r) => ({ id: r.id, s: shingles(r) }))
    const near: Array<string> = []
    for (const row of holdout.rows) {
      const s = shingles(row)
      for (const t of train) {
        const similarity = jaccard(s, t.s)
        if (similarity >= 0.5) near.push(`${row.id} ~ ${t.id} (${similarity.toFixed(2)})`)
      }
    }
    expect(near).toEqual([])
  })
})

describe("the committed triage model", () => {
  it("is exactly what the corpus trains", () => {
    const rebuilt = serialiseTriageArtefact(buildTriageArtefact())
    const committed = readFileSync(triageArtefactFile, "utf8")
    // Compare digests first, so a stale artefact fails with a readable message rather than a megabyte diff.
    expect(JSON.parse(committed).version, "run `pnpm --filter @mesh/customer-ops train`").toBe(
      JSON.parse(rebuilt).version,
    )
    expect(committed === rebuilt, "the artefact differs from a fresh training of the same corpus").toBe(true)
  }, 180_000)
})
