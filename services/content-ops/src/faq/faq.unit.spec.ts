import { DeciderSpecification } from "@mesh/kernel/testing"
import { describe, expect, it } from "vitest"
import { draftArticleOffline, generalise } from "../skills/draftArticle.ts"
import { faqDecider } from "./faq.ts"

const faq = DeciderSpecification.for(faqDecider)

const noted = (ticketId: string, similarTo: ReadonlyArray<string> = []) => ({
  type: "ResolvedQuestionNoted" as const,
  payload: {
    tenantId: "shop",
    intent: "product_question" as const,
    ticketId,
    question: `question of ${ticketId}`,
    answer: `answer to ${ticketId}`,
    similarTo,
  },
})
const note = (ticketId: string, similarTo: ReadonlyArray<string>) => ({
  _tag: "NoteResolvedQuestion" as const,
  tenantId: "shop",
  intent: "product_question" as const,
  ticketId,
  question: `question of ${ticketId}`,
  answer: `answer to ${ticketId}`,
  similarTo,
  minTickets: 3,
})
const found = {
  type: "FrequentQuestionFound" as const,
  payload: {
    tenantId: "shop",
    intent: "product_question" as const,
    proposalId: "faq-t3",
    ticketIds: ["t1", "t2", "t3"],
    questions: ["question of t1", "question of t2", "question of t3"],
    answers: ["answer to t1", "answer to t2", "answer to t3"],
  },
}

describe("a tenant's frequent questions", () => {
  it("finds a frequent question once enough resolved tickets ask the same", () => {
    faq
      .given([noted("t1")])
      .when(note("t2", ["t1"]))
      .thenEmits([noted("t2", ["t1"])])
    faq
      .given([noted("t1"), noted("t2", ["t1"])])
      .when(note("t3", ["t1", "t2"]))
      .thenEmits([noted("t3", ["t1", "t2"]), found])
  })

  it("records the embedding call that compared the question, and keeps what each note found", () => {
    const embedding = { model: "offline-sentence-encoder", latencyMs: 42 }
    faq
      .given([noted("t1")])
      .when({ ...note("t2", ["t1"]), embedding })
      .thenEmits([{ ...noted("t2", ["t1"]), payload: { ...noted("t2", ["t1"]).payload, embedding } }])
    // A note the reaction can send again, as it was, without asking the model.
    const state = [
      noted("t1"),
      { ...noted("t2", ["t1"]), payload: { ...noted("t2", ["t1"]).payload, embedding } },
    ].reduce(faqDecider.evolve, faqDecider.initialState())
    expect(state.questions.map((q) => [q.ticketId, q.similarTo, q.embedding])).toEqual([
      ["t1", [], undefined],
      ["t2", ["t1"], embedding],
    ])
  })

  it("never puts a question in two proposals, nor notes a ticket twice", () => {
    const before = [noted("t1"), noted("t2", ["t1"]), noted("t3", ["t1", "t2"]), found]
    faq
      .given(before)
      .when(note("t4", ["t1", "t2", "t3"]))
      .thenEmits([noted("t4", [])])
    faq
      .given(before)
      .when(note("t3", ["t1"]))
      .thenNothingHappens()
  })

  it("proposes the drafted article once, naming the tickets it came from", () => {
    const before = [noted("t1"), noted("t2", ["t1"]), noted("t3", ["t1", "t2"]), found]
    const proposal = {
      _tag: "RecordProposal" as const,
      proposalId: "faq-t3",
      title: "Q?",
      body: "A.",
      decisionId: "d-1",
    }
    const proposed = {
      type: "KnowledgeArticleProposed" as const,
      payload: {
        tenantId: "shop",
        intent: "product_question" as const,
        proposalId: "faq-t3",
        title: "Q?",
        body: "A.",
        ticketIds: ["t1", "t2", "t3"],
        decisionId: "d-1",
      },
    }
    faq.given(before).when(proposal).thenEmits([proposed])
    faq
      .given([...before, proposed])
      .when(proposal)
      .thenNothingHappens()
    faq
      .given([noted("t1")])
      .when(proposal)
      .thenThrows()
  })
})

describe("the offline article draft", () => {
  it("answers for any customer: no greeting, sign-off or order number", () => {
    expect(
      generalise(
        "Hi Ana,\nWe ship to Austria in 3-5 working days; order 123456 left today.\n\nBest regards,\nTom",
      ),
    ).toBe("We ship to Austria in 3-5 working days; your order left today.")
    expect(
      draftArticleOffline({
        intent: "product_question",
        questions: ["Hello! Do you ship to Austria? My order is 88812.", "Do you ship to Austria?"],
        answers: [
          "Hi Ben, yes: 3-5 days.",
          "Dear Eva, yes, we ship to Austria in 3-5 working days.\nThanks, Tom",
        ],
      }),
    ).toEqual({ title: "Do you ship to Austria?", body: "Yes, we ship to Austria in 3-5 working days." })
  })
})
