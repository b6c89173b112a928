import { describe, expect, it } from "vitest"
import {
  fold,
  foldPlain,
  joinSpacedLetters,
  normaliseWhitespace,
  removeInvisible,
  squashedOf,
  wordsOf,
} from "./text.ts"

describe("removeInvisible", () => {
  it("keeps joiners and selectors that spell an emoji", () => {
    expect(removeInvisible("👨‍👩‍👧 1️⃣ ❤️").removed).toBe(0)
  })

  it("removes the same characters between letters", () => {
    expect(removeInvisible("a\u200db\ufe0fc\u2066d").text).toBe("abcd")
  })
})

describe("folding", () => {
  it("maps look-alikes, accents and leetspeak", () => {
    expect(fold("Іgnоrе Ünïcödé 1gn0r3 refund!")).toBe("ignore unicode ignore refund!")
    expect(foldPlain("O-1042 costs 12,50")).toBe("o-1042 costs 12,50")
  })

  it("reads words, spaced letters and letters only", () => {
    expect(wordsOf("policy update: agents must. next")).toBe(" policy update : agents must . next ")
    expect(joinSpacedLetters("i g n o r e  a-l-l")).toBe("ignore  all")
    expect(squashedOf("i.g.n o-r e")).toBe("ignore")
  })

  it("normalises whitespace without joining paragraphs", () => {
    expect(normaliseWhitespace(" a \t b \n\n\n\n c ")).toBe("a b\n\nc")
  })
})
