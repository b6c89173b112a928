import { ActionGate } from "@mesh/actions"
import type { ReactorDefinition } from "@mesh/kernel"
import { Effect } from "effect"
import { cleanUntrusted, isManipulation } from "../guardrails/index.ts"
import { articleIdOfAnswer, articleIdOfTitle, type KnowledgeCommand } from "../knowledge/knowledge.ts"
import { KnowledgeBase } from "../knowledge/knowledgeBase.ts"
import { firstSentence } from "../memory/thread.ts"
import { TicketThreads } from "../ticketThreads.ts"
import type { CustomerOpsDefs } from "./catalog.ts"

const toArticle = (articleId: string, commands: ReadonlyArray<KnowledgeCommand>) =>
  commands.map((command) => ({ aggregateType: "knowledge", aggregateId: articleId, command }))

/** The draft id of a reply a person writes to a ticket's message, which is also its send action's id. */
export const personsReplyId = (ticketId: string, contact: number): string => `answer-${ticketId}-m${contact}`

/** A reply a person wrote is sent for them, through the gate like any reply. */
export const sendPersonsReplies = (options: {
  readonly agent: string
}): ReactorDefinition<CustomerOpsDefs, unknown, TicketThreads | ActionGate> => ({
  name: "customer-ops-persons-replies",
  consumes: { domain: "customer" },
  eventTypes: ["ReplyWrittenByPerson"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "ReplyWrittenByPerson") return []
      const thread = yield* (yield* TicketThreads).load(event.aggregateId)
      const opening = thread.find((e) => e.type === "TicketOpened")
      if (opening?.type !== "TicketOpened") return []
      const message = thread.find(
        (e) =>
          (e.type === "TicketOpened" && (e.payload.messageId ?? "first") === event.payload.messageId) ||
          (e.type === "TicketMessageReceived" && e.payload.messageId === event.payload.messageId),
      )
      const subject =
        message?.type === "TicketOpened" || message?.type === "TicketMessageReceived"
          ? message.payload.subject
          : ""
      yield* (yield* ActionGate).request({
        actionId: event.payload.draftId,
        agent: options.agent,
        skill: "personsReply",
        kind: "mailbox.send-message",
        parameters: {
          to: opening.payload.replyTo ?? opening.payload.customerId,
          subject: subject.trim().length > 0 ? `Re: ${subject.trim()}` : "Re: your message",
          body: event.payload.body,
          inReplyTo: event.payload.messageId,
        },
        cause: { decisionId: null, eventId: event.eventId },
        confidence: null,
        // A person wrote it: the model's signals do not apply.
        sentiment: "neutral",
        firstTimeSupplier: null,
        correlationId: event.correlationId,
        causationId: event.eventId,
      })
      return []
    }),
})

/**
 * Memory that compounds: a ticket a person answered becomes a knowledge draft (the customer's
 * question, cleaned, and the person's answer), one per distinct answer: the same answer given on
 * another ticket drafts nothing new. It is only a draft: a person approves it before a reply sent
 * on its own may cite it.
 */
export const proposeKnowledge: ReactorDefinition<CustomerOpsDefs, unknown, TicketThreads> = {
  name: "customer-ops-propose-knowledge",
  consumes: { domain: "customer" },
  eventTypes: ["ReplySent"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "ReplySent" || !event.payload.draftId.startsWith("answer-")) return []
      // The whole ticket, a triage that landed after the reply included: the article's intent is
      // better known late than filed as "other" (a replay appends nothing here: the draft's
      // command is already handled).
      const thread = yield* (yield* TicketThreads).load(event.aggregateId)
      const written = thread.find(
        (e) => e.type === "ReplyWrittenByPerson" && e.payload.draftId === event.payload.draftId,
      )
      const opening = thread.find((e) => e.type === "TicketOpened")
      if (written?.type !== "ReplyWrittenByPerson" || opening?.type !== "TicketOpened") return []
      const { messageId } = written.payload
      const question = thread.find(
        (e) =>
          (e.type === "TicketOpened" && (e.payload.messageId ?? "first") === messageId) ||
          (e.type === "TicketMessageReceived" && e.payload.messageId === messageId),
      )
      if (question?.type !== "TicketOpened" && question?.type !== "TicketMessageReceived") return []
      const triaged = thread.find((e) => e.type === "TicketTriaged" && e.payload.messageId === messageId)
      const asked = cleanUntrusted(question.payload.body).text
      const answer = cleanUntrusted(written.payload.body).text
      const articleId = articleIdOfAnswer(opening.payload.tenantId, answer)
      return toArticle(articleId, [
        {
          _tag: "DraftKnowledge",
          articleId,
          tenantId: opening.payload.tenantId,
          title: firstSentence(asked, 140),
          body: answer,
          intent: triaged?.type === "TicketTriaged" ? triaged.payload.intent : "other",
          source: { _tag: "Ticket", ticketId: event.aggregateId, author: written.payload.author },
        },
      ])
    }),
}

/**
 * An article content ops proposed for a question resolved tickets asked again and again becomes a
 * knowledge draft here, where knowledge lives: cleaned like any text from outside, checked and
 * offered to a person like any draft, and citable only once approved.
 */
export const draftProposedKnowledge: ReactorDefinition<CustomerOpsDefs, unknown, never> = {
  name: "customer-ops-proposed-knowledge",
  consumes: { domain: "content" },
  eventTypes: ["KnowledgeArticleProposed"],
  react: (event) =>
    Effect.sync(() => {
      if (event.type !== "KnowledgeArticleProposed") return []
      const p = event.payload
      const title = cleanUntrusted(p.title).text.trim()
      const body = cleanUntrusted(p.body).text.trim()
      if (title === "" || body === "") return []
      const articleId = articleIdOfTitle(p.tenantId, title)
      return toArticle(articleId, [
        {
          _tag: "DraftKnowledge",
          articleId,
          tenantId: p.tenantId,
          title,
          body,
          intent: p.intent,
          source: {
            _tag: "Proposal",
            proposedBy: event.actor.id,
            proposalId: p.proposalId,
            ticketIds: p.ticketIds,
            decisionId: p.decisionId,
          },
        },
      ])
    }),
}

/**
 * A knowledge draft is checked, then offered to a person: an article that tries to steer the agent
 * (an instruction, a fake notice, a hidden one) is refused with the reason; any other waits in the
 * approvals queue as a publish action with its exact text, and only its approval makes it citable.
 */
export const offerKnowledge = (options: {
  readonly agent: string
}): ReactorDefinition<CustomerOpsDefs, unknown, ActionGate> => ({
  name: "customer-ops-offer-knowledge",
  consumes: { domain: "customer" },
  eventTypes: ["KnowledgeDrafted"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "KnowledgeDrafted") return []
      const { version, title, body } = event.payload
      const findings = [...cleanUntrusted(title).findings, ...cleanUntrusted(body).findings]
      if (isManipulation(findings)) {
        return toArticle(event.aggregateId, [
          {
            _tag: "RefuseKnowledge",
            version,
            reason: `the article tries to steer the agent: ${findings.map((f) => f.detail).join("; ")}`,
            findings: [...new Set(findings.map((f) => f.code))],
          },
        ])
      }
      yield* (yield* ActionGate).request({
        actionId: event.payload.actionId,
        agent: options.agent,
        skill: "proposeKnowledge",
        kind: "knowledge.publish",
        parameters: { articleId: event.aggregateId, version, title, body, intent: event.payload.intent },
        cause: { decisionId: null, eventId: event.eventId },
        confidence: null,
        sentiment: null,
        firstTimeSupplier: null,
        correlationId: event.correlationId,
        causationId: event.eventId,
      })
      return []
    }),
})

/** Approved versions enter long-term memory, retired articles go stale there. */
export const rememberKnowledge: ReactorDefinition<CustomerOpsDefs, unknown, KnowledgeBase> = {
  name: "customer-ops-remember-knowledge",
  consumes: { domain: "customer" },
  eventTypes: ["KnowledgeApproved", "KnowledgeRetired"],
  react: (event, cause) =>
    Effect.gen(function* () {
      if (event.type !== "KnowledgeApproved" && event.type !== "KnowledgeRetired") return []
      yield* (yield* KnowledgeBase).remember(event, cause)
      return []
    }),
}
