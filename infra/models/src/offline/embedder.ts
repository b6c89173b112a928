import { tokenize } from "./text.ts"

/** Dimensions of the offline embedder's vectors: the sentence encoder's (see sentenceEmbedder.ts). */
export const OFFLINE_EMBED_DIMENSIONS = 512
/** The name the offline embedder reports as its model: Universal Sentence Encoder lite, 512-d. */
export const OFFLINE_EMBED_MODEL = "mesh-use-512"

/**
 * Dimensions of the hashing embedder's vectors (all-minilm's, so the fake Ollama serves it in its place).
 * It was the offline embedder until measured: recall@5 0.47 on the labelled retrieval set, against
 * the sentence encoder's 0.91, since hashing only matches words ('parcel' never finds 'delivery').
 */
export const HASH_EMBED_DIMENSIONS = 384
/** The name of the hashing embedder, as benchmarks and retrieval reports call it. */
export const HASH_EMBED_MODEL = "mesh-hash-384"

/** FNV-1a, 32-bit, with a final avalanche: fast, well spread, and stable across platforms and runs. */
export const fnv1a = (text: string, seed: number): number => {
  let hash = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  // Final avalanche so that similar strings land far apart.
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b) >>> 0
  hash ^= hash >>> 13
  return hash >>> 0
}

const UNIGRAM_WEIGHT = 1
const BIGRAM_WEIGHT = 0.7
const TRIGRAM_WEIGHT = 0.35

const addFeature = (vector: Float64Array, feature: string, weight: number): void => {
  const hash = fnv1a(feature, 0)
  const index = hash % vector.length
  // The sign comes from an independent bit so that collisions cancel out on average instead of piling up.
  const sign = (fnv1a(feature, 0x9e3779b9) & 1) === 0 ? 1 : -1
  vector[index] = (vector[index] ?? 0) + sign * weight
}

/**
 * Embeds text by signed feature hashing of word unigrams, word bigrams and character trigrams, L2-normalised.
 * Deterministic and fast (tens of thousands of texts a second); text without any word yields the zero vector.
 */
export const hashEmbed = (text: string, dimensions: number = HASH_EMBED_DIMENSIONS): Array<number> => {
  const vector = new Float64Array(dimensions)
  const words = tokenize(text)
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    addFeature(vector, `w:${word}`, UNIGRAM_WEIGHT)
    if (i + 1 < words.length) addFeature(vector, `b:${word} ${words[i + 1]}`, BIGRAM_WEIGHT)
    const padded = `#${word}#`
    for (let j = 0; j + 3 <= padded.length; j++)
      addFeature(vector, `c:${padded.slice(j, j + 3)}`, TRIGRAM_WEIGHT)
  }
  let norm = 0
  for (const value of vector) norm += value * value
  norm = Math.sqrt(norm)
  const out = new Array<number>(dimensions)
  for (let i = 0; i < dimensions; i++) out[i] = norm === 0 ? 0 : vector[i]! / norm
  return out
}

/** Cosine similarity of two vectors of the same length (the dot product, for normalised vectors). */
export const cosineSimilarity = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i] ?? 0
    dot += x * y
    na += x * x
    nb += y * y
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}
