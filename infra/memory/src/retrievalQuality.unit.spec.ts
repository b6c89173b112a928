import { describe, expect, it } from "vitest"
import {
  driftSignal,
  emptyQuality,
  populationStabilityIndex,
  type QualityState,
  recordTopScore,
  scoreDistribution,
} from "./retrievalQuality.ts"

const options = { buckets: 10, window: 50 }

/** A deterministic spread of scores around a centre (no randomness in unit tests). */
const scoresAround = (centre: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => centre + ((i % 11) - 5) * 0.01)

const recordAll = (state: QualityState, scores: ReadonlyArray<number | undefined>): QualityState =>
  scores.reduce((s, score) => recordTopScore(s, score, options), state)

describe("score distribution", () => {
  it("buckets top scores and reports interpolated quantiles", () => {
    const state = recordAll(emptyQuality(options), [0.05, 0.15, 0.55, 0.55, 0.95, undefined])
    const distribution = scoreDistribution(state)
    expect(distribution.searches).toBe(6)
    expect(distribution.empty).toBe(1)
    expect(distribution.buckets.map((b) => b.count)).toEqual([1, 1, 0, 0, 0, 2, 0, 0, 0, 1])
    expect(distribution.mean).toBeCloseTo((0.05 + 0.15 + 0.55 + 0.55 + 0.95) / 5)
    // The median (2.5 of 5 scores) falls a quarter of the way into the 0.5-0.6 bucket.
    expect(distribution.p50).toBeCloseTo(0.525)
    expect(distribution.p90).toBeCloseTo(0.95)
  })

  it("has no quantiles before any scored search", () => {
    const distribution = scoreDistribution(recordAll(emptyQuality(options), [undefined]))
    expect(distribution).toMatchObject({ searches: 1, empty: 1, mean: null, p50: null, p90: null })
  })

  it("clamps scores outside [0, 1] into the end buckets", () => {
    const counts = scoreDistribution(recordAll(emptyQuality(options), [-0.3, 1.2])).buckets.map(
      (b) => b.count,
    )
    expect(counts[0]).toBe(1)
    expect(counts[9]).toBe(1)
  })
})

describe("drift signal", () => {
  it("warms up until both windows are full", () => {
    const state = recordAll(emptyQuality(options), scoresAround(0.8, 70))
    const drift = driftSignal(state, options)
    expect(drift.status).toBe("warming-up")
    expect(drift.baselineSize).toBe(50)
    expect(drift.recentSize).toBe(20)
    expect(drift.psi).toBeNull()
  })

  it("is stable while scores keep their shape", () => {
    const state = recordAll(emptyQuality(options), scoresAround(0.8, 150))
    const drift = driftSignal(state, options)
    expect(drift.status).toBe("stable")
    expect(drift.meanRatio).toBeCloseTo(1, 2)
    expect(drift.psi).toBeLessThan(0.1)
  })

  it("flags a fall in top scores as significant drift", () => {
    const state = recordAll(emptyQuality(options), [...scoresAround(0.8, 50), ...scoresAround(0.55, 80)])
    const drift = driftSignal(state, options)
    expect(drift.status).toBe("significant")
    expect(drift.recentSize).toBe(50)
    expect(drift.meanRatio).toBeCloseTo(0.55 / 0.8, 1)
    expect(drift.psi).toBeGreaterThan(0.25)
  })

  it("keeps only the latest window of recent scores", () => {
    const state = recordAll(emptyQuality(options), [
      ...scoresAround(0.8, 50),
      ...scoresAround(0.3, 50),
      ...scoresAround(0.8, 50),
    ])
    expect(driftSignal(state, options).status).toBe("stable")
  })

  it("holds each window at its size, down to a window of one, without changing the state it was given", () => {
    const one = { buckets: 10, window: 1 }
    const states: QualityState[] = []
    for (const score of [0.5, 0.6, 0.7, 0.8])
      states.push(recordTopScore(states.at(-1) ?? emptyQuality(one), score, one))
    expect(states.map((s) => [s.baseline, s.recent])).toEqual([
      [[0.5], []],
      [[0.5], [0.6]],
      [[0.5], [0.7]],
      [[0.5], [0.8]],
    ])
  })
})

describe("population stability index", () => {
  it("is zero for identical samples and grows with the shift", () => {
    const base = scoresAround(0.7, 100)
    expect(populationStabilityIndex(base, base)).toBeCloseTo(0)
    const small = populationStabilityIndex(base, scoresAround(0.71, 100))
    const large = populationStabilityIndex(base, scoresAround(0.9, 100))
    expect(small).toBeLessThan(large)
  })
})
