import { meshCatalog } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import { comparedFieldsOf, decidedOtherwise } from "./decidedOtherwise.ts"

const reserved = (units: number, lines: ReadonlyArray<string>) => ({
  type: "StockReserved",
  payload: { units, order: { id: "o-1", lines } },
})

describe("decidedOtherwise", () => {
  it("finds nothing when the same events are decided, whatever the key order", () => {
    const recorded = [{ type: "StockReserved", payload: { order: { lines: ["a"], id: "o-1" }, units: 2 } }]
    expect(decidedOtherwise(recorded, [reserved(2, ["a"])])).toBeUndefined()
    expect(decidedOtherwise([], [])).toBeUndefined()
  })

  it("names the events when their types or number differ", () => {
    expect(decidedOtherwise([reserved(2, ["a"])], [])).toEqual({
      recorded: ["StockReserved"],
      now: [],
      difference: 'recorded ["StockReserved"], now []',
    })
    expect(
      decidedOtherwise([reserved(2, ["a"])], [{ type: "StockBackordered", payload: {} }])?.difference,
    ).toBe('recorded ["StockReserved"], now ["StockBackordered"]')
  })

  it("names the first field that differs, by its path, with both values", () => {
    expect(decidedOtherwise([reserved(2, ["a"])], [reserved(3, ["a"])])?.difference).toBe(
      "StockReserved units: recorded 2, now 3",
    )
    expect(decidedOtherwise([reserved(2, ["a", "b"])], [reserved(2, ["a", "c"])])?.difference).toBe(
      'StockReserved order.lines[1]: recorded "b", now "c"',
    )
    // A field only one side has.
    expect(
      decidedOtherwise(
        [{ type: "Noted", payload: { a: 1 } }],
        [{ type: "Noted", payload: { a: 1, reason: "late" } }],
      )?.difference,
    ).toBe('Noted reason: recorded nothing, now "late"')
  })

  it("says when the decider now refuses the command", () => {
    expect(decidedOtherwise([reserved(2, ["a"])], { refused: "the order is closed" })).toEqual({
      recorded: ["StockReserved"],
      now: null,
      difference: "now refused: the order is closed",
    })
  })

  it("shortens long values", () => {
    const long = "x".repeat(200)
    const found = decidedOtherwise(
      [{ type: "Noted", payload: { body: long } }],
      [{ type: "Noted", payload: { body: "short" } }],
    )
    expect(found?.difference).toBe(`Noted body: recorded "${"x".repeat(76)}..., now "short"`)
  })

  describe("with the fields the catalogue marks", () => {
    const fieldsOf = comparedFieldsOf(meshCatalog)
    const noted = (
      question: string,
      embedding?: { model: string; latencyMs: number },
      similarTo = ["t-1"],
    ) => ({
      type: "ResolvedQuestionNoted",
      payload: {
        tenantId: "shop",
        intent: "product_question",
        ticketId: "t-9",
        question,
        answer: "It ships in a week.",
        similarTo,
        ...(embedding === undefined ? {} : { embedding }),
      },
    })

    it("does not compare a record of how the decision was carried out (the embedding call and its time)", () => {
      expect(
        decidedOtherwise(
          [noted("When?", { model: "nomic", latencyMs: 41 })],
          [noted("When?", { model: "nomic", latencyMs: 7 })],
          fieldsOf,
        ),
      ).toBeUndefined()
      // What was decided still counts: the similar questions found.
      expect(
        decidedOtherwise(
          [noted("When?", { model: "nomic", latencyMs: 41 }, ["t-1"])],
          [noted("When?", { model: "nomic", latencyMs: 7 }, ["t-1", "t-4"])],
          fieldsOf,
        )?.difference,
      ).toBe('ResolvedQuestionNoted similarTo[1]: recorded nothing, now "t-4"')
      // Nor whether the call was needed this time (its vectors may have been at hand).
      expect(
        decidedOtherwise([noted("When?")], [noted("When?", { model: "nomic", latencyMs: 7 })], fieldsOf),
      ).toBeUndefined()
    })

    it("names a personal field that differs without showing what the customer wrote", () => {
      const found = decidedOtherwise([noted("Is my card number 4111 safe?")], [noted("When?")], fieldsOf)
      expect(found?.difference).toBe("ResolvedQuestionNoted question: differs (personal data, not shown)")
      expect(found?.difference).not.toContain("4111")
      // A value holding personal fields (a whole event payload one side lacks) is not shown either.
      const whole = decidedOtherwise(
        [{ type: "ResolvedQuestionNoted", payload: "Is my card number 4111 safe?" }],
        [noted("When?")],
        fieldsOf,
      )
      expect(whole?.difference).toBe("ResolvedQuestionNoted: differs (personal data, not shown)")
    })
  })
})
