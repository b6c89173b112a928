import type { Choices } from "./random.ts"

/** A supplier's standing offer, as procurement's stock settings take it. */
export interface SupplierOffer {
  readonly supplierId: string
  readonly name: string
  readonly unitCost: { readonly amountMinor: number; readonly currency: "EUR" }
  readonly leadTimeDays: number
  readonly minOrderQuantity: number
}

/** A product of the shop: what the storefront lists, the facts content ops drafts from, and its stock settings. */
export interface ShopProduct {
  readonly sku: string
  readonly name: string
  readonly category: string
  readonly attributes: ReadonlyArray<{ readonly name: string; readonly value: string }>
  readonly highlights: ReadonlyArray<string>
  readonly priceMinor: number
  readonly stock: {
    readonly opening: number
    readonly reorderPoint: number
    readonly reorderQuantity: number
    readonly neededWithinDays: number
    readonly suppliers: ReadonlyArray<SupplierOffer>
  }
  /** What customers ask about it (a fact its listing states, or one it does not). */
  readonly questions: ReadonlyArray<string>
}

interface Blueprint {
  readonly category: string
  readonly kinds: ReadonlyArray<string>
  readonly materials: ReadonlyArray<string>
  readonly highlights: ReadonlyArray<string>
  readonly size: (c: Choices) => { readonly name: string; readonly value: string }
  readonly price: readonly [number, number]
  readonly questions: ReadonlyArray<(name: string) => string>
}

const blueprints: ReadonlyArray<Blueprint> = [
  {
    category: "kitchen",
    kinds: ["mug", "teapot", "serving bowl", "dinner plate", "espresso cup"],
    materials: ["stoneware", "porcelain", "earthenware"],
    highlights: ["Dishwasher safe", "Microwave safe", "Hand glazed", "Oven safe to 220 °C"],
    size: (c) => ({ name: "capacity", value: `${c.pick([250, 300, 350, 500, 1200])} ml` }),
    price: [1_200, 6_500],
    questions: [
      (n) => `Can the ${n} go in the microwave?`,
      (n) => `Is the ${n} dishwasher safe?`,
      (n) => `Is the glaze on the ${n} food safe?`,
    ],
  },
  {
    category: "home",
    kinds: ["tablecloth", "cushion cover", "throw blanket", "tea towel", "curtain"],
    materials: ["linen", "cotton", "wool"],
    highlights: ["Machine washable at 40 °C", "Pre-washed", "Naturally dyed"],
    size: (c) => ({
      name: "dimensions",
      value: `${c.pick([40, 50, 140, 160])} x ${c.pick([40, 60, 200, 240])} cm`,
    }),
    price: [1_500, 9_000],
    questions: [
      (n) => `Does the ${n} shrink in the wash?`,
      (n) => `Can I put the ${n} in the tumble dryer?`,
      (n) => `What size is the ${n} exactly?`,
    ],
  },
  {
    category: "lighting",
    kinds: ["desk lamp", "floor lamp", "pendant light", "wall light"],
    materials: ["brass", "oak", "steel"],
    highlights: ["E27 bulb fitting", "Dimmable", "Braided fabric cable"],
    size: (c) => ({ name: "height", value: `${c.pick([35, 45, 150, 160])} cm` }),
    price: [4_500, 24_000],
    questions: [
      (n) => `Which bulb does the ${n} take?`,
      (n) => `Is the ${n} dimmable?`,
      (n) => `Does the ${n} come with a bulb?`,
    ],
  },
  {
    category: "garden",
    kinds: ["planter", "watering can", "bird feeder", "garden stool"],
    materials: ["terracotta", "zinc", "teak"],
    highlights: ["Frost resistant", "Drainage hole", "Weatherproof finish"],
    size: (c) => ({ name: "diameter", value: `${c.pick([15, 20, 30, 40])} cm` }),
    price: [1_800, 12_000],
    questions: [
      (n) => `Can the ${n} stay outside in winter?`,
      (n) => `Does the ${n} have a drainage hole?`,
      (n) => `Will the ${n} rust?`,
    ],
  },
]

const colours = ["slate", "sand", "forest green", "ochre", "charcoal", "ivory", "terracotta red", "sky blue"]
const suppliers: ReadonlyArray<Omit<SupplierOffer, "unitCost" | "minOrderQuantity">> = [
  { supplierId: "acme", name: "Acme Wholesale", leadTimeDays: 3 },
  { supplierId: "nordic", name: "Nordic Crafts", leadTimeDays: 5 },
  // Promises delivery the same day, and is the one that keeps being late.
  { supplierId: "quickship", name: "QuickShip Direct", leadTimeDays: 0 },
]

/**
 * The shop's catalogue: `count` products drawn from a few categories, each with a material, a
 * colour, a size and highlights; about one in five with little or nothing on the shelf, so the day
 * runs out of it and reorders; about one in six supplied only by a supplier who promises the goods
 * the same day and often delivers late.
 */
export const shopCatalogue = (choices: Choices, count: number): ReadonlyArray<ShopProduct> =>
  Array.from({ length: count }, (_, index) => {
    const blueprint = blueprints[index % blueprints.length] as Blueprint
    const kind = choices.pick(blueprint.kinds)
    const material = choices.pick(blueprint.materials)
    const colour = choices.pick(colours)
    const name = `${colour[0]?.toUpperCase()}${colour.slice(1)} ${material} ${kind}`
    const sku = `SKU-${String(index + 1).padStart(3, "0")}`
    const priceMinor = Math.round(choices.int(blueprint.price[0], blueprint.price[1]) / 100) * 100 - 10
    const scarce = choices.chance(0.2)
    const onlyQuickShip = choices.chance(1 / 6)
    const offers = (onlyQuickShip ? [suppliers[2]] : [suppliers[0], suppliers[1]]).map((s) => ({
      ...(s as (typeof suppliers)[number]),
      unitCost: { amountMinor: Math.round(priceMinor * 0.45), currency: "EUR" as const },
      minOrderQuantity: 1,
    }))
    return {
      sku,
      name,
      category: blueprint.category,
      attributes: [
        { name: "material", value: material },
        { name: "colour", value: colour },
        blueprint.size(choices),
      ],
      highlights: blueprint.highlights.filter(() => choices.chance(0.6)),
      priceMinor,
      stock: {
        opening: scarce ? choices.int(0, 2) : choices.int(6, 20),
        reorderPoint: 3,
        reorderQuantity: choices.int(10, 30),
        neededWithinDays: 7,
        suppliers: offers,
      },
      questions: blueprint.questions.map((q) => q(name.toLowerCase())),
    }
  })
