import type { TicketIntent } from "@mesh/contracts"
import type { Reaction, ReactorDefinition } from "@mesh/kernel"
import { type DecisionRecorder, decideOnce, ModelProvider } from "@mesh/models"
import { Effect } from "effect"
import type { ContentOpsDefs } from "../catalog.ts"
import { ContentOpsSettings } from "../config.ts"
import { ContentLedger, type TicketRecord } from "../contentLedger.ts"
import { type FaqCommand, faqIdOf, type QuestionEmbedding } from "../faq/faq.ts"
import { draftArticle } from "../skills/draftArticle.ts"

const toFaq = (faqId: string, command: FaqCommand): Reaction => ({
  aggregateType: "faq",
  aggregateId: faqId,
  command,
})

// Questions about one customer's own order, refund or complaint answer that customer, not the next:
// only general questions become articles.
const generalIntents: ReadonlySet<typeof TicketIntent.Type> = new Set(["product_question", "other"])

/**
 * What a resolved ticket asked, how it was triaged, and what a person answered it: the opening
 * message and the last reply a person wrote to it that was sent; null when no person's answer to
 * it was sent. A reply the agent drafted is never learnt from: it says what the records and the
 * approved articles said (learning it would propose an article again from its own replies) or, with
 * nothing to go on, that the team will come back to the customer.
 */
export const questionAndAnswerOf = (
  thread: ReadonlyArray<TicketRecord>,
): { tenantId: string; intent: typeof TicketIntent.Type; question: string; answer: string } | null => {
  const opening = thread.find((e) => e.type === "TicketOpened")
  if (opening?.type !== "TicketOpened") return null
  const messageId = opening.payload.messageId ?? "first"
  const triaged = thread.find(
    (e) => e.type === "TicketTriaged" && (e.payload.messageId ?? "first") === messageId,
  )
  const intent = triaged?.type === "TicketTriaged" ? triaged.payload.intent : "other"
  const sent = new Set(thread.flatMap((e) => (e.type === "ReplySent" ? [e.payload.draftId] : [])))
  const answered = thread
    .flatMap((e) =>
      e.type === "ReplyWrittenByPerson" && e.payload.messageId === messageId && sent.has(e.payload.draftId)
        ? [e.payload.body]
        : [],
    )
    .at(-1)
  if (answered === undefined) return null
  const question = `${opening.payload.subject}\n${opening.payload.body}`.trim()
  return { tenantId: opening.payload.tenantId, intent, question, answer: answered }
}

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    dot += x * y
    na += x * x
    nb += y * y
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}

/**
 * Learns the shop's frequent questions from resolved tickets: a general question and the answer a
 * person gave it are noted in the tenant's FAQ for its intent, beside the earlier questions that
 * ask the same by meaning (embedded, compared by cosine); once enough tickets ask it, the FAQ finds
 * a frequent question.
 */
export const noteResolvedQuestions = (): ReactorDefinition<
  ContentOpsDefs,
  unknown,
  ContentLedger | ModelProvider | ContentOpsSettings
> => {
  // Embeddings of questions already seen, by text: the FAQ's waiting questions are compared again
  // with every new one, and the encoder is deterministic.
  const vectors = new Map<string, ReadonlyArray<number>>()
  return {
    name: "content-ops-resolved-questions",
    consumes: { domain: "customer" },
    eventTypes: ["TicketResolved"],
    react: (event) =>
      Effect.gen(function* () {
        if (event.type !== "TicketResolved") return []
        const ledger = yield* ContentLedger
        // The ticket as it stood at its resolution, not as it stands when the reaction runs: a
        // replay runs it once the whole day is in the log, and an answer written after the
        // resolution made a replay note a question the day had not (and a reaction that lagged
        // the log decide otherwise than one that kept up).
        const thread = (yield* ledger.ticket(event.aggregateId)).filter(
          (e) => e.aggregateVersion <= event.aggregateVersion,
        )
        const asked = questionAndAnswerOf(thread)
        if (asked === null || !generalIntents.has(asked.intent)) return []
        const { faq: settings } = yield* ContentOpsSettings
        const faqId = faqIdOf(asked.tenantId, asked.intent)
        const state = yield* ledger.faq(faqId)
        const note = (similarTo: ReadonlyArray<string>, embedding: QuestionEmbedding | undefined) => [
          toFaq(faqId, {
            _tag: "NoteResolvedQuestion",
            tenantId: asked.tenantId,
            intent: asked.intent,
            ticketId: event.aggregateId,
            question: asked.question,
            answer: asked.answer,
            similarTo,
            minTickets: settings.minTickets,
            ...(embedding === undefined ? {} : { embedding }),
          }),
        ]
        // Noted already (a redelivery, a replay of the day): the note says what the model found, and
        // the same command is sent again without asking it, as a decision recorded once is read back.
        const noted = state.questions.find((q) => q.ticketId === event.aggregateId)
        if (noted !== undefined) return note(noted.similarTo, noted.embedding)
        const waiting = state.questions.filter((q) => q.proposalId === null)
        const model = yield* ModelProvider
        const missing = [asked.question, ...waiting.map((q) => q.question)].filter((t) => !vectors.has(t))
        let embedding: QuestionEmbedding | undefined
        if (missing.length > 0) {
          const embedded = yield* model.embed({
            model: model.embedModel,
            input: missing,
            purpose: "query",
          })
          // The contract wants a named model and a time of zero or more: a provider that names none
          // or a clock stepping back must not make the note fail to decode.
          if (embedded.model.length > 0)
            embedding = { model: embedded.model, latencyMs: Math.max(0, Math.round(embedded.latencyMs)) }
          for (const [i, text] of missing.entries()) vectors.set(text, embedded.embeddings[i] ?? [])
          if (vectors.size > 5_000) vectors.delete(vectors.keys().next().value as string)
        }
        const own = vectors.get(asked.question) ?? []
        const similarTo = waiting
          .filter((q) => cosine(own, vectors.get(q.question) ?? []) >= settings.similarity)
          .map((q) => q.ticketId)
        return note(similarTo, embedding)
      }),
  }
}

/**
 * A frequent question becomes a proposed article: drafted once by the `draftArticle` skill from the
 * questions and the shop's answers, recorded, and proposed to customer ops, which drafts it for a
 * person's approval before any reply sent without a person may cite it.
 */
export const proposeArticles = (options: {
  readonly agent: string
}): ReactorDefinition<ContentOpsDefs, unknown, ModelProvider | DecisionRecorder> => ({
  name: "content-ops-articles",
  consumes: { domain: "content" },
  eventTypes: ["FrequentQuestionFound"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "FrequentQuestionFound") return []
      const { intent, questions, answers, proposalId } = event.payload
      const decided = yield* decideOnce(
        draftArticle,
        { intent, questions, answers },
        // The same questions and answers found again reuse the article drafted for them.
        { cause: event, agent: options.agent, step: "draftArticle", reuseByInput: true },
      )
      if (decided.output === null) return []
      return [
        toFaq(event.aggregateId, {
          _tag: "RecordProposal",
          proposalId,
          title: decided.output.title,
          body: decided.output.body,
          decisionId: decided.decisionId,
        }),
      ]
    }),
})
