import type { ListingFinding, ProductFacts } from "@mesh/contracts"

// What a listing may not say unless its product's facts say it. A model drafting copy reaches for
// materials, measures and selling claims; each is checked against the facts, and anything the facts
// do not hold is a finding that sends the draft to a person.

/** Materials a listing names; one the facts do not name is invented. */
export const MATERIALS = [
  "acrylic",
  "alpaca",
  "aluminium",
  "aluminum",
  "bamboo",
  "beech",
  "birch",
  "brass",
  "bronze",
  "canvas",
  "carbon",
  "cashmere",
  "cedar",
  "ceramic",
  "chrome",
  "concrete",
  "copper",
  "cork",
  "cotton",
  "denim",
  "down",
  "enamel",
  "felt",
  "fleece",
  "glass",
  "gold",
  "granite",
  "hemp",
  "iron",
  "jute",
  "latex",
  "leather",
  "linen",
  "maple",
  "marble",
  "merino",
  "mohair",
  "nickel",
  "nylon",
  "oak",
  "pine",
  "plastic",
  "platinum",
  "polyester",
  "porcelain",
  "rattan",
  "resin",
  "rubber",
  "satin",
  "silicone",
  "silk",
  "silver",
  "slate",
  "stainless",
  "steel",
  "stone",
  "suede",
  "teak",
  "terracotta",
  "titanium",
  "velvet",
  "viscose",
  "walnut",
  "wicker",
  "wood",
  "wool",
  "zinc",
] as const

/** Selling claims a listing may make only when the facts make them. */
export const CLAIMS = [
  "award-winning",
  "award winning",
  "bpa-free",
  "bpa free",
  "best-selling",
  "best selling",
  "bestseller",
  "biodegradable",
  "certified",
  "clinically proven",
  "compostable",
  "dishwasher safe",
  "dishwasher-safe",
  "eco-friendly",
  "eco friendly",
  "ethically sourced",
  "fair trade",
  "fairtrade",
  "fireproof",
  "gluten-free",
  "guaranteed",
  "handcrafted",
  "handmade",
  "hand-made",
  "hypoallergenic",
  "lifetime warranty",
  "microwave safe",
  "microwave-safe",
  "non-toxic",
  "organic",
  "patented",
  "recyclable",
  "recycled",
  "scratch-proof",
  "shatterproof",
  "sustainable",
  "unbreakable",
  "vegan",
  "warranty",
  "waterproof",
  "water-resistant",
  "water resistant",
  "windproof",
  "number one",
  "#1",
  "fda-approved",
  "fda approved",
  "antibacterial",
  "antimicrobial",
  "medical-grade",
  "medical grade",
  "dermatologically tested",
  "clinically tested",
  "non-slip",
  "anti-slip",
  "food-safe",
  "food safe",
  "artisan",
  "luxury",
  "premium",
  "cheapest",
  "lowest price",
  "free shipping",
  "limited edition",
  "genuine",
  "authentic",
] as const

/** Units a measure is stated in, each with the one name it is compared by. */
const UNITS: Readonly<Record<string, string>> = {
  mm: "mm",
  millimetre: "mm",
  millimeter: "mm",
  millimetres: "mm",
  millimeters: "mm",
  cm: "cm",
  centimetre: "cm",
  centimeter: "cm",
  centimetres: "cm",
  centimeters: "cm",
  m: "m",
  metre: "m",
  meter: "m",
  metres: "m",
  meters: "m",
  in: "in",
  inch: "in",
  inches: "in",
  '"': "in",
  ft: "ft",
  foot: "ft",
  feet: "ft",
  g: "g",
  gram: "g",
  grams: "g",
  kg: "kg",
  kilogram: "kg",
  kilograms: "kg",
  lb: "lb",
  lbs: "lb",
  oz: "oz",
  ml: "ml",
  l: "l",
  litre: "l",
  liter: "l",
  litres: "l",
  liters: "l",
  w: "w",
  watt: "w",
  watts: "w",
  v: "v",
  volt: "v",
  volts: "v",
  mah: "mah",
  kwh: "kwh",
  gb: "gb",
  tb: "tb",
  hz: "hz",
  "%": "%",
  percent: "%",
  year: "year",
  years: "year",
  month: "month",
  months: "month",
}

// An attribute whose value denies it ("Waterproof: No") does not make its name a fact.
const negative = /^\s*(no|none|false|not\b|n\/a|without)/i

const fold = (text: string): string =>
  text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()

const numbersIn = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/\d+(?:[.,]\d+)?/g)].map((m) => String(Number(m[0].replace(",", "."))))

/** Each number with the unit that follows it, when one does: `45 cm` is `45 cm`, `E27` just `27`. */
const measuresIn = (text: string): ReadonlyArray<{ readonly number: string; readonly unit: string | null }> =>
  [...text.matchAll(/(\d+(?:[.,]\d+)?)\s*(%|"|[a-z]+)?/g)].map((m) => ({
    number: String(Number((m[1] ?? "").replace(",", "."))),
    unit: m[2] === undefined ? null : (UNITS[m[2]] ?? null),
  }))

const mentions = (haystack: string, term: string): boolean => {
  const escaped = term.replace(/[.*+?^${}()|[\]\\#]/g, "\\$&")
  // A whole word or phrase, so that "oak" is not found in "soak" nor "down" in "download".
  return new RegExp(`(^|[^a-z0-9])${escaped}([^a-z0-9]|$)`).test(haystack)
}

/** A drafted listing's text, as the check reads it. */
export interface ListingDraftText {
  readonly title: string
  readonly description: string
  readonly bullets: ReadonlyArray<string>
  readonly tags: ReadonlyArray<string>
}

/**
 * Checks a draft against its product's facts: every material, number and selling claim it states
 * must be in the facts. Pure; the findings name each invention, and none means the draft is faithful.
 */
export const checkListing = (facts: ProductFacts, draft: ListingDraftText): ReadonlyArray<ListingFinding> => {
  const factText = fold(
    [
      facts.productName,
      facts.brand ?? "",
      facts.category,
      ...facts.attributes.filter((a) => !negative.test(a.value)).flatMap((a) => [a.name, a.value]),
      ...facts.highlights,
    ].join(" \n "),
  )
  const draftText = fold([draft.title, draft.description, ...draft.bullets, ...draft.tags].join(" \n "))
  const findings: Array<ListingFinding> = []
  if (draft.title.trim() === "" || draft.description.trim() === "")
    findings.push({ code: "empty", detail: "the draft has no title or no description" })
  for (const material of MATERIALS) {
    if (mentions(draftText, material) && !mentions(factText, material))
      findings.push({ code: "invented-material", detail: `names ${material}, which the facts do not` })
  }
  const factNumbers = new Set([...numbersIn(factText), String(facts.price.amountMinor / 100)])
  const factMeasures = measuresIn(factText)
  const stated = new Set<string>()
  for (const { number, unit } of measuresIn(draftText)) {
    const key = `${number} ${unit ?? ""}`
    if (stated.has(key)) continue
    stated.add(key)
    if (!factNumbers.has(number)) {
      findings.push({ code: "invented-measure", detail: `states ${number}, a number the facts do not hold` })
      continue
    }
    // The right number in another unit (45 cm written as 45 inches) is a measure the facts do not hold.
    const units = factMeasures.filter((m) => m.number === number).map((m) => m.unit)
    if (unit !== null && !units.includes(unit) && units.some((u) => u !== null))
      findings.push({
        code: "invented-measure",
        detail: `states ${number} ${unit}, where the facts give ${number} ${units.filter((u) => u !== null).join(" or ")}`,
      })
  }
  for (const claim of CLAIMS) {
    if (mentions(draftText, claim) && !mentions(factText, claim))
      findings.push({ code: "unsupported-claim", detail: `claims "${claim}", which the facts do not` })
  }
  return findings
}
