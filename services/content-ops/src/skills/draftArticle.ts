import { NonEmpty, TicketIntent } from "@mesh/contracts"
import { taskPrompt } from "@mesh/models"
import { Schema } from "effect"
import { defineContentOpsSkill } from "./actions.ts"

/** A frequent question: what customers asked and what the shop answered them. */
export const DraftArticleInput = Schema.Struct({
  intent: TicketIntent,
  questions: Schema.Array(NonEmpty).check(Schema.isMinLength(1)),
  answers: Schema.Array(NonEmpty).check(Schema.isMinLength(1)),
})
/** A frequent question. */
export type DraftArticleInput = typeof DraftArticleInput.Type

/** The longest article title. */
export const MAX_ARTICLE_TITLE = 140

/** A drafted knowledge-base article. */
export const DraftArticleOutput = Schema.Struct({
  title: NonEmpty.check(Schema.isMaxLength(MAX_ARTICLE_TITLE)),
  body: NonEmpty,
})
/** A drafted knowledge-base article. */
export type DraftArticleOutput = typeof DraftArticleOutput.Type

const greeting = /^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^\n,.!]*[,.!]?\s*/i
const signOff =
  /\n\s*(best|kind regards|regards|thanks|thank you|cheers|sincerely|warm(ly| regards)|all the best)\b[\s\S]*$/i
const orderNumber = /\b(?:(?:your\s+)?order\s*(?:no\.?|number|#)?\s*)?#?[A-Z]{0,4}-?\d{4,}\b/gi

/** The reply as an article says it: no greeting, no sign-off, no customer's order number. */
export const generalise = (answer: string): string => {
  const text = answer
    .replace(greeting, "")
    .replace(signOff, "")
    .replace(orderNumber, "your order")
    .replace(/\s+\n/g, "\n")
    .trim()
  return text.charAt(0).toUpperCase() + text.slice(1)
}

const capped = (sentence: string): string =>
  sentence.length <= MAX_ARTICLE_TITLE ? sentence : `${sentence.slice(0, MAX_ARTICLE_TITLE - 1).trimEnd()}…`

/**
 * What a customer's message asks, in its own words: its first sentence that is a question, else its
 * first of four words or more, without a greeting or an order number. A question is noted with its
 * subject line first ("Mug\nHello, can the mug go in the microwave?"), and a subject line or a
 * greeting is not the question.
 */
export const questionAskedIn = (message: string): string => {
  const sentences = message
    .replace(orderNumber, "your order")
    .split(/\n+/)
    .flatMap((line) => line.match(/[^.?!]+[.?!]*/g) ?? [])
    .map((sentence) => {
      const trimmed = sentence.trim()
      return trimmed.replace(greeting, "").trim() || trimmed
    })
    .filter((sentence) => sentence.length > 0)
  const asked =
    sentences.find((s) => s.endsWith("?")) ??
    sentences.find((s) => s.split(/\s+/).length >= 4) ??
    sentences[0]
  return asked === undefined ? "" : `${asked.charAt(0).toUpperCase()}${asked.slice(1)}`
}

/**
 * Drafts an article offline: the shortest of the questions asked as its title (the plainest way
 * customers ask it) and the latest answer, generalised, as its body. A person approves it before
 * any reply may cite it.
 */
export const draftArticleOffline = (input: DraftArticleInput): DraftArticleOutput => {
  const questions = input.questions.map(questionAskedIn).filter((q) => q.length > 0)
  const plainest = [...questions].sort((a, b) => a.length - b.length || (a < b ? -1 : 1))[0] ?? ""
  const answer = generalise(input.answers.at(-1) ?? "")
  return {
    title: capped(plainest) || "A frequent question",
    body: answer || (input.answers.at(-1) ?? ""),
  }
}

/** Drafts a knowledge-base article from a question resolved tickets asked again and again. */
export const draftArticle = defineContentOpsSkill({
  name: "draftArticle",
  version: 1,
  promptVersion: "article-1",
  description:
    "Draft a knowledge-base article (title, body) answering a question customers ask often, from the shop's answers.",
  input: DraftArticleInput,
  template: (input) =>
    taskPrompt(
      "draft_article",
      1,
      [
        "You write knowledge-base articles for an online shop's customer service.",
        "Answer the question as the shop's answers did: say only what they say, for any customer.",
        "No greeting, no sign-off, no customer's name or order number. The title is the question, at most 140 characters.",
      ],
      "Draft an article for this frequent question.",
      input,
    ),
  output: DraftArticleOutput,
  preferredModel: "llama3.2:3b",
  // Background work: nobody waits on it, so the operator may give it a cheaper, slower model.
  workload: "background",
  allowedActions: [],
  latencyBudgetMs: 60_000,
  fallback: "offline",
  offline: draftArticleOffline,
})
