import { describe, expect, it } from "vitest"
import { asksAboutStock, type CatalogueProduct, MAX_PRODUCTS_NAMED, productsNamedIn } from "./products.ts"

const catalogue: ReadonlyArray<CatalogueProduct> = [
  { sku: "KIT-001", name: "Blue stoneware mug" },
  { sku: "KIT-002", name: "Blue porcelain mug" },
  { sku: "KIT-003", name: "Green earthenware teapot" },
  { sku: "HOM-001", name: "Natural linen tablecloth" },
  { sku: "HOM-002", name: "Grey wool throw blanket" },
  { sku: "MUG", name: "Mug" },
]

const skusNamedIn = (text: string) => productsNamedIn(text, catalogue).map((p) => p.sku)

describe("the products a customer's message names", () => {
  it("finds a product by every word of its name, in any case, order and number", () => {
    expect(skusNamedIn("When will the blue stoneware mug be back in stock?")).toEqual(["KIT-001"])
    expect(skusNamedIn("Do you still sell BLUE STONEWARE MUGS?")).toEqual(["KIT-001"])
    expect(skusNamedIn("the teapot, green, earthenware: sold out?")).toEqual(["KIT-003"])
    expect(skusNamedIn("Ist das Produkt Natural linen tablecloth wieder da?")).toEqual(["HOM-001"])
  })

  it("prefers the longer name that contains a shorter one", () => {
    // "Mug" is a product too, but the message names the blue stoneware one.
    expect(skusNamedIn("is the blue stoneware mug in stock")).toEqual(["KIT-001"])
    expect(skusNamedIn("is the mug in stock")).toEqual(["MUG"])
  })

  it("finds a product by its SKU as a whole token", () => {
    expect(skusNamedIn("Is KIT-003 available again soon?")).toEqual(["KIT-003"])
    expect(skusNamedIn("Is KIT-0031 available again soon?")).toEqual([])
  })

  it("takes a partly named product only when it is the one best match", () => {
    // Two of three words of one product, and no other that close.
    expect(skusNamedIn("is the grey wool blanket back?")).toEqual(["HOM-002"])
    expect(skusNamedIn("when is the green teapot back?")).toEqual(["KIT-003"])
    // "blue mug" is two thirds of two products: which one is not clear, so neither.
    expect(skusNamedIn("when is the blue mug back?")).toEqual([])
    // One word of a name is not a product.
    expect(skusNamedIn("is the linen soft?")).toEqual([])
  })

  it("names several products, but not a list longer than a question about them", () => {
    expect(skusNamedIn("the blue stoneware mug and the green earthenware teapot")).toEqual([
      "KIT-001",
      "KIT-003",
    ])
    const everything = catalogue
      .slice(0, MAX_PRODUCTS_NAMED + 1)
      .map((p) => p.name)
      .join(", ")
    expect(skusNamedIn(everything)).toEqual([])
  })

  it("names nothing in a message about no product, or from an empty catalogue", () => {
    expect(skusNamedIn("Where is my order 1001?")).toEqual([])
    expect(productsNamedIn("the blue stoneware mug", [])).toEqual([])
  })
})

describe("a question about stock", () => {
  it("is read in each language the shop serves", () => {
    for (const text of [
      "When will the mug be back in stock?",
      "Hi, the teapot shows as sold out. Do you know when you will have it again?",
      "Is the blanket out of stock for good?",
      "Will you restock the linen tablecloth?",
      "When will it be available again?",
      "Wann ist die Tasse wieder verfügbar?",
      "Die Teekanne ist ausverkauft, kommt sie wieder?",
      "Haben Sie die Decke noch auf Lager?",
      "Quand la théière sera-t-elle de nouveau disponible ?",
      "Le mug est épuisé, quand revient-il en stock ?",
      "¿Cuándo volverá a estar disponible la tetera? Está agotada.",
      "¿Tienen existencias de la manta?",
    ])
      expect(asksAboutStock(text), text).toBe(true)
  })

  it("is not read into questions about the product itself, or about an order", () => {
    for (const text of [
      "Is the blue stoneware mug dishwasher safe?",
      "Is it available in blue?",
      "Where is my order 1001? When will it arrive?",
      "Ist das Produkt spülmaschinenfest?",
      "I would like a refund for order 1002.",
    ])
      expect(asksAboutStock(text), text).toBe(false)
  })
})
