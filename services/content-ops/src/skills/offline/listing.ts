import { type DraftListingInput, type DraftListingOutput, MAX_LISTING_TITLE } from "../tasks.ts"

const TITLE_ATTRIBUTES = ["colour", "color", "size", "capacity", "dimensions"]

const fitsTitle = (title: string): boolean => title.length <= MAX_LISTING_TITLE

/** Drafts a listing from a product's facts: brand and name (plus a key attribute if it fits) and nothing invented. */
export const draftListingOffline = (input: DraftListingInput): DraftListingOutput => {
  const brand = input.brand?.trim() ?? ""
  const base =
    brand.length > 0 && !input.productName.includes(brand)
      ? `${brand} ${input.productName}`
      : input.productName
  // Up to two key attributes (in TITLE_ATTRIBUTES' order of preference) join the title while it stays short enough.
  let title = fitsTitle(base) ? base : base.slice(0, MAX_LISTING_TITLE).trimEnd()
  const keys = TITLE_ATTRIBUTES.flatMap((name) =>
    input.attributes.filter((a) => a.name.toLowerCase() === name),
  )
  for (const key of keys.slice(0, 2)) {
    const longer = `${title}, ${key.value}`
    if (!title.toLowerCase().includes(key.value.toLowerCase()) && fitsTitle(longer)) title = longer
  }
  const sentence = (text: string): string => {
    const trimmed = text.trim()
    const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1)
    return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`
  }
  const intro = brand.length > 0 ? `The ${input.productName} by ${brand}.` : `The ${input.productName}.`
  const description = [
    intro,
    ...input.attributes.map((a) => sentence(`${a.name}: ${a.value}`)),
    ...input.highlights.map(sentence),
  ].join(" ")
  const bullets = [
    ...input.highlights,
    ...input.attributes.map((a) => `${sentence(a.name).slice(0, -1)}: ${a.value}`),
  ]
    .slice(0, 8)
    .map((b) => b.trim())
    .filter((b) => b.length > 0)
  const tags = [
    ...new Set(
      [input.category, brand, ...input.productName.split(/[\s,]+/)]
        .map((t) => t.trim().toLowerCase())
        .filter((t) => t.length > 2),
    ),
  ]
  return { title, description, bullets: bullets.length > 0 ? bullets : [sentence(input.productName)], tags }
}
