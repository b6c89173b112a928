import { describe, expect, it } from "vitest"
import type { CatalogueProduct } from "../memory/products.ts"
import { articleFitsProducts, productsAskedAbout } from "./articleScope.ts"

const catalogue: ReadonlyArray<CatalogueProduct> = [
  { sku: "KIT-001", name: "Charcoal earthenware teapot" },
  { sku: "KIT-002", name: "Slate stoneware serving bowl" },
  { sku: "HOM-001", name: "Charcoal wool cushion cover" },
]

// Articles as the owner's answers become them: the customer's question as the title, her answer as the body.
const cushionCare = {
  title: "Is the charcoal wool cushion cover machine washable?",
  body: "Hello, thank you for asking about the charcoal wool cushion cover. Machine washable at 40 °C.",
}
const teapotCare = {
  title: "Is the charcoal earthenware teapot dishwasher safe?",
  body: "Yes: dishwasher safe and microwave safe.",
}
const returns = { title: "How long do I have to return an item?", body: "30 days from delivery, unused." }

const asked = (message: string, earlier: ReadonlyArray<string> = []) =>
  productsAskedAbout(message, earlier, catalogue)
const fits = (article: { title: string; body: string }, message: string, earlier?: ReadonlyArray<string>) =>
  articleFitsProducts(article, asked(message, earlier), catalogue)

describe("which approved articles fit a message about products", () => {
  it("never cites an article about another product, however alike the questions read", () => {
    const teapot = "Charcoal earthenware teapot\nHello, Is the charcoal earthenware teapot dishwasher safe?"
    expect(fits(cushionCare, teapot)).toBe(false)
    expect(fits(teapotCare, teapot)).toBe(true)
    expect(fits(teapotCare, "Is the glaze on the slate stoneware serving bowl food safe?")).toBe(false)
  })

  it("lets an article that names no product answer any message", () => {
    expect(fits(returns, "Can I still send the charcoal earthenware teapot back?")).toBe(true)
    expect(fits(returns, "How long do I have to return things?")).toBe(true)
  })

  it("gives a message that names no product no product's article, unless its thread named one", () => {
    expect(fits(teapotCare, "Is it dishwasher safe?")).toBe(false)
    expect(
      fits(teapotCare, "Is it dishwasher safe?", ["I just bought the charcoal earthenware teapot."]),
    ).toBe(true)
    // The latest turn that names a product is the one the conversation is about now.
    expect(
      asked("and is it dishwasher safe?", [
        "Is the charcoal wool cushion cover washable?",
        "Thanks. Now about the charcoal earthenware teapot:",
      ]).map((p) => p.sku),
    ).toEqual(["KIT-001"])
  })

  it("cites an article about several products for a message about any of them", () => {
    const both = {
      title: "Charcoal range",
      body: "The charcoal earthenware teapot and the charcoal wool cushion cover share one dye.",
    }
    expect(fits(both, "Does the charcoal wool cushion cover fade?")).toBe(true)
    expect(fits(both, "Does the slate stoneware serving bowl fade?")).toBe(false)
  })
})
