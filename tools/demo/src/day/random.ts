import { uniformInt } from "pure-rand/distribution/uniformInt"
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus"

/** A seeded source of choices: the same seed makes the same day. */
export interface Choices {
  /** An integer in [from, to]. */
  readonly int: (from: number, to: number) => number
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  /** One of `items`, each as likely as its weight. */
  readonly weighted: <A>(items: ReadonlyArray<readonly [A, number]>) => A
  /** An independent stream of choices, so that one part of the day drawing more does not shift another's. */
  readonly fork: (label: string) => Choices
}

const hashLabel = (label: string): number => {
  let h = 2166136261
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619)
  return h | 0
}

/** Choices from `seed` (xoroshiro128+, as fast-check uses). */
export const seededChoices = (seed: number): Choices => {
  const rng = xoroshiro128plus(seed)
  const int = (from: number, to: number) => uniformInt(rng, from, to)
  const chance = (p: number) => int(0, 999_999) < Math.round(p * 1_000_000)
  const pick = <A>(items: ReadonlyArray<A>): A => {
    if (items.length === 0) throw new Error("pick from nothing")
    return items[int(0, items.length - 1)] as A
  }
  const weighted = <A>(items: ReadonlyArray<readonly [A, number]>): A => {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0)
    let roll = int(0, Math.max(0, Math.round(total * 1000) - 1)) / 1000
    for (const [item, weight] of items) {
      if (roll < weight) return item
      roll -= weight
    }
    return (items[items.length - 1] as readonly [A, number])[0]
  }
  return { int, chance, pick, weighted, fork: (label) => seededChoices(seed ^ hashLabel(label)) }
}
