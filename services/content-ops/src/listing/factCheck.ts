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
] as const

const fold = (text: string): string =>
  text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()

const numbersIn = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/\d+(?:[.,]\d+)?/g)].map((m) => String(Number(m[0].replace(",", "."))))

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
      ...facts.attributes.flatMap((a) => [a.name, a.value]),
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
  for (const number of new Set(numbersIn(draftText))) {
    if (!factNumbers.has(number))
      findings.push({ code: "invented-measure", detail: `states ${number}, a number the facts do not hold` })
  }
  for (const claim of CLAIMS) {
    if (mentions(draftText, claim) && !mentions(factText, claim))
      findings.push({ code: "unsupported-claim", detail: `claims "${claim}", which the facts do not` })
  }
  return findings
}
