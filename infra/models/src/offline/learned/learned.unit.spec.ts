import { describe, expect, it } from "vitest"
import { featurize, foldText, wordsOf } from "./features.ts"
import {
  argmax,
  loadHead,
  packHeads,
  predictHead,
  predictPacked,
  storeHead,
  trainHead,
} from "./linearModel.ts"

describe("features", () => {
  it("fold accents, umlauts, repeated letters and numbers the way customers vary them", () => {
    expect(foldText("Rückerstattung")).toBe(foldText("Rueckerstattung"))
    expect(foldText("remboursé")).toBe("rembourse")
    expect(foldText("Straße")).toBe("strasse")
    expect(foldText("sooooo late!!!")).toBe("soo late!!!")
    expect(foldText("order 48213, €12.50")).toBe("order 0, €0")
  })

  it("keep question and exclamation marks as words, in every script of them", () => {
    expect(wordsOf(foldText("¿Dónde está mi pedido?"))).toEqual(["?", "donde", "esta", "mi", "pedido", "?"])
    expect(wordsOf(foldText("Nul !!!"))).toEqual(["nul", "!"])
  })

  it("give a unit-length vector that does not depend on accents", () => {
    const a = featurize("Où est mon colis ? Je l'attends depuis une semaine.")
    const b = featurize("Ou est mon colis ? Je l'attends depuis une semaine.")
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices))
    const norm = Math.sqrt(a.values.reduce((s, v) => s + v * v, 0))
    expect(norm).toBeCloseTo(1, 5)
    expect(featurize("").indices).toHaveLength(0)
  })
})

describe("linear heads", () => {
  const examples = [
    ["where is my parcel", 0],
    ["tracking says in transit", 0],
    ["when will my order arrive", 0],
    ["i want my money back", 1],
    ["please refund the jacket", 1],
    ["refund me for the broken mug", 1],
  ].map(([text, label]) => ({ features: featurize(text as string), label: label as number }))

  it("learn a separable task, and train the same weights every time", () => {
    const a = trainHead(["where", "refund"], examples, 1 << 16)
    const b = trainHead(["where", "refund"], examples, 1 << 16)
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights))
    expect(argmax(predictHead(a, featurize("has my parcel left yet"))).index).toBe(0)
    expect(argmax(predictHead(a, featurize("money back please"))).index).toBe(1)
  })

  it("give the same probabilities packed side by side as one by one", () => {
    const where = trainHead(["where", "refund"], examples, 1 << 16)
    const three = trainHead(
      ["a", "b", "c"],
      examples.map((e, i) => ({ ...e, label: i % 3 })),
      1 << 16,
    )
    const packed = packHeads([three, where])
    for (const text of ["where is it", "refund please", ""]) {
      const [a, b] = predictPacked(packed, featurize(text))
      expect(Array.from(a!)).toEqual(Array.from(predictHead(three, featurize(text))))
      expect(Array.from(b!)).toEqual(Array.from(predictHead(where, featurize(text))))
    }
  })

  it("predict the same after storing and loading, within the quantisation step", () => {
    const head = trainHead(["where", "refund"], examples, 1 << 16)
    const loaded = loadHead(JSON.parse(JSON.stringify(storeHead(head))))
    for (const text of ["where is it", "refund please", "something else entirely"]) {
      const p = predictHead(head, featurize(text))
      const q = predictHead(loaded, featurize(text))
      expect(Math.abs(p[0]! - q[0]!)).toBeLessThan(0.01)
    }
  })
})
