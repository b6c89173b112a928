import { describe, expect, it } from "vitest"
import { draftArticleOffline, MAX_ARTICLE_TITLE, questionAskedIn } from "./draftArticle.ts"

// Questions as content ops notes them: the message's subject line, then its body.
const questions = [
  "Mug\nHello, can the stoneware mug go in the microwave?",
  "Microwave\nHi, is your stoneware mug microwave safe?",
  "Mug and microwave\nHello! Can I heat tea in the stoneware mug in the microwave, or will it crack?",
]

describe("questionAskedIn", () => {
  it("finds the sentence that asks, past the subject line and the greeting", () => {
    expect(questions.map(questionAskedIn)).toEqual([
      "Can the stoneware mug go in the microwave?",
      "Is your stoneware mug microwave safe?",
      "Can I heat tea in the stoneware mug in the microwave, or will it crack?",
    ])
  })

  it("takes a question in the subject line, and a statement when nothing is asked", () => {
    expect(questionAskedIn("Is the mug microwave safe?\nThanks, Ana")).toBe("Is the mug microwave safe?")
    expect(questionAskedIn("Microwave\nI would like to know if the mug is microwave safe. Thanks")).toBe(
      "I would like to know if the mug is microwave safe.",
    )
    expect(questionAskedIn("Hello\nwhere is order #123456?")).not.toContain("123456")
  })
})

describe("draftArticleOffline", () => {
  it("titles the article with the plainest question asked, not a subject line, and generalises the last answer", () => {
    const article = draftArticleOffline({
      intent: "product_question",
      questions,
      answers: [
        "Hi,\nYes, it is.\nBest,\nSam",
        "Hi Ben,\nYes: the stoneware mug is safe in the microwave.\nKind regards,\nSam",
      ],
    })
    expect(article).toEqual({
      title: "Is your stoneware mug microwave safe?",
      body: "Yes: the stoneware mug is safe in the microwave.",
    })
  })

  it("cuts a long question to the longest title", () => {
    const long = `Subject\nCan ${"the very large stoneware mug ".repeat(10)}go in the microwave?`
    const { title } = draftArticleOffline({ intent: "other", questions: [long], answers: ["Yes."] })
    expect(title).toHaveLength(MAX_ARTICLE_TITLE)
    expect(title.endsWith("…")).toBe(true)
  })
})
