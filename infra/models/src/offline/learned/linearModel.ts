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
export const defaultTrainOptions: TrainOptions = { epochs: 20, learningRate: 0.15, l2: 1e-5, seed: 7 }

/**
 * A trained head: a dense row of weights for every hash bucket. A head of two labels is a logistic regression
 * with one weight per bucket (the second label's probability); a head of more is a softmax with one per label.
 */
export interface LinearHead {
  readonly labels: ReadonlyArray<string>
  readonly bias: Float32Array
  readonly buckets: number
  /** Weights per bucket: 1 for two labels, else one per label. */
  readonly columns: number
  /** Row-major: bucket * columns + column. */
  readonly weights: Float32Array
}

const columnsOf = (classes: number) => (classes === 2 ? 1 : classes)

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

// Turns a head's raw scores (one per column) into class probabilities.
const probabilitiesInto = (raw: Float64Array, out: Float64Array): void => {
  if (raw.length === 1) {
    const p = 1 / (1 + Math.exp(-raw[0]!))
    out[0] = 1 - p
    out[1] = p
    return
  }
  out.set(raw)
  softmaxInto(out)
}

/** Trains a head over `buckets` hash buckets on examples whose labels index `labels`. */
export const trainHead = (
  labels: ReadonlyArray<string>,
  examples: ReadonlyArray<TrainingExample>,
  buckets: number,
  options: TrainOptions = defaultTrainOptions,
): LinearHead => {
  const classes = labels.length
  const columns = columnsOf(classes)
  const weights = new Float32Array(buckets * columns)
  const squares = new Float32Array(buckets * columns)
  const bias = new Float32Array(columns)
  const biasSquares = new Float32Array(columns)
  const order = examples.map((_, i) => i)
  const random = prng(options.seed)
  const raw = new Float64Array(columns)
  const probabilities = new Float64Array(classes)
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
      for (let c = 0; c < columns; c++) raw[c] = bias[c]!
      for (let k = 0; k < indices.length; k++) {
        const row = indices[k]! * columns
        const v = values[k]!
        for (let c = 0; c < columns; c++) raw[c] = raw[c]! + weights[row + c]! * v
      }
      probabilitiesInto(raw, probabilities)
      const weight = example.weight ?? 1
      for (let c = 0; c < columns; c++) {
        // Cross-entropy's gradient: the predicted probability less the target, for the column's class.
        const target = columns === 1 ? (example.label === 1 ? 1 : 0) : c === example.label ? 1 : 0
        const gradient = ((columns === 1 ? probabilities[1]! : probabilities[c]!) - target) * weight
        biasSquares[c] = biasSquares[c]! + gradient * gradient
        bias[c] = bias[c]! - (options.learningRate * gradient) / Math.sqrt(biasSquares[c]! + 1e-8)
        for (let k = 0; k < indices.length; k++) {
          const slot = indices[k]! * columns + c
          const g = gradient * values[k]! + options.l2 * weights[slot]!
          squares[slot] = squares[slot]! + g * g
          weights[slot] = weights[slot]! - (options.learningRate * g) / Math.sqrt(squares[slot]! + 1e-8)
        }
      }
    }
  }
  return { labels, bias, buckets, columns, weights }
}

/** The class probabilities a head gives a feature vector, in the order of its labels. */
export const predictHead = (head: LinearHead, features: SparseVector): Float64Array => {
  const { columns } = head
  const raw = new Float64Array(columns)
  for (let c = 0; c < columns; c++) raw[c] = head.bias[c]!
  const { indices, values } = features
  for (let k = 0; k < indices.length; k++) {
    const at = indices[k]! * columns
    if (at >= head.weights.length) continue
    const v = values[k]!
    for (let c = 0; c < columns; c++) raw[c] = raw[c]! + head.weights[at + c]! * v
  }
  const probabilities = new Float64Array(head.labels.length)
  probabilitiesInto(raw, probabilities)
  return probabilities
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
  /** Per column: the weight one step of the stored byte stands for. */
  readonly scales: ReadonlyArray<number>
  /** Int8, row-major (bucket * columns + column), base64. */
  readonly weights: string
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6

/**
 * Stores a head in a byte per weight: a quarter of float32, and small enough to commit. Each class gets its own
 * scale, so the largest weight of a class keeps its full range; the rounding moves a probability by well
 * under a percent (a test holds it to that).
 */
export const storeHead = (head: LinearHead): StoredHead => {
  const { columns } = head
  const scales = Array.from({ length: columns }, (_, c) => {
    let max = 0
    for (let i = c; i < head.weights.length; i += columns) max = Math.max(max, Math.abs(head.weights[i]!))
    return round6(max === 0 ? 1 : max / 127)
  })
  const bytes = new Int8Array(head.weights.length)
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = Math.max(-127, Math.min(127, Math.round(head.weights[i]! / scales[i % columns]!)))
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
  const columns = columnsOf(stored.labels.length)
  const bytes = new Int8Array(Buffer.from(stored.weights, "base64"))
  if (bytes.length !== stored.buckets * columns || stored.scales.length !== columns) {
    throw new Error(
      `a stored head of ${stored.labels.length} labels has ${bytes.length} weights and ${stored.scales.length} scales, not ${stored.buckets} buckets × ${columns}`,
    )
  }
  const weights = new Float32Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) weights[i] = bytes[i]! * stored.scales[i % columns]!
  return {
    labels: stored.labels,
    bias: Float32Array.from(stored.bias),
    buckets: stored.buckets,
    columns,
    weights,
  }
}

/**
 * Several heads over the same buckets, their weights side by side: scoring all of them reads each feature's
 * row once, in one cache line or two, instead of once per head from arrays megabytes apart.
 */
export interface PackedHeads {
  readonly heads: ReadonlyArray<LinearHead>
  readonly buckets: number
  /** Columns per bucket, over all heads. */
  readonly width: number
  /** Where each head's columns start in a row. */
  readonly offsets: ReadonlyArray<number>
  readonly weights: Float32Array
}

/** Packs heads trained over the same number of buckets. */
export const packHeads = (heads: ReadonlyArray<LinearHead>): PackedHeads => {
  const buckets = heads[0]?.buckets ?? 0
  if (heads.some((head) => head.buckets !== buckets)) throw new Error("packed heads must share their buckets")
  const offsets: Array<number> = []
  let width = 0
  for (const head of heads) {
    offsets.push(width)
    width += head.columns
  }
  const weights = new Float32Array(buckets * width)
  heads.forEach((head, h) => {
    for (let bucket = 0; bucket < buckets; bucket++) {
      for (let c = 0; c < head.columns; c++) {
        weights[bucket * width + offsets[h]! + c] = head.weights[bucket * head.columns + c]!
      }
    }
  })
  return { heads, buckets, width, offsets, weights }
}

/** Every packed head's class probabilities for a feature vector: the same numbers `predictHead` gives. */
export const predictPacked = (packed: PackedHeads, features: SparseVector): ReadonlyArray<Float64Array> => {
  const { width, weights, heads, offsets } = packed
  const raw = new Float64Array(width)
  heads.forEach((head, h) => {
    for (let c = 0; c < head.columns; c++) raw[offsets[h]! + c] = head.bias[c]!
  })
  const { indices, values } = features
  for (let k = 0; k < indices.length; k++) {
    const at = indices[k]! * width
    if (at >= weights.length) continue
    const v = values[k]!
    for (let c = 0; c < width; c++) raw[c] = raw[c]! + weights[at + c]! * v
  }
  return heads.map((head, h) => {
    const probabilities = new Float64Array(head.labels.length)
    probabilitiesInto(raw.subarray(offsets[h]!, offsets[h]! + head.columns), probabilities)
    return probabilities
  })
}
