// Text features for the learned offline classifiers: word unigrams and bigrams plus character n-grams inside
// words, hashed into a fixed space. Character n-grams carry the work across languages: "rembourser",
// "remboursement" and a misspelt "rembourcement" share most of theirs, and so do German compounds with their
// parts ("Rückerstattung", "Erstattung"). Nothing here is tuned to a language or a word list.

import { fnv1a } from "../embedder.ts"

/** How text becomes features; stored in the model artefact so that training and inference always agree. */
export interface FeatureSpec {
  /** log2 of the number of hash buckets. */
  readonly bucketBits: number
  /** The shortest and longest character n-gram, counted with the word-boundary marks. */
  readonly minGram: number
  readonly maxGram: number
  /** Whether adjacent word pairs are features too. */
  readonly wordBigrams: boolean
  /** How much a character n-gram counts beside a whole word (1). */
  readonly charWeight: number
}

/** The feature space the offline models are trained in. */
export const defaultFeatureSpec: FeatureSpec = {
  bucketBits: 16,
  minGram: 3,
  maxGram: 4,
  wordBigrams: true,
  charWeight: 0.5,
}

/**
 * Folds text to the form the features are taken from: accents stripped (customers type "remboursement" and
 * "rembourssement", "Rückgabe" and "Rueckgabe"), lower case, letters repeated three or more times cut to two
 * ("sooooo" and "soo" agree), and digits collapsed to one mark, so order numbers do not become features.
 */
export const foldText = (text: string): string =>
  text
    // Composed first, so an umlaut typed as a letter plus a combining mark folds like the precomposed one.
    .normalize("NFC")
    .replace(/ß/g, "ss")
    .replace(/[äÄ]/g, "ae")
    .replace(/[öÖ]/g, "oe")
    .replace(/[üÜ]/g, "ue")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[œ]/g, "oe")
    .replace(/[æ]/g, "ae")
    .replace(/[\u2018\u2019`´]/g, "'")
    .replace(/(\p{L})\1{2,}/gu, "$1$1")
    .replace(/\p{N}+(?:[.,]\p{N}+)*/gu, "0")

/**
 * Splits folded text into words (letters and digit marks; apostrophes split words, as in "l'article"). Question
 * and exclamation marks are words too: "?" is much of what tells a question about a product from a complaint
 * about it, in every language.
 */
export const wordsOf = (folded: string): ReadonlyArray<string> =>
  (folded.match(/[\p{L}0]+|[?¿]+|[!¡]+/gu) ?? []).map((w) =>
    w[0] === "?" || w[0] === "¿" ? "?" : w[0] === "!" || w[0] === "¡" ? "!" : w,
  )

/** A sparse, L2-normalised feature vector: parallel arrays of bucket indices and values. */
export interface SparseVector {
  readonly indices: Int32Array
  readonly values: Float32Array
}

/** The feature vector of a text under a spec. Each distinct feature counts once; the vector has unit length. */
export const featurize = (text: string, spec: FeatureSpec = defaultFeatureSpec): SparseVector => {
  const mask = (1 << spec.bucketBits) - 1
  const counts = new Map<number, number>()
  const add = (feature: string, weight: number) => {
    const bucket = fnv1a(feature, 0) & mask
    counts.set(bucket, (counts.get(bucket) ?? 0) + weight)
  }
  const words = wordsOf(foldText(text))
  const seen = new Set<string>()
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (!seen.has(word)) {
      seen.add(word)
      add(`w ${word}`, 1)
      if (word === "?" || word === "!") continue
      const marked = `<${word}>`
      for (let n = spec.minGram; n <= spec.maxGram; n++) {
        for (let j = 0; j + n <= marked.length; j++) add(`c ${marked.slice(j, j + n)}`, spec.charWeight)
      }
    }
    if (spec.wordBigrams && i + 1 < words.length) {
      const pair = `${word} ${words[i + 1]}`
      if (!seen.has(pair)) {
        seen.add(pair)
        add(`b ${pair}`, 1)
      }
    }
  }
  // Log-scaled counts: a character n-gram that recurs in many words says a little more, not linearly more.
  const indices = Int32Array.from(counts.keys()).sort()
  const values = new Float32Array(indices.length)
  let norm = 0
  for (let k = 0; k < indices.length; k++) {
    const v = Math.log1p(counts.get(indices[k]!)!)
    values[k] = v
    norm += v * v
  }
  norm = Math.sqrt(norm)
  if (norm > 0) for (let k = 0; k < values.length; k++) values[k] = values[k]! / norm
  return { indices, values }
}
