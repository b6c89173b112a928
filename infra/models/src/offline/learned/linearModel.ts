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
export const defaultTrainOptions: TrainOptions = { epochs: 30, learningRate: 0.5, l2: 1e-5, seed: 7 }

/** A trained softmax head: the weights of every bucket it has seen, one row of `classes` weights per bucket. */
export interface LinearHead {
  readonly labels: ReadonlyArray<string>
  readonly bias: Float32Array
  /** bucket -> row index into `weights` */
  readonly rows: Map<number, number>
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

/** Trains a softmax head on examples whose labels index `labels`. */
export const trainHead = (
  labels: ReadonlyArray<string>,
  examples: ReadonlyArray<TrainingExample>,
  options: TrainOptions = defaultTrainOptions,
): LinearHead => {
  const classes = labels.length
  const rows = new Map<number, number>()
  for (const example of examples) {
    for (const index of example.features.indices) if (!rows.has(index)) rows.set(index, rows.size)
  }
  // Each example's buckets resolved to weight rows once, not once per epoch and class.
  const rowsOf = examples.map((example) => Int32Array.from(example.features.indices, (i) => rows.get(i)!))
  const weights = new Float32Array(rows.size * classes)
  const squares = new Float32Array(rows.size * classes)
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
      const { values } = example.features
      const exampleRows = rowsOf[at]!
      for (let c = 0; c < classes; c++) scores[c] = bias[c]!
      for (let k = 0; k < exampleRows.length; k++) {
        const row = exampleRows[k]! * classes
        const v = values[k]!
        for (let c = 0; c < classes; c++) scores[c] = scores[c]! + weights[row + c]! * v
      }
      softmaxInto(scores)
      const weight = example.weight ?? 1
      for (let c = 0; c < classes; c++) {
        const gradient = (scores[c]! - (c === example.label ? 1 : 0)) * weight
        biasSquares[c] = biasSquares[c]! + gradient * gradient
        bias[c] = bias[c]! - (options.learningRate * gradient) / Math.sqrt(biasSquares[c]! + 1e-8)
        for (let k = 0; k < exampleRows.length; k++) {
          const slot = exampleRows[k]! * classes + c
          const g = gradient * values[k]! + options.l2 * weights[slot]!
          squares[slot] = squares[slot]! + g * g
          weights[slot] = weights[slot]! - (options.learningRate * g) / Math.sqrt(squares[slot]! + 1e-8)
        }
      }
    }
  }
  return { labels, bias, rows, weights }
}

/** The class probabilities a head gives a feature vector, in the order of its labels. */
export const predictHead = (head: LinearHead, features: SparseVector): Float64Array => {
  const classes = head.labels.length
  const scores = new Float64Array(classes)
  for (let c = 0; c < classes; c++) scores[c] = head.bias[c]!
  const { indices, values } = features
  for (let k = 0; k < indices.length; k++) {
    const row = head.rows.get(indices[k]!)
    if (row === undefined) continue
    const v = values[k]!
    const at = row * classes
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

/** A head in a JSON-safe form: labels, bias, and for each kept bucket its row of weights. */
export interface StoredHead {
  readonly labels: ReadonlyArray<string>
  readonly bias: ReadonlyArray<number>
  readonly buckets: ReadonlyArray<number>
  /** Weights row by row, quantised to `scale` steps. */
  readonly weights: ReadonlyArray<number>
  readonly scale: number
}

/**
 * Stores a head compactly: rows whose every weight rounds to zero at the quantisation step are dropped (they
 * cannot change a prediction by more than the step), and weights are kept as integers of `1 / scale`.
 */
export const storeHead = (head: LinearHead, scale = 1000): StoredHead => {
  const classes = head.labels.length
  const buckets: Array<number> = []
  const weights: Array<number> = []
  const entries = [...head.rows.entries()].sort((a, b) => a[0] - b[0])
  for (const [bucket, row] of entries) {
    const quantised: Array<number> = []
    let any = false
    for (let c = 0; c < classes; c++) {
      const q = Math.round(head.weights[row * classes + c]! * scale)
      if (q !== 0) any = true
      quantised.push(q)
    }
    if (!any) continue
    buckets.push(bucket)
    weights.push(...quantised)
  }
  return {
    labels: head.labels,
    bias: Array.from(head.bias, (b) => Math.round(b * scale) / scale),
    buckets,
    weights,
    scale,
  }
}

/** Loads a stored head back into the form `predictHead` reads. */
export const loadHead = (stored: StoredHead): LinearHead => {
  const rows = new Map<number, number>()
  stored.buckets.forEach((bucket, i) => rows.set(bucket, i))
  const weights = Float32Array.from(stored.weights, (w) => w / stored.scale)
  return { labels: stored.labels, bias: Float32Array.from(stored.bias), rows, weights }
}
