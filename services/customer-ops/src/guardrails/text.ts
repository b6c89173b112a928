// Character-level normalisation shared by the guardrails: what untrusted text looks like once the
// characters a reader cannot see are gone, and the folded forms the detectors match against.

/** What removing invisible characters took out of a text. */
export interface InvisibleRemoval {
  readonly text: string
  /** How many invisible code points were removed. */
  readonly removed: number
  /** ASCII smuggled in Unicode tag characters (U+E0020..U+E007E), which render as nothing. */
  readonly tagText: string
}

const ZWJ = 0x200d
const VS15 = 0xfe0e
const VS16 = 0xfe0f
const KEYCAP = 0x20e3
const pictographic = /\p{Extended_Pictographic}/u
const format = /\p{Cf}/u
const control = /\p{Cc}/u

const isPictographic = (char: string | undefined): boolean => char !== undefined && pictographic.test(char)

// Code points that render as nothing but are not in Unicode's format category: variation selectors,
// the combining grapheme joiner, Hangul fillers and Mongolian free variation selectors.
const isBlankNonFormat = (code: number): boolean =>
  (code >= 0xfe00 && code <= 0xfe0f) ||
  (code >= 0xe0100 && code <= 0xe01ef) ||
  code === 0x034f ||
  code === 0x115f ||
  code === 0x1160 ||
  code === 0x3164 ||
  code === 0xffa0 ||
  (code >= 0x180b && code <= 0x180d) ||
  (code >= 0xd800 && code <= 0xdfff)

/**
 * Removes zero-width, format (Cf), bidi, tag and variation-selector characters and control
 * characters other than newline and tab. A joiner or presentation selector inside an emoji
 * sequence stays: it is how a family or keycap emoji is spelled, not a hiding place.
 */
export const removeInvisible = (raw: string): InvisibleRemoval => {
  const chars = Array.from(raw.replace(/\r\n?/g, "\n"))
  let text = ""
  let removed = 0
  let tagText = ""
  for (let index = 0; index < chars.length; index++) {
    const char = chars[index]!
    const code = char.codePointAt(0)!
    if (code >= 0xe0000 && code <= 0xe007f) {
      if (code >= 0xe0020 && code <= 0xe007e) tagText += String.fromCodePoint(code - 0xe0000)
      removed++
      continue
    }
    if (code === ZWJ && isPictographic(previousVisible(chars, index)) && isPictographic(chars[index + 1])) {
      text += char
      continue
    }
    if (
      (code === VS16 || code === VS15) &&
      (isPictographic(chars[index - 1]) || chars[index + 1]?.codePointAt(0) === KEYCAP)
    ) {
      text += char
      continue
    }
    if (char === "\n" || char === "\t") {
      text += char
      continue
    }
    if (format.test(char) || control.test(char) || isBlankNonFormat(code)) {
      removed++
      continue
    }
    text += char
  }
  return { text, removed, tagText }
}

// The character before a joiner, skipping a presentation selector or skin-tone modifier.
const previousVisible = (chars: ReadonlyArray<string>, index: number): string | undefined => {
  for (let at = index - 1; at >= 0; at--) {
    const code = chars[at]!.codePointAt(0)!
    if (code === VS16 || (code >= 0x1f3fb && code <= 0x1f3ff)) continue
    return chars[at]
  }
  return undefined
}

/** Collapses runs of spaces, trims each line and keeps at most one blank line between paragraphs. */
export const normaliseWhitespace = (text: string): string =>
  text
    .replace(/[^\S\n]+/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()

// Cyrillic, Greek, Armenian and other letters that look like Latin ones. Applied before lowercasing,
// because a Greek capital eta looks like H while its small form looks like n.
const confusables: Readonly<Record<string, string>> = {
  А: "A",
  В: "B",
  Е: "E",
  К: "K",
  М: "M",
  Н: "H",
  О: "O",
  Р: "P",
  С: "C",
  Т: "T",
  Х: "X",
  У: "Y",
  Ѕ: "S",
  І: "I",
  Ј: "J",
  Ԛ: "Q",
  Ԝ: "W",
  Ү: "Y",
  Ӏ: "I",
  Ь: "b",
  З: "3",
  а: "a",
  в: "b",
  е: "e",
  к: "k",
  м: "m",
  н: "h",
  о: "o",
  р: "p",
  с: "c",
  т: "t",
  х: "x",
  у: "y",
  ѕ: "s",
  і: "i",
  ј: "j",
  ԁ: "d",
  һ: "h",
  ү: "y",
  ӏ: "l",
  ԛ: "q",
  ԝ: "w",
  ɡ: "g",
  ɑ: "a",
  ɩ: "i",
  ɪ: "i",
  ʀ: "r",
  ʏ: "y",
  ᴀ: "a",
  ᴄ: "c",
  ᴅ: "d",
  ᴇ: "e",
  ᴊ: "j",
  ᴋ: "k",
  ᴍ: "m",
  ᴏ: "o",
  ᴘ: "p",
  ᴛ: "t",
  ᴜ: "u",
  ᴠ: "v",
  ᴡ: "w",
  ᴢ: "z",
  ь: "b",
  з: "3",
  п: "n",
  г: "r",
  ш: "w",
  л: "n",
  и: "u",
  Α: "A",
  Β: "B",
  Ε: "E",
  Ζ: "Z",
  Η: "H",
  Ι: "I",
  Κ: "K",
  Μ: "M",
  Ν: "N",
  Ο: "O",
  Ρ: "P",
  Τ: "T",
  Υ: "Y",
  Χ: "X",
  α: "a",
  β: "b",
  γ: "y",
  ε: "e",
  η: "n",
  ι: "i",
  κ: "k",
  ν: "v",
  ο: "o",
  ρ: "p",
  σ: "o",
  τ: "t",
  υ: "u",
  χ: "x",
  ω: "w",
  ς: "c",
  օ: "o",
  ս: "u",
  հ: "h",
  ց: "g",
  ո: "n",
  ı: "i",
  ł: "l",
  Ł: "L",
  ø: "o",
  Ø: "O",
  đ: "d",
  Đ: "D",
  ß: "ss",
  æ: "ae",
  Æ: "AE",
  œ: "oe",
  Œ: "OE",
  ð: "d",
  þ: "th",
  ŀ: "l",
  ſ: "s",
}

const leet: Readonly<Record<string, string>> = {
  "0": "o",
  "1": "i",
  "3": "e",
  "4": "a",
  "5": "s",
  "7": "t",
  "@": "a",
  $: "s",
  "!": "i",
  "|": "l",
}

const mapConfusables = (text: string): string => {
  let out = ""
  for (const char of text) out += confusables[char] ?? char
  return out
}

// Digits stand for letters only inside a word that also has letters ("1gn0re"), so order numbers and
// amounts stay as they are; symbols only between letters ("ru|es", "p@ss"), so "refund!" stays a word.
const unLeet = (text: string): string =>
  text.replace(/[a-z0-9@$!|]+/g, (token) => {
    if (!/[a-z]/.test(token)) return token
    const core = /^([!|@$]*)(.*?)([!|@$]*)$/.exec(token)!
    const mapped = core[2]!.replace(/[0-9@$!|]/g, (c) => leet[c] ?? c)
    return /[0-9@$!|]/.test(core[2]!) ? `${core[1]}${mapped}${core[3]}` : token
  })

/** Compatibility-normalised, look-alike letters mapped to Latin, lowercased, accents and typographic quotes made plain. */
export const foldPlain = (text: string): string =>
  mapConfusables(text.normalize("NFKC"))
    .toLowerCase()
    .normalize("NFD")
    .replace(/\p{M}+/gu, "")
    .replace(/[‘’‚‛`´]/g, "'")
    .replace(/[“”„‟«»]/g, '"')

/** The form detectors match against: `foldPlain`, with leetspeak read as letters ("1gn0re" is "ignore"). */
export const fold = (text: string): string => unLeet(foldPlain(text))

/**
 * Folded text as words: sentence ends become a "." token and colons a ":" token, every other run of
 * characters that are not letters or digits one space. Padded with spaces so each word has two.
 */
export const wordsOf = (folded: string): string => {
  const tokens = folded
    .replace(/[.!?;]+(?=\s|$)/g, " . ")
    .replace(/:+(?=\s|$)/g, " : ")
    .split(/\s+/)
    .map((token) => (token === "." || token === ":" ? token : token.replace(/[^a-z0-9]+/g, " ").trim()))
    .filter((token) => token !== "")
  return ` ${tokens.join(" ")} `
}

/** Runs of single letters spaced out ("i g n o r e", "d-e-v") joined back into words. */
export const joinSpacedLetters = (folded: string): string =>
  folded.replace(/(?<![a-z0-9])(?:[a-z0-9][ .\-_*·•/|+~]){2,}[a-z0-9](?![a-z0-9])/g, (run) =>
    run.replace(/[^a-z0-9]/g, ""),
  )

/** Folded text with everything but letters removed, so "i g n o r e" and "i.g.n.o.r.e" read "ignore". */
export const squashedOf = (folded: string): string => folded.replace(/[^a-z]+/g, "")
