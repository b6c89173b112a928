import { Result, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { TriageOutput } from "../../tasks.ts"
import { untrainedLanguageOf } from "./language.ts"
import { committedTriageModel } from "./triageArtefact.ts"
import {
  decideTriage,
  INTENTS,
  MAX_CLASSIFIED_CHARS,
  TEXT_REASONS,
  type TriageModel,
  type TriageScores,
  triageWithModel,
} from "./triageModel.ts"

const scores = (over: Partial<{ intent: number[]; negative: number; needsHuman: number }> = {}) => {
  const negative = over.negative ?? 0.1
  const s: TriageScores = {
    intent: Float64Array.from(over.intent ?? [0.9, 0.025, 0.025, 0.025, 0.025]),
    sentiment: Float64Array.from([negative, 1 - negative - 0.05, 0.05]),
    needsHuman: over.needsHuman ?? 0.01,
    reasons: Object.fromEntries(TEXT_REASONS.map((r) => [r, 0.01])) as TriageScores["reasons"],
    truncated: false,
    untrainedLanguage: null,
  }
  return s
}
const model: Pick<TriageModel, "thresholds"> = {
  thresholds: {
    abstainBelow: 0.4,
    reasons: Object.fromEntries(TEXT_REASONS.map((r) => [r, 0.5])) as TriageModel["thresholds"]["reasons"],
    anyReason: 0.3,
    anyReasonFloor: 0.1,
    unhappy: 0.35,
  },
}
const ticket = { subject: "Refund", body: "Please refund order 1234." }

describe("the triage decision", () => {
  it("escalates an unhappy customer after three earlier contacts, and not a content one", () => {
    const input = { ...ticket, previousContacts: 3 }
    expect(decideTriage(model, input, scores({ negative: 0.7 })).escalationReasons).toEqual([
      "repeat_contact",
    ])
    expect(decideTriage(model, input, scores({ negative: 0.05 })).escalate).toBe(false)
  })

  it("escalates refunds of orders worth 500.00 or more, and unhappy VIPs", () => {
    const big = { ...ticket, orderValue: { amountMinor: 64_900, currency: "EUR" } }
    expect(decideTriage(model, big, scores()).escalationReasons).toEqual(["high_value"])
    const small = { ...ticket, orderValue: { amountMinor: 49_999, currency: "EUR" } }
    expect(decideTriage(model, small, scores()).escalate).toBe(false)
    const vip = { ...ticket, customerTier: "vip" as const }
    expect(decideTriage(model, vip, scores({ negative: 0.8 })).escalationReasons).toEqual(["high_value"])
  })

  it("names the likeliest reason when only the needs-a-human head is sure", () => {
    const s = { ...scores({ needsHuman: 0.9 }), reasons: { ...scores().reasons, legal: 0.3 } }
    const out = decideTriage(model, ticket, s)
    expect(out).toMatchObject({ escalate: true, escalationReasons: ["legal"], priority: "urgent" })
    expect(out.escalationReason).toContain("legal")
  })

  it("does not escalate on the needs-a-human head alone when no reason head sees a reason", () => {
    const s = { ...scores({ needsHuman: 0.9 }), reasons: { ...scores().reasons, safety: 0.09 } }
    expect(decideTriage(model, ticket, s).escalate).toBe(false)
  })

  it("abstains below its confidence floor and says between which intents", () => {
    const out = decideTriage(model, ticket, scores({ intent: [0.35, 0.05, 0.05, 0.3, 0.25] }))
    expect(out.abstention).toBe("the intent is uncertain: refund 35%, complaint 30%")
    expect(decideTriage(model, ticket, scores()).abstention).toBeNull()
  })
})

describe("languages", () => {
  it("name a language the model was not trained on, and leave its own and short lines alone", () => {
    expect(
      untrainedLanguageOf("Dov'è il mio pacco? L'ho ordinato due settimane fa e non è ancora arrivato."),
    ).toBe("ita")
    expect(
      untrainedLanguageOf(
        "Waar is mijn pakket? Ik heb het twee weken geleden besteld en het is er nog niet.",
      ),
    ).toBe("nld")
    // Another script is never one of the trained languages, whichever Cyrillic language franc names.
    const russian = "Где моя посылка? Я заказал её две недели назад, и она до сих пор не пришла."
    expect(untrainedLanguageOf(russian)).toMatch(/^[a-z]{3}$/)
    for (const text of [
      "Where is my parcel? I ordered it two weeks ago and it still has not arrived at my flat.",
      "Où est mon colis ? Je l'ai commandé il y a deux semaines et il n'est toujours pas arrivé.",
      "Wo ist mein Paket? Ich habe es vor zwei Wochen bestellt und es ist immer noch nicht da.",
      "¿Dónde está mi paquete? Lo pedí hace dos semanas y todavía no ha llegado a mi casa.",
      "dov'è il mio pacco?",
    ]) {
      expect(untrainedLanguageOf(text), text).toBeNull()
    }
  })

  it("make the model abstain and say which language it saw", () => {
    const out = decideTriage(model, ticket, { ...scores(), untrainedLanguage: "ita" })
    expect(out.abstention).toBe("the message is in a language the offline model was not trained on (ita)")
  })
})

describe("the committed model", () => {
  const committed = committedTriageModel()

  it("answers every input with an output the contract accepts, whatever the text", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.string({ unit: "grapheme", size: "large", maxLength: 6000 }),
        (subject, body) => {
          const out = triageWithModel(committed, { subject, body })
          expect(Result.isSuccess(Schema.decodeUnknownResult(TriageOutput)(out))).toBe(true)
          expect(INTENTS).toContain(out.intent)
        },
      ),
      { numRuns: 300 },
    )
  })

  it("reads only the first MAX_CLASSIFIED_CHARS characters of a long message, and says so", () => {
    const body = "My parcel has not arrived. ".repeat(40_000)
    const out = triageWithModel(committed, { subject: "", body })
    expect(out.notes).toEqual([`only the first ${MAX_CLASSIFIED_CHARS} characters were read`])
    expect(triageWithModel(committed, { subject: "", body: "Where is my parcel?" }).notes).toBeUndefined()
  })
})
