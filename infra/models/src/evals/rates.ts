// Proportions with their confidence intervals, for every eval that reports a rate (triage, retrieval).

/** The normal quantile of a two-sided 95% interval. */
const Z95 = 1.959963984540054

const round4 = (value: number): number => Math.round(value * 10_000) / 10_000

/** The 95% Wilson score interval of `hits` successes out of `n` ([0, 1] when n is 0). */
export const wilsonInterval = (hits: number, n: number, z = Z95): readonly [number, number] => {
  if (n === 0) return [0, 1]
  const p = hits / n
  const z2 = z * z
  const denominator = 1 + z2 / n
  const centre = (p + z2 / (2 * n)) / denominator
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))
  return [Math.max(0, centre - half), Math.min(1, centre + half)]
}

/** A proportion with its 95% Wilson interval, rounded to 4 places; `rate` is null when n is 0. */
export interface Rate {
  readonly hits: number
  readonly n: number
  readonly rate: number | null
  readonly lo: number
  readonly hi: number
}

/** `hits` out of `n` as a {@link Rate}. */
export const rateOf = (hits: number, n: number): Rate => {
  const [lo, hi] = wilsonInterval(hits, n)
  return { hits, n, rate: n === 0 ? null : round4(hits / n), lo: round4(lo), hi: round4(hi) }
}
