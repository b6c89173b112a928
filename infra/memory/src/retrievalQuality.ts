/**
 * Retrieval quality over time, as a pure core: each search contributes its best similarity
 * (the top hit's cosine similarity) to a histogram, and the scores of recent searches are
 * compared with a frozen baseline window to give a drift signal. When memories age, the
 * embedder changes or the questions move away from what is stored, the recent scores fall
 * or change shape and the signal says so.
 */

/** How the histogram and drift windows are sized. */
export interface QualityOptions {
  /** Equal-width histogram buckets over similarity [0, 1]. */
  readonly buckets: number
  /** Searches in the baseline window and in the recent window. */
  readonly window: number
}

/** Defaults: 20 histogram buckets, windows of 200 searches. */
export const defaultQualityOptions: QualityOptions = { buckets: 20, window: 200 }

/** The quality record of one agent's memory of one kind. */
export interface QualityState {
  readonly counts: ReadonlyArray<number>
  readonly searches: number
  /** Searches that found nothing (they have no score). */
  readonly empty: number
  readonly sum: number
  /** The first `window` top scores; frozen once full. */
  readonly baseline: ReadonlyArray<number>
  /** The latest `window` top scores after the baseline was frozen. */
  readonly recent: ReadonlyArray<number>
}

/** An empty quality record. */
export const emptyQuality = (options: QualityOptions = defaultQualityOptions): QualityState => ({
  counts: Array.from({ length: options.buckets }, () => 0),
  searches: 0,
  empty: 0,
  sum: 0,
  baseline: [],
  recent: [],
})

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x))

/** Records one search: its top score, or `undefined` when it found nothing. */
export const recordTopScore = (
  state: QualityState,
  topScore: number | undefined,
  options: QualityOptions = defaultQualityOptions,
): QualityState => {
  if (topScore === undefined || !Number.isFinite(topScore)) {
    return { ...state, searches: state.searches + 1, empty: state.empty + 1 }
  }
  const score = clamp01(topScore)
  const bucket = Math.min(options.buckets - 1, Math.floor(score * options.buckets))
  const counts = state.counts.slice()
  counts[bucket] = (counts[bucket] ?? 0) + 1
  const baselineFull = state.baseline.length >= options.window
  return {
    counts,
    searches: state.searches + 1,
    empty: state.empty,
    sum: state.sum + score,
    baseline: baselineFull ? state.baseline : appendWithin(state.baseline, score, options.window),
    recent: baselineFull ? appendWithin(state.recent, score, options.window) : state.recent,
  }
}

// One copy per search: this runs on every search, and two copies of a 200-score window were a
// sizeable share of what a search allocated.
const appendWithin = (xs: ReadonlyArray<number>, x: number, max: number): Array<number> => {
  const out = xs.slice(Math.max(0, xs.length - max + 1))
  out.push(x)
  return out
}

/** One histogram bucket: scores in [from, to). */
export interface ScoreBucket {
  readonly from: number
  readonly to: number
  readonly count: number
}

/** The distribution of top scores of every recorded search. */
export interface ScoreDistribution {
  readonly searches: number
  readonly empty: number
  readonly mean: number | null
  readonly p50: number | null
  readonly p90: number | null
  readonly buckets: ReadonlyArray<ScoreBucket>
}

/** The histogram with its mean and interpolated p50 and p90. */
export const scoreDistribution = (state: QualityState): ScoreDistribution => {
  const width = 1 / state.counts.length
  const scored = state.searches - state.empty
  const buckets = state.counts.map((count, i) => ({ from: i * width, to: (i + 1) * width, count }))
  return {
    searches: state.searches,
    empty: state.empty,
    mean: scored === 0 ? null : state.sum / scored,
    p50: histogramQuantile(state.counts, scored, 0.5),
    p90: histogramQuantile(state.counts, scored, 0.9),
    buckets,
  }
}

/** A quantile from bucket counts, interpolating linearly inside the bucket where it falls. */
const histogramQuantile = (counts: ReadonlyArray<number>, total: number, q: number): number | null => {
  if (total === 0) return null
  const width = 1 / counts.length
  const target = q * total
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!
    if (count > 0 && seen + count >= target) return (i + (target - seen) / count) * width
    seen += count
  }
  return 1
}

/** How far recent top scores have moved from the baseline. */
export interface DriftSignal {
  /** PSI bands: below 0.1 stable, below 0.25 moderate, above that significant. */
  readonly status: "warming-up" | "stable" | "moderate" | "significant"
  readonly baselineSize: number
  readonly recentSize: number
  readonly baselineMean: number | null
  readonly recentMean: number | null
  /** Recent mean top score over baseline mean: below 1 means retrieval is finding weaker matches. */
  readonly meanRatio: number | null
  /** Population stability index of recent scores against the baseline's deciles. */
  readonly psi: number | null
}

const mean = (xs: ReadonlyArray<number>): number | null =>
  xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length

/** The drift signal; `warming-up` until both windows are full. */
export const driftSignal = (
  state: QualityState,
  options: QualityOptions = defaultQualityOptions,
): DriftSignal => {
  const baselineMean = mean(state.baseline)
  const recentMean = mean(state.recent)
  const ready = state.baseline.length >= options.window && state.recent.length >= options.window
  const psi = ready ? populationStabilityIndex(state.baseline, state.recent) : null
  return {
    status: psi === null ? "warming-up" : psi < 0.1 ? "stable" : psi < 0.25 ? "moderate" : "significant",
    baselineSize: state.baseline.length,
    recentSize: state.recent.length,
    baselineMean,
    recentMean,
    meanRatio:
      baselineMean !== null && recentMean !== null && baselineMean > 0 ? recentMean / baselineMean : null,
    psi,
  }
}

/**
 * PSI = Σ (r_i − b_i) · ln(r_i / b_i) over the baseline's decile bins, with a small floor on
 * empty bins. Quantile bins follow the scores wherever they sit, where equal-width bins over
 * [0, 1] would lump a narrow band of similarities into one or two bins.
 */
export const populationStabilityIndex = (
  baseline: ReadonlyArray<number>,
  recent: ReadonlyArray<number>,
  bins = 10,
): number => {
  const sorted = baseline.slice().sort((a, b) => a - b)
  const edges = Array.from(
    { length: bins - 1 },
    (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / bins)]!,
  )
  const share = (xs: ReadonlyArray<number>): number[] => {
    const counts = Array.from({ length: bins }, () => 0)
    for (const x of xs) {
      let bin = 0
      while (bin < edges.length && x >= edges[bin]!) bin++
      counts[bin] = counts[bin]! + 1
    }
    return counts.map((c) => Math.max(c / xs.length, 1e-4))
  }
  const b = share(baseline)
  const r = share(recent)
  let psi = 0
  for (let i = 0; i < bins; i++) psi += (r[i]! - b[i]!) * Math.log(r[i]! / b[i]!)
  return psi
}
