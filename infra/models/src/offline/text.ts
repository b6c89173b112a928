/** Lower-cases, strips accents and splits text into word tokens (letters, digits, apostrophes inside words). */
export const tokenize = (text: string): ReadonlyArray<string> => {
  const folded = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
  const tokens = folded.match(/[a-z0-9]+(?:'[a-z]+)?/g) ?? []
  // "don't" -> "do" + "n't" keeps negations visible to the classifiers.
  const out: Array<string> = []
  for (const token of tokens) {
    if (token.endsWith("n't")) {
      const head = token.slice(0, -3)
      out.push(head === "wo" ? "will" : head === "ca" ? "can" : head, "not")
    } else if (token.endsWith("'s") || token.endsWith("'m") || token.endsWith("'d")) {
      out.push(token.slice(0, -2))
    } else if (token.endsWith("'ve") || token.endsWith("'re") || token.endsWith("'ll")) {
      out.push(token.slice(0, -3))
    } else {
      out.push(token)
    }
  }
  return out
}

/** A light suffix stripper, so "refunded", "refunds" and "refunding" share one feature. */
export const stem = (token: string): string => {
  if (token.length <= 4) return token
  for (const suffix of ["ingly", "edly", "ing", "ed", "es", "ly", "s"]) {
    if (token.endsWith(suffix) && token.length - suffix.length >= 3) {
      const base = token.slice(0, -suffix.length)
      // "shipped" -> "shipp" -> "ship"
      return base.length > 3 && base.at(-1) === base.at(-2) ? base.slice(0, -1) : base
    }
  }
  return token
}

/** A rough token count, close enough to a model tokenizer's for cost estimates (words or characters, whichever says more). */
export const approximateTokenCount = (text: string): number => {
  // Counts the starts of words in one pass, without splitting a possibly huge prompt into an array.
  let words = 0
  let inWord = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const space = c === 32 || (c >= 9 && c <= 13) || c === 160
    if (!space && !inWord) words++
    inWord = !space
  }
  return Math.ceil(Math.max(words * 1.33, text.length / 4))
}
