import type { TicketIntent } from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel"
import type { faqEvents } from "../catalog.ts"

type FaqEvent = DecidedEvent<(typeof faqEvents)[number]>
type Intent = typeof TicketIntent.Type

/** A resolved question as the FAQ keeps it. */
export interface NotedQuestion {
  readonly ticketId: string
  readonly question: string
  readonly answer: string
  /** The proposal it went into, or null while it waits for similar ones. */
  readonly proposalId: string | null
  /** The earlier questions it was noted as asking the same (their tickets). */
  readonly similarTo: ReadonlyArray<string>
  /** The embedding call that compared it, when one was made. */
  readonly embedding?: QuestionEmbedding
}

/** The embedding call that compared a question with the waiting ones: its model and its time. */
export interface QuestionEmbedding {
  readonly model: string
  readonly latencyMs: number
}

/** A tenant's resolved questions of one intent, and the proposals made from them. */
export interface FaqState {
  readonly tenantId: string | null
  readonly intent: Intent | null
  readonly questions: ReadonlyArray<NotedQuestion>
  readonly proposals: ReadonlyArray<{ readonly proposalId: string; readonly proposed: boolean }>
}

/** Commands of a tenant's FAQ for one intent. */
export type FaqCommand =
  | {
      readonly _tag: "NoteResolvedQuestion"
      readonly tenantId: string
      readonly intent: Intent
      readonly ticketId: string
      readonly question: string
      readonly answer: string
      /** Earlier unproposed questions that ask the same, found by the caller (by meaning). */
      readonly similarTo: ReadonlyArray<string>
      /** How many tickets asking the same make a frequent question. */
      readonly minTickets: number
      /** The embedding call that found `similarTo`, recorded with the note (none: no call was needed). */
      readonly embedding?: QuestionEmbedding
    }
  | {
      readonly _tag: "RecordProposal"
      readonly proposalId: string
      readonly title: string
      readonly body: string
      readonly decisionId: string
    }

/** The FAQ aggregate of a tenant and intent: `<tenant>-<intent>`. */
export const faqIdOf = (tenantId: string, intent: Intent): string => `${tenantId}-${intent}`

/** How many of the latest questions are kept waiting for similar ones (older ones age out). */
export const FAQ_WINDOW = 200

/**
 * A tenant's frequent questions of one intent. Each resolved ticket's question is noted with the
 * earlier ones that ask the same; once enough tickets ask it, the group is a frequent question, for
 * which an article is drafted and proposed, once. Questions already in a proposal never join another.
 */
export const faqDecider: Decider<FaqCommand, FaqEvent, FaqState> = {
  initialState: () => ({ tenantId: null, intent: null, questions: [], proposals: [] }),
  evolve: (state, event) => {
    switch (event.type) {
      case "ResolvedQuestionNoted":
        return {
          ...state,
          tenantId: event.payload.tenantId,
          intent: event.payload.intent,
          questions: [
            ...state.questions,
            {
              ticketId: event.payload.ticketId,
              question: event.payload.question,
              answer: event.payload.answer,
              proposalId: null,
              similarTo: event.payload.similarTo,
              ...(event.payload.embedding === undefined ? {} : { embedding: event.payload.embedding }),
            },
          ].slice(-FAQ_WINDOW),
        }
      case "FrequentQuestionFound": {
        const grouped = new Set(event.payload.ticketIds)
        return {
          ...state,
          questions: state.questions.map((q) =>
            grouped.has(q.ticketId) ? { ...q, proposalId: event.payload.proposalId } : q,
          ),
          proposals: [...state.proposals, { proposalId: event.payload.proposalId, proposed: false }],
        }
      }
      case "KnowledgeArticleProposed":
        return {
          ...state,
          proposals: state.proposals.map((p) =>
            p.proposalId === event.payload.proposalId ? { ...p, proposed: true } : p,
          ),
        }
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "NoteResolvedQuestion": {
        if (state.questions.some((q) => q.ticketId === command.ticketId)) return []
        const waiting = new Map(
          state.questions.filter((q) => q.proposalId === null).map((q) => [q.ticketId, q] as const),
        )
        const similar = command.similarTo.flatMap((id) => {
          const q = waiting.get(id)
          return q === undefined ? [] : [q]
        })
        const noted: FaqEvent = {
          type: "ResolvedQuestionNoted",
          payload: {
            tenantId: command.tenantId,
            intent: command.intent,
            ticketId: command.ticketId,
            question: command.question,
            answer: command.answer,
            similarTo: similar.map((q) => q.ticketId),
            ...(command.embedding === undefined ? {} : { embedding: command.embedding }),
          },
        }
        if (similar.length + 1 < command.minTickets) return [noted]
        const group = [
          ...similar,
          { ticketId: command.ticketId, question: command.question, answer: command.answer },
        ]
        return [
          noted,
          {
            type: "FrequentQuestionFound",
            payload: {
              tenantId: command.tenantId,
              intent: command.intent,
              // Named by the ticket that completed the group: a redelivery names the same one.
              proposalId: `faq-${command.ticketId}`.slice(0, 128),
              ticketIds: group.map((q) => q.ticketId),
              questions: group.map((q) => q.question),
              answers: group.map((q) => q.answer),
            },
          },
        ]
      }
      case "RecordProposal": {
        const proposal = state.proposals.find((p) => p.proposalId === command.proposalId)
        if (proposal === undefined) throw new Error(`no frequent question ${command.proposalId}`)
        if (proposal.proposed) return []
        const grouped = state.questions.filter((q) => q.proposalId === command.proposalId)
        if (grouped.length === 0 || state.tenantId === null || state.intent === null)
          throw new Error(`the questions of ${command.proposalId} aged out`)
        return [
          {
            type: "KnowledgeArticleProposed",
            payload: {
              tenantId: state.tenantId,
              intent: state.intent,
              proposalId: command.proposalId,
              title: command.title,
              body: command.body,
              ticketIds: grouped.map((q) => q.ticketId),
              decisionId: command.decisionId,
            },
          },
        ]
      }
    }
  },
}
