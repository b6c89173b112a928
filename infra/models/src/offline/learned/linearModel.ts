import type { SparseVector } from "./features.ts"

// Multinomial logistic regression over sparse hashed features, trained by AdaGrad with L2 decay. Pure and
// deterministic: the same examples, options and seed give the same weights on every machine, so an artefact
// can be rebuilt and compared byte for byte.

/** One labelled example: its features, its class index, and how much it counts. */
export interface TrainingExample {
  readonly features: SparseVector
  readonly label: number
  readonly weight?: number
}

/** How a head is trained. */
export interface TrainOptions {
  readonly epochs: number
  readonly learningRate: number
  readonly l2: number
  readonly seed: number
}

/** Defaults chosen by cross-validation on the training corpus (see the training script). */
export const defaultTrainOptions: TrainOptions = { epochs: 40, learningRate: 0.1, l2: 1e-5, seed: 7 }

/** A trained softmax head: a dense row of `classes` weights for every hash bucket. */
export interface LinearHead {
  readonly labels: ReadonlyArray<string>
  readonly bias: Float32Array
  readonly buckets: number
  /** Row-major: bucket * classes + class. */
  readonly weights: Float32Array
}

// mulberry32: a small seeded PRNG, so that shuffles repeat exactly.
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const softmaxInto = (scores: Float64Array): void => {
  let max = Number.NEGATIVE_INFINITY
  for (const s of scores) if (s > max) max = s
  let sum = 0
  for (let c = 0; c < scores.length; c++) {
    const e = Math.exp(scores[c]! - max)
    scores[c] = e
    sum += e
  }
  for (let c = 0; c < scores.length; c++) scores[c] = scores[c]! / sum
}

/** Trains a softmax head over `buckets` hash buckets on examples whose labels index `labels`. */
export const trainHead = (
  labels: ReadonlyArray<string>,
  examples: ReadonlyArray<TrainingExample>,
  buckets: number,
  options: TrainOptions = defaultTrainOptions,
): LinearHead => {
  const classes = labels.length
  const weights = new Float32Array(buckets * classes)
  const squares = new Float32Array(buckets * classes)
  const bias = new Float32Array(classes)
  const biasSquares = new Float32Array(classes)
  const order = examples.map((_, i) => i)
  const random = prng(options.seed)
  const scores = new Float64Array(classes)
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const swap = order[i]!
      order[i] = order[j]!
      order[j] = swap
    }
    for (const at of order) {
      const example = examples[at]!
      const { indices, values } = example.features
      for (let c = 0; c < classes; c++) scores[c] = bias[c]!
      for (let k = 0; k < indices.length; k++) {
        const row = indices[k]! * classes
        const v = values[k]!
        for (let c = 0; c < classes; c++) scores[c] = scores[c]! + weights[row + c]! * v
      }
      softmaxInto(scores)
      const weight = example.weight ?? 1
      for (let c = 0; c < classes; c++) {
        const gradient = (scores[c]! - (c === example.label ? 1 : 0)) * weight
        biasSquares[c] = biasSquares[c]! + gradient * gradient
        bias[c] = bias[c]! - (options.learningRate * gradient) / Math.sqrt(biasSquares[c]! + 1e-8)
        for (let k = 0; k < indices.length; k++) {
          const slot = indices[k]! * classes + c
          const g = gradient * values[k]! + options.l2 * weights[slot]!
          squares[slot] = squares[slot]! + g * g
          weights[slot] = weights[slot]! - (options.learningRate * g) / Math.sqrt(squares[slot]! + 1e-8)
        }
      }
    }
  }
  return { labels, bias, buckets, weights }
}

/** The class probabilities a head gives a feature vector, in the order of its labels. */
export const predictHead = (head: LinearHead, features: SparseVector): Float64Array => {
  const classes = head.labels.length
  const scores = new Float64Array(classes)
  for (let c = 0; c < classes; c++) scores[c] = head.bias[c]!
  const { indices, values } = features
  for (let k = 0; k < indices.length; k++) {
    const at = indices[k]! * classes
    if (at >= head.weights.length) continue
    const v = values[k]!
    for (let c = 0; c < classes; c++) scores[c] = scores[c]! + head.weights[at + c]! * v
  }
  softmaxInto(scores)
  return scores
}

/** The most probable class and its probability. */
export const argmax = (probabilities: ArrayLike<number>): { readonly index: number; readonly p: number } => {
  let index = 0
  for (let c = 1; c < probabilities.length; c++) if (probabilities[c]! > probabilities[index]!) index = c
  return { index, p: probabilities[index]! }
}

/** A head in a JSON-safe form: every weight as a signed byte of its class's scale, base64-encoded. */
export interface StoredHead {
  readonly labels: ReadonlyArray<string>
  readonly bias: ReadonlyArray<number>
  readonly buckets: number
  /** Per class: the weight one step of the stored byte stands for. */
  readonly scales: ReadonlyArray<number>
  /** Int8, row-major (bucket * classes + class), base64. */
  readonly weights: string
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6

/**
 * Stores a head in a byte per weight: a quarter of float32, and small enough to commit. Each class gets its own
 * scale, so the largest weight of a class keeps its full range; the rounding moves a probability by well
 * under a percent (a test holds it to that).
 */
export const storeHead = (head: LinearHead): StoredHead => {
  const classes = head.labels.length
  const scales = Array.from({ length: classes }, (_, c) => {
    let max = 0
    for (let i = c; i < head.weights.length; i += classes) max = Math.max(max, Math.abs(head.weights[i]!))
    return round6(max === 0 ? 1 : max / 127)
  })
  const bytes = new Int8Array(head.weights.length)
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = Math.max(-127, Math.min(127, Math.round(head.weights[i]! / scales[i % classes]!)))
  }
  return {
    labels: head.labels,
    bias: Array.from(head.bias, round6),
    buckets: head.buckets,
    scales,
    weights: Buffer.from(bytes.buffer).toString("base64"),
  }
}

/** Loads a stored head back into the form `predictHead` reads. */
export const loadHead = (stored: StoredHead): LinearHead => {
  const classes = stored.labels.length
  const bytes = new Int8Array(Buffer.from(stored.weights, "base64"))
  if (bytes.length !== stored.buckets * classes) {
    throw new Error(
      `a stored head has ${bytes.length} weights, not ${stored.buckets} buckets × ${classes} classes`,
    )
  }
  const weights = new Float32Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) weights[i] = bytes[i]! * stored.scales[i % classes]!
  return { labels: stored.labels, bias: Float32Array.from(stored.bias), buckets: stored.buckets, weights }
}
