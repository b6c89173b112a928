import { describe, expect, it } from "vitest"
import { approximateTokens, type ThreadTurn, threadWithinBudget } from "./thread.ts"

const budget = 1_200
const tokensOf = (context: ReturnType<typeof threadWithinBudget>) =>
  approximateTokens(context.summary) + context.recent.reduce((n, t) => n + approximateTokens(t.text) + 2, 0)

// Fifty turns of a long thread: the first names the order, a later one the tracking number and the amount.
const longThread: ReadonlyArray<ThreadTurn> = Array.from({ length: 50 }, (_, i) => {
  if (i === 0)
    return {
      from: "customer",
      text: "Hello, my order O-1001 (a desk lamp) has not arrived yet. Can you check it?",
    }
  if (i === 3)
    return {
      from: "shop",
      text: "It was shipped with DHL, tracking number JD0146000038, total 59.90 EUR, on 2026-11-29.",
    }
  return i % 2 === 0
    ? {
        from: "customer",
        text: `Message ${i}: still waiting, any news about my parcel? ${"I keep checking the door. ".repeat(6)}`,
      }
    : {
        from: "shop",
        text: `Reply ${i}: we are looking into it and will write again soon. ${"Thank you for your patience. ".repeat(4)}`,
      }
})

describe("a thread within the prompt budget", () => {
  it("keeps a 50-message thread within the budget", () => {
    const context = threadWithinBudget(longThread, budget)
    expect(tokensOf(context)).toBeLessThanOrEqual(budget)
    expect(context.summarisedTurns + context.recent.length).toBe(50)
    expect(context.summarisedTurns).toBeGreaterThan(0)
    expect(context.recent.at(-1)?.text).toBe(longThread[49]?.text)
  })

  it("still carries the early facts: the order number, tracking number, amount and date", () => {
    const { summary } = threadWithinBudget(longThread, budget)
    for (const fact of ["O-1001", "JD0146000038", "59.90 EUR", "2026-11-29"]) expect(summary).toContain(fact)
  })

  it("gives a short thread whole, without a summary", () => {
    const context = threadWithinBudget(longThread.slice(0, 3), budget)
    expect(context).toEqual({ summary: "", recent: longThread.slice(0, 3), summarisedTurns: 0 })
  })

  it("cuts a pasted wall of text instead of dropping the rest of the thread", () => {
    const context = threadWithinBudget(
      [
        { from: "customer", text: "x".repeat(50_000) },
        { from: "customer", text: "and where is it now?" },
      ],
      budget,
    )
    expect(context.recent).toHaveLength(2)
    expect(context.recent[0]?.text.endsWith("[cut]")).toBe(true)
    expect(tokensOf(context)).toBeLessThanOrEqual(budget)
  })
})
