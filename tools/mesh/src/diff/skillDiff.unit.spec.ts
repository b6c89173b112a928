import { describe, expect, it } from "vitest"
import { differingFields, type SkillAnswer } from "./skillDiff.ts"

const answer = (output: unknown, outcome = "answered"): SkillAnswer => ({
  skillVersion: 3,
  promptVersion: "triage-3",
  outcome,
  output,
})

describe("where two answers of a skill differ", () => {
  it("names the output's fields that differ, in order, and none when they agree", () => {
    const a = answer({ intent: "refund", confidence: 0.9, notes: ["x"] })
    expect(differingFields(a, answer({ notes: ["x"], confidence: 0.9, intent: "refund" }))).toEqual([])
    expect(differingFields(a, answer({ intent: "complaint", confidence: 0.8, notes: ["x"] }))).toEqual([
      "confidence",
      "intent",
    ])
    // A field one answer leaves out differs from one the other gives.
    expect(differingFields(a, answer({ intent: "refund", confidence: 0.9 }))).toEqual(["notes"])
  })

  it("says outcome when one run decided and the other left it to a person, and agrees on two such", () => {
    expect(differingFields(answer({ intent: "refund" }), answer(null, "needs-human"))).toEqual(["outcome"])
    expect(differingFields(answer(null, "needs-human"), answer(null, "needs-human"))).toEqual([])
    // A fallback that answers the same agrees: the decision is the answer, not who gave it.
    expect(differingFields(answer({ intent: "refund" }), answer({ intent: "refund" }, "fell-back"))).toEqual(
      [],
    )
  })
})
