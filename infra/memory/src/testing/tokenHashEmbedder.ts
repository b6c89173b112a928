import type { Embedder } from "../memoryProjection.ts"

const fnv1a = (text: string, seed: number): number => {
  let hash = 0x811c9dc5 ^ seed
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * A tiny deterministic embedder for tests and benchmarks, not a model: each lowercase word
 * adds ±1 to a hashed dimension, and the vector is scaled to unit length. Texts sharing words
 * land close together, which is all the memory tests need.
 */
export const tokenHashEmbedder =
  (dimensions = 384): Embedder =>
  async (texts) =>
    texts.map((text) => {
      const vector = new Float32Array(dimensions)
      for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
        vector[fnv1a(word, 0) % dimensions]! += fnv1a(word, 1) & 1 ? 1 : -1
      }
      let norm = 0
      for (const x of vector) norm += x * x
      if (norm > 0) for (let i = 0; i < dimensions; i++) vector[i] = vector[i]! / Math.sqrt(norm)
      return vector
    })
