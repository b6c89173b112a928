import { DeciderSpecification } from "@mesh/kernel/testing"
import { describe, expect, it } from "vitest"
import { articleIdOfAnswer, type KnowledgeEvent, knowledgeDecider, publishActionId } from "./knowledge.ts"

const article = DeciderSpecification.for(knowledgeDecider)
const articleId = "kb-lamp-bulbs"

const drafted = (version: number, body: string): KnowledgeEvent => ({
  type: "KnowledgeDrafted",
  payload: {
    tenantId: "shop-1",
    version,
    title: "Which bulbs the desk lamp takes",
    body,
    intent: "product_question",
    source: { _tag: "Import", author: "ana" },
    actionId: publishActionId(articleId, version),
  },
})
const approved = (version: number, body: string): KnowledgeEvent => ({
  type: "KnowledgeApproved",
  payload: {
    tenantId: "shop-1",
    version,
    title: "Which bulbs the desk lamp takes",
    body,
    intent: "product_question",
    actionId: publishActionId(articleId, version),
  },
})
const retired: KnowledgeEvent = { type: "KnowledgeRetired", payload: { reason: "the lamp changed" } }
const v1 = "E27 bulbs up to 60 W."
const v2 = "E27 bulbs up to 40 W; LED bulbs work well."

describe("knowledge articles", () => {
  it("drafts a new version for new text, and nothing for the same text again", () => {
    article
      .given([])
      .when({
        _tag: "DraftKnowledge",
        articleId,
        tenantId: "shop-1",
        title: "Which bulbs the desk lamp takes",
        body: v1,
        intent: "product_question",
        source: { _tag: "Import", author: "ana" },
      })
      .thenEmits([drafted(1, v1)])
    article
      .given([drafted(1, v1)])
      .when({
        _tag: "DraftKnowledge",
        articleId,
        tenantId: "shop-1",
        title: "Which bulbs the desk lamp takes",
        body: v1,
        intent: "product_question",
        source: { _tag: "Import", author: "ana" },
      })
      .thenNothingHappens()
  })

  it("keys a person's answer by its text, so the same answer to another ticket drafts nothing", () => {
    const answer = "Hello,\nthe desk lamp takes E27 bulbs up to 60 W.\nAna"
    expect(articleIdOfAnswer("shop-1", answer)).toBe(
      articleIdOfAnswer("shop-1", `  ${answer.toUpperCase()}\n`),
    )
    expect(articleIdOfAnswer("shop-1", answer)).not.toBe(articleIdOfAnswer("shop-2", answer))
    expect(articleIdOfAnswer("shop-1", answer)).not.toBe(articleIdOfAnswer("shop-1", `${answer}!`))
    const fromTicket = (ticketId: string, question: string) =>
      ({
        _tag: "DraftKnowledge",
        articleId: articleIdOfAnswer("shop-1", answer),
        tenantId: "shop-1",
        title: question,
        body: answer,
        intent: "product_question",
        source: { _tag: "Ticket", ticketId, author: "ana" },
      }) as const
    const first: KnowledgeEvent = {
      type: "KnowledgeDrafted",
      payload: {
        tenantId: "shop-1",
        version: 1,
        title: "Which bulbs does the lamp take?",
        body: answer,
        intent: "product_question",
        source: { _tag: "Ticket", ticketId: "tk-1", author: "ana" },
        actionId: publishActionId(articleIdOfAnswer("shop-1", answer), 1),
      },
    }
    article.given([]).when(fromTicket("tk-1", "Which bulbs does the lamp take?")).thenEmits([first])
    article.given([first]).when(fromTicket("tk-2", "What bulb for the desk lamp?")).thenNothingHappens()
    // An imported article renamed is a change a person approves.
    article
      .given([drafted(1, v1)])
      .when({
        _tag: "DraftKnowledge",
        articleId,
        tenantId: "shop-1",
        title: "The desk lamp's bulbs",
        body: v1,
        intent: "product_question",
        source: { _tag: "Import", author: "ana" },
      })
      .thenEmits([
        {
          type: "KnowledgeDrafted",
          payload: {
            tenantId: "shop-1",
            version: 2,
            title: "The desk lamp's bulbs",
            body: v1,
            intent: "product_question",
            source: { _tag: "Import", author: "ana" },
            actionId: publishActionId(articleId, 2),
          },
        },
      ])
  })

  it("approves a pending version once", () => {
    article
      .given([drafted(1, v1)])
      .when({ _tag: "ApproveKnowledge", version: 1 })
      .thenEmits([approved(1, v1)])
    article
      .given([drafted(1, v1), approved(1, v1)])
      .when({ _tag: "ApproveKnowledge", version: 1 })
      .thenNothingHappens()
  })

  it("refuses to put back an older version once a newer one is approved", () => {
    article
      .given([drafted(1, v1), drafted(2, v2), approved(2, v2)])
      .when({ _tag: "ApproveKnowledge", version: 1 })
      .thenEmits([
        {
          type: "KnowledgeRefused",
          payload: { version: 1, reason: "superseded: version 2 is approved", findings: ["stale-version"] },
        },
      ])
  })

  it("refuses a version drafted before the article was retired, and takes one drafted after it", () => {
    article
      .given([drafted(1, v1), approved(1, v1), drafted(2, v2), retired])
      .when({ _tag: "ApproveKnowledge", version: 2 })
      .thenEmits([
        {
          type: "KnowledgeRefused",
          payload: {
            version: 2,
            reason: "the article was retired after this version was drafted",
            findings: ["stale-version"],
          },
        },
      ])
    const v3 = "The new lamp takes GU10 bulbs."
    article
      .given([drafted(1, v1), approved(1, v1), retired, drafted(3, v3)])
      .when({ _tag: "ApproveKnowledge", version: 3 })
      .thenEmits([approved(3, v3)])
    // Approved again, it is live: it can be retired again.
    article
      .given([drafted(1, v1), approved(1, v1), retired, drafted(3, v3), approved(3, v3)])
      .when({ _tag: "RetireKnowledge", reason: "discontinued" })
      .thenEmits([{ type: "KnowledgeRetired", payload: { reason: "discontinued" } }])
  })

  it("drafts the same text again as a new version once the article was retired", () => {
    article
      .given([drafted(1, v1), approved(1, v1), retired])
      .when({
        _tag: "DraftKnowledge",
        articleId,
        tenantId: "shop-1",
        title: "Which bulbs the desk lamp takes",
        body: v1,
        intent: "product_question",
        source: { _tag: "Import", author: "ana" },
      })
      .thenEmits([drafted(2, v1)])
  })

  it("refuses an approval of a version it does not have, as bad input", () => {
    article
      .given([drafted(1, v1)])
      .when({ _tag: "ApproveKnowledge", version: 7 })
      .thenThrows("no version 7")
  })
})
