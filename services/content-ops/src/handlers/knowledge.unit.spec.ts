import { describe, expect, it } from "vitest"
import type { TicketRecord } from "../contentLedger.ts"
import { questionAndAnswerOf } from "./knowledge.ts"

// A ticket's events as the customer stream holds them; only what content ops reads of them matters.
let sequence = 0
const recorded = <T extends TicketRecord["type"]>(
  type: T,
  payload: Extract<TicketRecord, { type: T }>["payload"],
): TicketRecord => {
  sequence += 1
  return {
    eventId: `e-${sequence}`,
    type,
    schemaVersion: 1,
    aggregateType: "ticket",
    aggregateId: "tk-1",
    aggregateVersion: sequence,
    occurredAt: "2026-12-01T10:00:00.000Z",
    correlationId: "c-1",
    causationId: null,
    actor: { kind: "agent", id: "customer-ops" },
    payload,
  } as TicketRecord
}

const opened = recorded("TicketOpened", {
  tenantId: "shop",
  customerId: "c-1",
  channel: "email",
  subject: "Mug",
  body: "Hello, can the stoneware mug go in the microwave?",
  orderId: null,
  messageId: "m-1",
})
const triaged = recorded("TicketTriaged", {
  intent: "product_question",
  sentiment: "neutral",
  priority: "normal",
  confidence: 0.96,
  decisionId: "triage-1",
  messageId: "m-1",
})
const personsAnswer = "Yes, the stoneware mug is microwave safe."

describe("questionAndAnswerOf", () => {
  it("pairs the opening question with the answer a person wrote to it and that was sent", () => {
    const thread = [
      opened,
      triaged,
      recorded("ReplyDrafted", { draftId: "reply-1", body: "We will come back to you.", decisionId: "d-1" }),
      recorded("ReplyWrittenByPerson", {
        draftId: "answer-1",
        messageId: "m-1",
        body: personsAnswer,
        author: "sam",
      }),
      recorded("ReplySent", { draftId: "answer-1", actionId: "answer-1", externalRef: "mail-1" }),
      recorded("TicketResolved", { resolution: "answered" }),
    ]
    expect(questionAndAnswerOf(thread)).toEqual({
      tenantId: "shop",
      intent: "product_question",
      question: "Mug\nHello, can the stoneware mug go in the microwave?",
      answer: personsAnswer,
    })
  })

  it("learns nothing from a reply the agent drafted and sent, from an article or to say the team will come back", () => {
    const thread = [
      opened,
      triaged,
      recorded("ReplyDrafted", {
        draftId: "reply-1",
        body: "Thank you for your question.\nYes: the stoneware mug is safe in the microwave.",
        decisionId: "d-1",
        citedFactIds: ["kb-1@v1"],
      }),
      recorded("ReplySent", { draftId: "reply-1", actionId: "reply-1", externalRef: "mail-1" }),
      recorded("TicketResolved", { resolution: "answered" }),
    ]
    expect(questionAndAnswerOf(thread)).toBeNull()
  })

  it("learns nothing from a person's answer that was not sent, or that answered a later message", () => {
    const unsent = [
      opened,
      triaged,
      recorded("ReplyWrittenByPerson", {
        draftId: "answer-1",
        messageId: "m-1",
        body: personsAnswer,
        author: "sam",
      }),
    ]
    expect(questionAndAnswerOf(unsent)).toBeNull()
    const toAFollowUp = [
      opened,
      triaged,
      recorded("ReplyDrafted", { draftId: "reply-1", body: "Yes, it is.", decisionId: "d-1" }),
      recorded("ReplySent", { draftId: "reply-1", actionId: "reply-1", externalRef: "mail-1" }),
      recorded("ReplyWrittenByPerson", {
        draftId: "answer-2",
        messageId: "m-2",
        body: "Your order left our warehouse today.",
        author: "sam",
      }),
      recorded("ReplySent", { draftId: "answer-2", actionId: "answer-2", externalRef: "mail-2" }),
    ]
    expect(questionAndAnswerOf(toAFollowUp)).toBeNull()
  })
})
