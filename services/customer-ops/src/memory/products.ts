import { foldPlain } from "../guardrails/text.ts"

// Which of the shop's products a customer's message is about, and whether it asks if one is in
// stock. Customers name a product by its catalogue name in their own words ("the blue mug", "your
// Blue Stoneware Mugs"), or by its SKU; they ask about stock in the languages the shop serves. A
// reply cites the product's stock only when both are clear: a product named ambiguously gets no
// stock fact, and the message goes to a person as any message without facts does.

/** A product of a tenant's catalogue, as customers name it. */
export interface CatalogueProduct {
  /** The shop's own SKU. */
  readonly sku: string
  readonly name: string
}

// Words a product name shares with any sentence, which name no product by themselves.
const fillers = new Set([
  "a",
  "an",
  "the",
  "of",
  "and",
  "with",
  "for",
  "in",
  "to",
  "de",
  "du",
  "des",
  "la",
  "le",
  "les",
  "el",
  "los",
  "las",
  "der",
  "die",
  "das",
  "und",
  "mit",
  "et",
  "y",
  "con",
])

const wordsIn = (text: string): ReadonlyArray<string> =>
  foldPlain(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)

/** A word as it is compared: plurals and their singulars alike ("mugs" is "mug", "boxes" is "box"). */
const stemOf = (word: string): string => {
  if (word.length > 4 && word.endsWith("ies")) return `${word.slice(0, -3)}y`
  if (word.length > 4 && /(?:ch|sh|x|s)es$/.test(word)) return word.slice(0, -2)
  if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) return word.slice(0, -1)
  return word
}

const nameWordsOf = (name: string): ReadonlyArray<string> => [
  ...new Set(
    wordsIn(name)
      .filter((w) => !fillers.has(w))
      .map(stemOf),
  ),
]

const isSkuCharacter = (character: string | undefined): boolean =>
  character !== undefined && /[A-Za-z0-9_]/.test(character)

/**
 * Whether `text` names `sku` as a whole token ("MUG-1" in "is mug-1 back?", not in "MUG-12"). A SKU
 * without a digit reads as a word ("MUG"), so only its name names it.
 */
const namesSku = (text: string, sku: string): boolean => {
  if (!/\d/.test(sku)) return false
  const haystack = text.toLowerCase()
  const needle = sku.toLowerCase()
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1))
    if (!isSkuCharacter(haystack[at - 1]) && !isSkuCharacter(haystack[at + needle.length])) return true
  return false
}

/** At most this many products are taken from one message: a longer list is not a question about one. */
export const MAX_PRODUCTS_NAMED = 3

/**
 * The products of `catalogue` that `text` names: by SKU, or by every word of the product's name
 * (in any order, plurals alike); a name contained in a longer one named too yields to the longer
 * ("mug" to "blue stoneware mug"), and to a product more of whose words are there. If no name is
 * there whole, the one product of which at least two words and two thirds of its name are there,
 * when exactly one is the best such match ("the blue mug" for "Blue stoneware mug", not when a blue
 * porcelain mug is sold too). Otherwise none.
 */
export const productsNamedIn = (
  text: string,
  catalogue: ReadonlyArray<CatalogueProduct>,
): ReadonlyArray<CatalogueProduct> => {
  const said = new Set(wordsIn(text).map(stemOf))
  const bySku = catalogue.filter((p) => namesSku(text, p.sku))
  const scored = catalogue
    .map((product) => {
      const words = nameWordsOf(product.name)
      const found = words.filter((w) => said.has(w)).length
      return { product, words, found, share: words.length === 0 ? 0 : found / words.length }
    })
    .filter((s) => s.found > 0)
  const whole = scored.filter((s) => s.share === 1)
  const partial = scored.filter((s) => s.share < 1 && s.found >= 2 && s.share >= 2 / 3)
  // A short name said whole yields to a longer name said whole around it, and to a product more of
  // whose words were said ("the blue mug" is not the plain "Mug" while blue mugs are sold).
  const mostFound = Math.max(0, ...partial.map((s) => s.found))
  const named = whole.filter(
    (s) =>
      s.found >= mostFound &&
      !whole.some(
        (longer) => longer.words.length > s.words.length && s.words.every((w) => longer.words.includes(w)),
      ),
  )
  let byName = named.map((s) => s.product)
  if (byName.length === 0) {
    const best = Math.max(0, ...partial.map((s) => s.share))
    const top = partial.filter((s) => s.share === best)
    byName = top.length === 1 && top[0] !== undefined ? [top[0].product] : []
  }
  const products = [...bySku, ...byName.filter((p) => !bySku.includes(p))]
  return products.length > MAX_PRODUCTS_NAMED ? [] : products
}

// How customers ask whether a product is in stock, or when it will be again, folded (no accents,
// lower case). "Available" alone is not enough ("is it available in blue?" asks about colours).
const stockQuestions: ReadonlyArray<RegExp> = [
  // English
  /\b(?:back|again) in stock\b/,
  /\b(?:in|out of) stock\b/,
  /\bsold out\b/,
  /\brestock/,
  /\bavailable again\b/,
  /\b(?:have|get|stock|sell) (?:it|them|this|these|one) again\b/,
  /\bwhen (?:will|do|does|is|are|can)\b.{0,60}\b(?:available|be back|come back|comes back)\b/,
  /\bwhen (?:is|are)\b.{0,60}\bback\b/,
  /\b(?:un)?availab(?:le|ility)\b.{0,40}\bwhen\b/,
  // German
  /\bwieder (?:da|verfugbar|lieferbar|erhaltlich|auf lager|vorratig|im sortiment)\b/,
  /\bausverkauft\b/,
  /\b(?:nicht|kein(?:e|en)?) (?:mehr )?(?:auf lager|verfugbar|lieferbar|vorratig)\b/,
  /\b(?:auf|am) lager\b/,
  /\blagerbestand\b/,
  /\bnachschub\b/,
  // French
  /\ben stock\b/,
  /\brupture\b/,
  /\bepuise(?:e|s|es)?\b/,
  /\b(?:de nouveau|a nouveau|bientot) disponible/,
  /\breapprovision/,
  /\bquand\b.{0,60}\bdisponible/,
  // Spanish
  /\bagotad[oa]s?\b/,
  /\bexistencias\b/,
  /\b(?:disponible de nuevo|de nuevo disponible|vuelva a estar disponible|vuelvan a estar disponibles)\b/,
  /\bcuando\b.{0,60}\b(?:disponible|vuelve|vuelven|repon)/,
  /\brepo(?:ner|sicion|ngan)\b/,
]

/** Whether a customer's text asks if something is in stock, or when it will be again. */
export const asksAboutStock = (text: string): boolean => {
  const folded = ` ${wordsIn(text).join(" ")} `
  return stockQuestions.some((pattern) => pattern.test(folded))
}
