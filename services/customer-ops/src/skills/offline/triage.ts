import { stem, tokenize } from "@mesh/models"
import type { TicketPriority, TriageInput, TriageOutput } from "../tasks.ts"

/** A ticket intent, as in @mesh/contracts' TicketIntent. */
export type Intent = TriageOutput["intent"]
/** A sentiment, as in @mesh/contracts' Sentiment. */
export type SentimentLabel = TriageOutput["sentiment"]

/** Which classifier generation to run: 1 reads keywords only; 2 adds negation scope, question forms and clauses. */
export type TriageVariant = 1 | 2

// A cue is a phrase (matched on stemmed tokens) with a weight. Negatable cues lose their meaning when a negation
// precedes them in the same clause ("no need for a refund", "nothing damaged"); others keep it ("hasn't arrived").
interface Cue {
  readonly phrase: ReadonlyArray<string>
  readonly weight: number
  readonly negatable: boolean
}

const cues = (weight: number, phrases: ReadonlyArray<string>, negatable = true): ReadonlyArray<Cue> =>
  phrases.map((phrase) => ({ phrase: tokenize(phrase).map(stem), weight, negatable }))

const intentCues: Record<Intent, ReadonlyArray<Cue>> = {
  refund: [
    ...cues(3, ["refund", "money back", "reimburse", "reimbursement", "store credit", "repay"]),
    ...cues(3, ["when the refund", "refund will be", "sent the parcel back", "sent it back"]),
    ...cues(2, ["send it back", "return it", "return label", "charged twice", "want the", "compensation"]),
    ...cues(1.5, ["return", "returned", "cancel", "duplicate payment"]),
  ],
  order_status: [
    ...cues(
      3,
      [
        "where is",
        "where's my",
        "tracking",
        "in transit",
        "dispatched",
        "shipped",
        "not arrived",
        "not here",
      ],
      false,
    ),
    ...cues(
      2,
      ["track", "ship", "arrive", "dispatch", "status", "customs", "left the warehouse", "delivery"],
      false,
    ),
    ...cues(
      1.5,
      ["parcel", "package", "courier", "when will", "processing", "pre ordered", "expected", "where"],
      false,
    ),
    ...cues(1, ["deliver", "delivered", "arrived", "order"], false),
  ],
  product_question: [
    ...cues(2.5, [
      "compatible",
      "work with",
      "works with",
      "warranty",
      "difference",
      "recommend",
      "where can i find",
    ]),
    ...cues(2, [
      "dishwasher",
      "microwave",
      "ingredient",
      "contain",
      "back in stock",
      "in stock",
      "instructions",
      "waterproof",
      "battery life",
      "vegan",
      "before i order",
      "before i buy",
      "how often",
      "how should",
      "how do i use",
      "material",
      "linen",
      "size",
      "voltage",
      "auto shut off",
      "is that normal",
      "which model",
    ]),
    ...cues(1.5, ["does the", "does it", "is the", "are the", "will the", "wash", "fit", "safe"]),
  ],
  complaint: [
    ...cues(3, ["unacceptable", "complaint", "misleading", "rude", "worst", "thought you should know"]),
    ...cues(2.5, [
      "disappointed",
      "terrible",
      "awful",
      "smashed",
      "damaged",
      "broken",
      "replacement",
      "wrong one",
      "got a",
      "the correct one",
      "poor",
      "frustrated",
      "ruined",
      "caught fire",
      "melted",
      "quality",
      "leaked",
      "swollen",
      "reported",
      "send them",
      "without the",
      "on hold",
    ]),
    ...cues(1.5, [
      "fault",
      "faulty",
      "wobbles",
      "holes",
      "packaging",
      "missing",
      "same fault",
      "lawyer",
      "spam",
    ]),
  ],
  other: [
    ...cues(3, [
      "password",
      "invoice",
      "mailing list",
      "unsubscribe",
      "hiring",
      "job",
      "wholesale",
      "partnership",
      "gift wrapping",
      "discount code",
      "loyalty points",
      "journalist",
      "gdpr",
      "delete my account",
      "logged into my account",
      "showroom",
      "opening hours",
      "pass on my thanks",
      "just wanted to say",
    ]),
    ...cues(2, ["account", "email address", "code", "open on", "thank you"]),
  ],
}

const sentimentCues: ReadonlyArray<Cue> = [
  ...cues(-3, ["unacceptable", "terrible", "worst", "awful", "furious", "disgusted", "beyond frustrated"]),
  ...cues(-2.5, ["disappointed", "frustrated", "angry", "useless", "ruined", "ruin", "swollen", "fraud"]),
  ...cues(-2, [
    "annoying",
    "annoyed",
    "rude",
    "misleading",
    "poor",
    "smashed",
    "burning",
    "caught fire",
    "melted",
    "lawyer",
    "unhappy",
    "not impressed",
    "it's been ages",
    "fake",
    "refuse",
    "leaked",
    "stopped working",
    "cut his finger",
    "cut my finger",
  ]),
  ...cues(-1.5, [
    "nobody",
    "fourth time",
    "fifth time",
    "third time",
    "disputing",
    "even though",
    "spam",
    "wobbles badly",
    "isn't what it used to be",
    "not great",
    "sadly",
    "unfortunately",
    "someone logged",
    "didn't do this",
    "threw",
    "shed",
  ]),
  ...cues(-1, [
    "broken",
    "damaged",
    "cracked",
    "sparks",
    "smoking",
    "worry",
    "fuss",
    "splinter",
    "promised",
    "lost",
  ]),
  ...cues(-1, ["complaint", "holes", "ages", "bad"]),
  ...cues(2.5, [
    "love",
    "gorgeous",
    "amazing",
    "made my day",
    "excellent",
    "fantastic",
    "delighted",
    "brilliant",
  ]),
  ...cues(2, ["lovely", "great", "perfect", "helpful", "impressed", "wonderful"]),
  ...cues(1.5, ["happy", "pleased", "glad", "nice"]),
  ...cues(0.5, ["thank", "thanks", "love to"]),
]

const NEGATORS: ReadonlySet<string> = new Set(
  ["not", "no", "never", "nothing", "without", "nobody", "none", "neither", "nor"].map(stem),
)
const INTENSIFIERS: Record<string, number> = {
  really: 1.5,
  very: 1.5,
  so: 1.3,
  extremely: 1.8,
  incredibly: 1.5,
  absolutely: 1.5,
  beyond: 1.5,
  totally: 1.4,
  pretty: 1.1,
}
const CLAUSE_BREAKS = /[.,;!?:()\n]|\bbut\b|\bjust\b/gi
const NEGATION_WINDOW = 4

// Splits text into clauses, each a list of stemmed tokens; negation never crosses a clause break.
const clausesOf = (text: string): ReadonlyArray<ReadonlyArray<string>> =>
  text
    .split(CLAUSE_BREAKS)
    .map((clause) => tokenize(clause).map(stem))
    .filter((clause) => clause.length > 0)

interface CueHit {
  readonly cue: Cue
  readonly negated: boolean
  readonly intensity: number
}

const findHits = (
  clauses: ReadonlyArray<ReadonlyArray<string>>,
  cueList: ReadonlyArray<Cue>,
  variant: TriageVariant,
  window: number,
): ReadonlyArray<CueHit> => {
  const hits: Array<CueHit> = []
  for (const clause of clauses) {
    const taken = new Set<number>()
    // Longer phrases first, so "money back" is not also counted as "back".
    const ordered = [...cueList].sort((a, b) => b.phrase.length - a.phrase.length)
    for (const cue of ordered) {
      for (let start = 0; start + cue.phrase.length <= clause.length; start++) {
        let match = true
        for (let k = 0; k < cue.phrase.length; k++) {
          if (clause[start + k] !== cue.phrase[k] || taken.has(start + k)) {
            match = false
            break
          }
        }
        if (!match) continue
        for (let k = 0; k < cue.phrase.length; k++) taken.add(start + k)
        let negated = false
        let intensity = 1
        if (variant >= 2) {
          const includesNegator = cue.phrase.some((t) => NEGATORS.has(t))
          for (let back = 1; back <= window && start - back >= 0; back++) {
            const token = clause[start - back]!
            if (cue.negatable && !includesNegator && NEGATORS.has(token)) negated = true
          }
          const previous = start > 0 ? clause[start - 1] : undefined
          if (previous !== undefined) intensity = INTENSIFIERS[previous] ?? 1
        }
        hits.push({ cue, negated, intensity })
      }
    }
  }
  return hits
}

/** The score of every intent for a ticket's text, with the winning intent. */
export interface IntentScores {
  readonly intent: Intent
  readonly scores: Readonly<Record<Intent, number>>
  readonly confidence: number
}

const INTENTS: ReadonlyArray<Intent> = ["refund", "order_status", "product_question", "complaint", "other"]
const MIN_INTENT_SCORE = 1.5
const QUESTION_STARTS: ReadonlySet<string> = new Set([
  "do",
  "does",
  "is",
  "are",
  "will",
  "would",
  "can",
  "how",
  "what",
])

/** Classifies a ticket's intent from weighted lexical cues; falls back to "other" when nothing speaks for an intent. */
export const classifyIntent = (text: string, variant: TriageVariant = 2): IntentScores => {
  const clauses = clausesOf(text)
  const scores: Record<Intent, number> = {
    refund: 0,
    order_status: 0,
    product_question: 0,
    complaint: 0,
    other: 0,
  }
  for (const intent of INTENTS) {
    for (const hit of findHits(clauses, intentCues[intent], variant, NEGATION_WINDOW)) {
      if (!hit.negated) scores[intent] += hit.cue.weight
    }
  }
  if (variant >= 2) {
    // A question about the product's properties reads as a product question unless stronger cues say otherwise.
    const questions = text.split(/(?<=[.!?])\s+/).filter((s) => s.trim().endsWith("?"))
    for (const question of questions) {
      const first = tokenize(question)[0]
      if (first !== undefined && QUESTION_STARTS.has(first)) {
        scores.product_question += 0.5
      }
    }
  }
  const ranked = [...INTENTS].sort((a, b) => scores[b] - scores[a] || INTENTS.indexOf(a) - INTENTS.indexOf(b))
  const top = ranked[0]!
  const second = ranked[1]!
  if (scores[top] < MIN_INTENT_SCORE) {
    return { intent: "other", scores, confidence: 0.4 }
  }
  const margin = scores[top] - scores[second]
  const confidence = Math.round((0.5 + 0.49 * (1 - Math.exp(-margin / 2))) * 100) / 100
  return { intent: top, scores, confidence }
}

/** The sentiment score of a text and its label. */
export interface SentimentScore {
  readonly sentiment: SentimentLabel
  readonly score: number
}

const NEGATIVE_AT = -1.5
const POSITIVE_AT = 1.5

/** Reads sentiment from a weighted lexicon with negation (which flips and damps a cue), intensifiers and shouting. */
export const classifySentiment = (text: string, variant: TriageVariant = 2): SentimentScore => {
  const clauses = clausesOf(text)
  let score = 0
  for (const hit of findHits(clauses, sentimentCues, variant, NEGATION_WINDOW)) {
    const weight = hit.cue.weight * hit.intensity
    // "not bad" is mildly good, "not great" is clearly bad: negation damps negatives more than positives.
    score += hit.negated ? (weight < 0 ? -0.3 * weight : -0.75 * weight) : weight
  }
  if (variant >= 2) {
    const shouted = (text.match(/\b[A-Z]{5,}\b/g) ?? []).length
    if (shouted > 0) score -= 1.5
    if (/[?!]{2,}/.test(text)) score -= 1
  }
  const rounded = Math.round(score * 100) / 100
  const sentiment: SentimentLabel =
    rounded <= NEGATIVE_AT ? "negative" : rounded >= POSITIVE_AT ? "positive" : "neutral"
  return { sentiment, score: rounded }
}

/** Why a ticket must go to a human, by the escalation policy. */
export type EscalationTrigger =
  | "legal"
  | "payment-dispute"
  | "safety"
  | "fraud"
  | "privacy"
  | "public"
  | "repeat-contact"
  | "high-value-refund"
  | "vip-unhappy"

const escalationCues: ReadonlyArray<readonly [EscalationTrigger, ReadonlyArray<Cue>]> = [
  [
    "legal",
    cues(1, [
      "lawyer",
      "solicitor",
      "sue",
      "court",
      "legal action",
      "trading standards",
      "ombudsman",
      "small claims",
    ]),
  ],
  [
    "payment-dispute",
    cues(1, ["chargeback", "charge back", "dispute", "disputing", "my bank", "credit card company"]),
  ],
  [
    "safety",
    cues(1, [
      "fire",
      "sparks",
      "spark",
      "smoke",
      "smoking",
      "melted",
      "burn",
      "burning",
      "burnt",
      "electric shock",
      "injury",
      "injured",
      "cut his",
      "cut her",
      "cut my",
      "swollen",
      "allergic reaction",
      "hospital",
      "pharmacy",
      "choking",
    ]),
  ],
  [
    "fraud",
    cues(1, [
      "fraud",
      "unauthorised",
      "unauthorized",
      "never made",
      "hacked",
      "someone logged",
      "stolen",
      "didn't do this",
    ]),
  ],
  [
    "privacy",
    cues(1, [
      "gdpr",
      "personal data",
      "data been leaked",
      "leaked",
      "data breach",
      "my details",
      "order details",
    ]),
  ],
  [
    "public",
    cues(1, [
      "journalist",
      "press",
      "newspaper",
      "trustpilot",
      "instagram",
      "twitter",
      "tiktok",
      "facebook",
      "social media",
      "posting about",
    ]),
  ],
  ["repeat-contact", cues(1, ["third time", "fourth time", "fifth time", "again and again"])],
]

/** The facts the escalation policy decides on, extracted from a ticket. */
export interface EscalationInputs {
  readonly triggersInText: ReadonlyArray<EscalationTrigger>
  readonly previousContacts: number
  readonly customerTier: "standard" | "vip"
  readonly orderValueMinor: number | null
}

/** Extracts the escalation policy's inputs from a ticket; triggers in text respect negation in variant 2. */
export const escalationInputs = (input: TriageInput, variant: TriageVariant = 2): EscalationInputs => {
  const clauses = clausesOf(`${input.subject}. ${input.body}`)
  const triggersInText: Array<EscalationTrigger> = []
  for (const [trigger, list] of escalationCues) {
    // Negation reaches across the whole clause here: "not going to kick up a fuss or call my bank".
    const hits = findHits(clauses, list, variant, 12)
    if (hits.some((hit) => !hit.negated)) triggersInText.push(trigger)
  }
  return {
    triggersInText,
    previousContacts: input.previousContacts ?? 0,
    customerTier: input.customerTier ?? "standard",
    orderValueMinor: input.orderValue?.amountMinor ?? null,
  }
}

/** Refunds of orders worth at least this much (in minor units) need a human. */
export const HIGH_VALUE_REFUND_MINOR = 50_000
/** A customer unhappy after this many earlier contacts needs a human. */
export const REPEAT_CONTACTS = 3

/** Applies the escalation policy: every trigger that holds, in policy order. */
export const escalationTriggers = (
  inputs: EscalationInputs,
  intent: Intent,
  sentiment: SentimentLabel,
): ReadonlyArray<EscalationTrigger> => {
  const triggers: Array<EscalationTrigger> = inputs.triggersInText.filter((t) => t !== "repeat-contact")
  const unhappy = sentiment === "negative"
  if (
    unhappy &&
    (inputs.previousContacts >= REPEAT_CONTACTS || inputs.triggersInText.includes("repeat-contact"))
  ) {
    triggers.push("repeat-contact")
  }
  if (
    intent === "refund" &&
    inputs.orderValueMinor !== null &&
    inputs.orderValueMinor >= HIGH_VALUE_REFUND_MINOR
  ) {
    triggers.push("high-value-refund")
  }
  if (unhappy && inputs.customerTier === "vip") triggers.push("vip-unhappy")
  return triggers
}

const triggerText: Record<EscalationTrigger, string> = {
  legal: "legal action or a regulator is mentioned",
  "payment-dispute": "a payment dispute is threatened",
  safety: "a safety or health incident is reported",
  fraud: "possible fraud or account compromise",
  privacy: "personal data is at stake",
  public: "press or public attention is involved",
  "repeat-contact": "an unhappy customer has contacted us repeatedly",
  "high-value-refund": "refund of a high-value order",
  "vip-unhappy": "an unhappy VIP or trade customer",
}

const URGENT: ReadonlySet<EscalationTrigger> = new Set(["safety", "legal", "fraud", "privacy"])

const priorityOf = (
  triggers: ReadonlyArray<EscalationTrigger>,
  sentiment: SentimentLabel,
  intent: Intent,
): TicketPriority => {
  if (triggers.some((t) => URGENT.has(t))) return "urgent"
  if (triggers.length > 0 || sentiment === "negative") return "high"
  if (intent === "other" || sentiment === "positive") return "low"
  return "normal"
}

/** Triage of a ticket by the offline model: intent, sentiment, escalation by policy, priority and confidence. */
export const triageTicketOffline = (input: TriageInput, variant: TriageVariant = 2): TriageOutput => {
  const text = `${input.subject}. ${input.body}`
  const intent = classifyIntent(text, variant)
  const sentiment = classifySentiment(text, variant)
  const triggers = escalationTriggers(escalationInputs(input, variant), intent.intent, sentiment.sentiment)
  return {
    intent: intent.intent,
    sentiment: sentiment.sentiment,
    priority: priorityOf(triggers, sentiment.sentiment, intent.intent),
    escalate: triggers.length > 0,
    escalationReason: triggers.length > 0 ? triggers.map((t) => triggerText[t]).join("; ") : null,
    confidence: intent.confidence,
  }
}
