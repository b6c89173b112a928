import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { sortInBackground, sortMessageOffline, sortMessagesBatch } from "../testing/sampleSkill.ts"
import { defineBatchSkill, itemInvocationOf } from "./batch.ts"
import { encodeSkillInput, type SkillInvocation, validateSkillOutput } from "./skill.ts"

const messages = [
  { subject: "Refund", body: "I want my money back." },
  { subject: "Parcel", body: "Where is my parcel?" },
  { subject: "???", body: "!!!" },
]

const batchRun = (answers: ReadonlyArray<unknown> | null): SkillInvocation => ({
  skill: sortMessagesBatch.name,
  skillVersion: sortMessagesBatch.version,
  promptVersion: sortMessagesBatch.promptVersion,
  outcome: answers === null ? "needs-human" : "answered",
  provider: answers === null ? null : "ollama",
  model: answers === null ? null : "llama3.2:3b",
  promptHash: "a".repeat(64),
  input: encodeSkillInput(sortMessagesBatch, { items: messages }),
  prompt: sortMessagesBatch.template({ items: messages }),
  rawOutput: answers === null ? null : JSON.stringify({ answers }),
  output: answers === null ? null : { answers },
  attempts: [
    {
      attempt: 1,
      provider: "ollama",
      model: "llama3.2:3b",
      result: answers === null ? "model-error" : "valid",
      detail: null,
      rawOutput: null,
      promptTokens: 100,
      completionTokens: 31,
      latencyMs: 900,
    },
  ],
  fallbackReason: answers === null ? "the model failed twice" : null,
  promptTokens: 100,
  completionTokens: 31,
  latencyMs: 900,
  overBudget: false,
  costUsd: 0.003,
})

describe("a batch of a skill", () => {
  it("is valid only with one answer per input, each passing the item skill's own check", () => {
    const answers = messages.map(sortMessageOffline)
    const raw = (a: unknown) => JSON.stringify({ answers: a })
    expect(Result.isSuccess(validateSkillOutput(sortMessagesBatch, { items: messages }, raw(answers)))).toBe(
      true,
    )
    const short = validateSkillOutput(sortMessagesBatch, { items: messages }, raw(answers.slice(1)))
    expect(Result.isFailure(short) && short.failure).toMatch(/2 answers for 3 inputs/)
    // Urgent without a reason fails the item skill's check, named by its place.
    const wrong = [answers[0], { ...answers[1], urgent: true, reason: null }, answers[2]]
    const failed = validateSkillOutput(sortMessagesBatch, { items: messages }, raw(wrong))
    expect(Result.isFailure(failed) && failed.failure).toMatch(/answer 2: urgent without a reason/)
    expect(() =>
      defineBatchSkill(sortInBackground, {
        promptVersion: "sort-batch-1",
        template: () => sortMessagesBatch.template({ items: messages }),
        maxItems: 1,
      }),
    ).toThrow(/at least 2/)
  })

  it("is answered offline by answering each input", () => {
    expect(sortMessagesBatch.offline?.({ items: messages })).toEqual({
      answers: messages.map(sortMessageOffline),
    })
  })

  it("gives each input its own answer, its share of the tokens and cost, and the whole call's prompt", () => {
    const answers = messages.map(sortMessageOffline)
    const run = batchRun(answers)
    const parts = messages.map((_, index) => itemInvocationOf(sortMessagesBatch, run, messages, index))
    expect(parts.map((p) => p.promptTokens)).toEqual([34, 33, 33])
    expect(parts.map((p) => p.completionTokens)).toEqual([11, 10, 10])
    expect(parts.reduce((sum, p) => sum + (p.attempts[0]?.promptTokens ?? 0), 0)).toBe(100)
    expect(parts.reduce((sum, p) => sum + p.costUsd, 0)).toBeCloseTo(0.003, 12)
    for (const [index, part] of parts.entries()) {
      expect(part).toMatchObject({
        skill: sortInBackground.name,
        skillVersion: sortInBackground.version,
        promptVersion: sortInBackground.promptVersion,
        input: messages[index],
        prompt: run.prompt,
        promptHash: run.promptHash,
        latencyMs: 900,
      })
    }
    expect(parts[0]).toMatchObject({ outcome: "answered", output: answers[0] })
    // The third message has no words: the item skill abstains on it alone, and a person decides it.
    expect(parts[2]).toMatchObject({ outcome: "needs-human", output: null })
    expect(parts[2]?.fallbackReason).toMatch(/abstained: the message has no words/)
  })

  it("leaves every input to a person when the batch went to one", () => {
    const part = itemInvocationOf(sortMessagesBatch, batchRun(null), messages, 1)
    expect(part).toMatchObject({
      outcome: "needs-human",
      output: null,
      fallbackReason: "the model failed twice",
    })
  })
})
