import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { expect } from "vitest"
import { canonicalJson } from "../canonical.ts"
import { type Hlc, type SiteId, type VersionVector, type WriterId, writerId, zeroHlc } from "../registers/clock.ts"
import type { RegisterKind, RegisterRejection } from "../registers/kinds.ts"
import { type AppliedWrite, applyWrite, emptySnapshot, mergeSnapshots, type RegisterSnapshot } from "../registers/register.ts"

// A register's merge is only trustworthy on the states writers can actually reach, so the laws are
// checked on states a simulated mesh produces: sites whose writers apply generated operations, and
// that exchange old snapshots out of order, repeated or not at all until a final exchange.

/** The site ids a simulation uses, in order; op arbitraries that name a site (a transfer) draw from these. */
export const simulationSiteIds: ReadonlyArray<SiteId> = ["eu-edge", "cloud", "us-edge", "ap-edge"]

const agents = ["procurement", "customer-ops"] as const

/** The id of the `index`-th writer at a site: agents alternate, so instances of one agent share a site. */
export const simulationWriterId = (site: SiteId, index: number): WriterId =>
  writerId(site, agents[index % agents.length] ?? "procurement", `i${index}`)

/** One step of a simulation: a writer applies an operation, or a site receives a snapshot another site held. */
export type SimulationStep<O> =
  | {
      readonly _tag: "Write"
      /** Which writer, modulo the number of writers. */
      readonly writer: number
      readonly op: O
      /** How far the writer's wall clock moves before the write; negative when it jumps back. */
      readonly clockStepMs: number
      /**
       * When set, the writer decided on an earlier read: the `staleRead`-th snapshot its site held
       * (modulo their number) is what it observed. Otherwise it observed the snapshot it writes to.
       */
      readonly staleRead: number | null
    }
  | {
      readonly _tag: "Deliver"
      /** The sending and receiving sites, modulo the number of sites (a site never sends to itself). */
      readonly from: number
      readonly to: number
      /** Which of the snapshots the sender ever held is delivered, modulo their number: old ones too. */
      readonly age: number
    }

/** A generated run of a simulated mesh; indices are taken modulo what exists, so every script is valid. */
export interface SimulationScript<O> {
  readonly sites: number
  /** Writers at each site (only the first `sites` entries count). */
  readonly writersPerSite: ReadonlyArray<number>
  /** Each writer's wall clock at the start: small and close, so that clocks tie and skew. */
  readonly startMs: ReadonlyArray<number>
  readonly steps: ReadonlyArray<SimulationStep<O>>
  /** Extra, duplicate deliveries of the final exchange, per receiving site. */
  readonly finalDuplicates: ReadonlyArray<ReadonlyArray<number>>
  /** Sort keys that shuffle each site's final deliveries. */
  readonly finalOrder: ReadonlyArray<ReadonlyArray<number>>
  /** Sort keys that shuffle the final snapshots before they are merged in one fold. */
  readonly mergeOrder: ReadonlyArray<number>
  /** Three reachable snapshots (indices into all of them) to check the merge laws on. */
  readonly lawPicks: readonly [number, number, number]
}

/** How large a simulated mesh gets. */
export interface SimulationOptions {
  /** At most this many sites (at least 2); 4 unless told. */
  readonly sites?: number
  /** At most this many writers per site; 3 unless told. */
  readonly writersPerSite?: number
  /** About this many operations at most (writes and deliveries are each at most this many); 12 unless told. */
  readonly maxOps?: number
}

/** Scripts of simulated meshes whose writers apply the generated operations. */
export const simulationArbitrary = <O>(
  op: fc.Arbitrary<O>,
  options: SimulationOptions = {},
): fc.Arbitrary<SimulationScript<O>> => {
  const maxSites = Math.max(2, options.sites ?? 4)
  const maxWriters = Math.max(1, options.writersPerSite ?? 3)
  const maxOps = Math.max(1, options.maxOps ?? 12)
  const index = fc.nat({ max: 63 })
  const write = fc.record({
    _tag: fc.constant("Write" as const),
    writer: index,
    op,
    clockStepMs: fc.integer({ min: -5, max: 10 }),
    staleRead: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: index, weight: 1 }),
  })
  const deliver = fc.record({ _tag: fc.constant("Deliver" as const), from: index, to: index, age: index })
  const perSite = <T>(arbitrary: fc.Arbitrary<T>) =>
    fc.array(arbitrary, { minLength: maxSites, maxLength: maxSites })
  return fc.record({
    sites: fc.integer({ min: 2, max: maxSites }),
    writersPerSite: perSite(fc.integer({ min: 1, max: maxWriters })),
    startMs: fc.array(fc.nat({ max: 20 }), { minLength: maxSites * maxWriters, maxLength: maxSites * maxWriters }),
    steps: fc
      .tuple(fc.array(write, { maxLength: maxOps }), fc.array(deliver, { maxLength: maxOps }), fc.array(fc.boolean()))
      .map(([writes, deliveries, pattern]) => interleave(writes, deliveries, pattern)),
    finalDuplicates: perSite(fc.array(index, { maxLength: 3 })),
    finalOrder: perSite(fc.array(fc.nat({ max: 99 }), { minLength: maxSites + 3, maxLength: maxSites + 3 })),
    mergeOrder: perSite(fc.nat({ max: 99 })),
    lawPicks: fc.tuple(fc.nat(), fc.nat(), fc.nat()),
  })
}

// Writes and deliveries are generated apart so that each is bounded, then interleaved by a pattern.
const interleave = <A, B>(as: ReadonlyArray<A>, bs: ReadonlyArray<B>, pattern: ReadonlyArray<boolean>) => {
  const steps: Array<A | B> = []
  let i = 0
  let j = 0
  for (let k = 0; i < as.length || j < bs.length; k++) {
    const takeA = j >= bs.length || (i < as.length && (pattern[k] ?? true))
    steps.push(takeA ? (as[i++] as A) : (bs[j++] as B))
  }
  return steps
}

/** One write attempted in a simulation, and what came of it. */
export interface SimulatedWrite<S, O> {
  readonly writer: WriterId
  readonly site: SiteId
  readonly op: O
  readonly nowMs: number
  /** The writer's clock before the write. */
  readonly clock: Hlc
  /** The snapshot the write was applied to. */
  readonly before: RegisterSnapshot<S>
  /** What the writer had observed: `before.context` unless it decided on a stale read. */
  readonly observed: VersionVector
  readonly stale: boolean
  readonly result: Result.Result<AppliedWrite<S>, RegisterRejection>
}

/** Everything a simulation did and every snapshot each site held. */
export interface SimulationRun<S, O> {
  readonly sites: ReadonlyArray<SiteId>
  readonly writers: ReadonlyArray<WriterId>
  readonly writes: ReadonlyArray<SimulatedWrite<S, O>>
  /** Per site, every snapshot it held in order, from the empty one to the converged one. */
  readonly histories: ReadonlyArray<ReadonlyArray<RegisterSnapshot<S>>>
  /** Each site's snapshot before the final exchange. */
  readonly finals: ReadonlyArray<RegisterSnapshot<S>>
  /** Each site's snapshot after it received every other site's final snapshot. */
  readonly converged: ReadonlyArray<RegisterSnapshot<S>>
}

const at = <T>(items: ReadonlyArray<T>, index: number): T => items[index % items.length] as T
const shuffled = <T>(items: ReadonlyArray<T>, keys: ReadonlyArray<number>): Array<T> =>
  items
    .map((item, i) => ({ item, key: keys[i] ?? 0, i }))
    .sort((x, y) => x.key - y.key || x.i - y.i)
    .map(({ item }) => item)

/** Runs a script against a register kind: pure and deterministic. */
export const simulate = <S, O, V>(kind: RegisterKind<S, O, V>, script: SimulationScript<O>): SimulationRun<S, O> => {
  const sites = Array.from({ length: script.sites }, (_, i) => simulationSiteIds[i] ?? `site-${i}`)
  const writers = sites.flatMap((site, s) =>
    Array.from({ length: at(script.writersPerSite, s) }, (_, w) => ({ id: simulationWriterId(site, w), site: s })),
  )
  const clocks: Array<Hlc> = writers.map(() => zeroHlc)
  const nows: Array<number> = writers.map((_, w) => at(script.startMs, w))
  const histories: Array<Array<RegisterSnapshot<S>>> = sites.map(() => [emptySnapshot(kind)])
  const current = (s: number) => histories[s]?.at(-1) ?? emptySnapshot(kind)
  const receive = (to: number, snapshot: RegisterSnapshot<S>) => {
    histories[to]?.push(mergeSnapshots(kind, current(to), snapshot))
  }
  const writes: Array<SimulatedWrite<S, O>> = []

  for (const step of script.steps) {
    if (step._tag === "Write") {
      const w = step.writer % writers.length
      const writer = writers[w]
      if (writer === undefined) continue
      const site = sites[writer.site] as SiteId
      const nowMs = Math.max(0, (nows[w] ?? 0) + step.clockStepMs)
      nows[w] = nowMs
      const before = current(writer.site)
      const stale = step.staleRead !== null
      const observed = step.staleRead === null ? before.context : at(histories[writer.site] ?? [], step.staleRead).context
      const clock = clocks[w] ?? zeroHlc
      const result = applyWrite(kind, before, step.op, {
        writer: writer.id,
        site,
        clock,
        nowMs,
        ...(stale ? { observed } : {}),
      })
      writes.push({ writer: writer.id, site, op: step.op, nowMs, clock, before, observed, stale, result })
      if (Result.isSuccess(result)) {
        clocks[w] = result.success.hlc
        histories[writer.site]?.push(result.success.snapshot)
      }
    } else {
      const from = step.from % sites.length
      const to = (from + 1 + (step.to % (sites.length - 1))) % sites.length
      receive(to, at(histories[from] ?? [], step.age))
    }
  }

  const finals = sites.map((_, s) => current(s))
  sites.forEach((_, to) => {
    const others = sites.map((_, s) => s).filter((s) => s !== to)
    const duplicates = at(script.finalDuplicates, to).map((d) => at(others, d))
    for (const from of shuffled([...others, ...duplicates], at(script.finalOrder, to))) {
      receive(to, finals[from] as RegisterSnapshot<S>)
    }
  })
  return {
    sites,
    writers: writers.map((w) => w.id),
    writes,
    histories,
    finals,
    converged: sites.map((_, s) => current(s)),
  }
}

/** The successful writes of a run with what they applied. */
export const appliedWrites = <S, O>(
  run: SimulationRun<S, O>,
): ReadonlyArray<SimulatedWrite<S, O> & { readonly applied: AppliedWrite<S> }> =>
  run.writes.flatMap((write) => (Result.isSuccess(write.result) ? [{ ...write, applied: write.result.success }] : []))

/** Asserts two states are the same data, key order aside. */
export const expectSameState = (actual: unknown, expected: unknown): void => {
  const a = canonicalJson(actual)
  const b = canonicalJson(expected)
  if (a !== b) expect(JSON.parse(a)).toStrictEqual(JSON.parse(b))
}

/** Asserts a kind's merge is commutative, associative and idempotent on three states. */
export const expectMergeIsJoin = <S>(kind: RegisterKind<S, never, unknown>, a: S, b: S, c: S): void => {
  expectSameState(kind.merge(a, b), kind.merge(b, a))
  expectSameState(kind.merge(kind.merge(a, b), c), kind.merge(a, kind.merge(b, c)))
  expectSameState(kind.merge(a, a), a)
}

/** Asserts every site of a run ended with the same snapshot and read, whatever order the finals merge in. */
export const expectConverged = <S, O, V>(
  kind: RegisterKind<S, O, V>,
  run: SimulationRun<S, O>,
  mergeOrder: ReadonlyArray<number>,
): void => {
  const [first, ...rest] = run.converged
  if (first === undefined) return
  for (const snapshot of rest) {
    expectSameState(snapshot.state, first.state)
    expectSameState(kind.read(snapshot.state), kind.read(first.state))
    expectSameState(snapshot.context, first.context)
    expectSameState(snapshot.hlc, first.hlc)
  }
  const folded = shuffled(run.finals, mergeOrder).reduce((acc, s) => mergeSnapshots(kind, acc, s), emptySnapshot(kind))
  expectSameState(folded, first)
}

/** How many runs, and how large a mesh, a law check simulates. */
export interface RegisterLawOptions<S, O> extends SimulationOptions {
  /** The operations writers apply; they should collide (few distinct values) so that merges have work. */
  readonly op: fc.Arbitrary<O>
  /** 10,000 unless told. */
  readonly numRuns?: number
  /** Further assertions on each run, e.g. the register's own semantics on the converged state. */
  readonly check?: (run: SimulationRun<S, O>) => void
}

/**
 * Asserts, on generated runs of a simulated mesh, that a register kind converges (every site ends
 * with the same state and read once it has received every other site's final snapshot, in any
 * order and repeated), that its merge is a join (commutative, associative, idempotent) on states
 * writers reach, and that the states it reaches survive their JSON encoding. Throws fast-check's
 * report, with a shrunk script, on the first run that breaks one.
 */
export const registerLawsHold = <S, O, V>(
  kind: RegisterKind<S, O, V>,
  options: RegisterLawOptions<NoInfer<S>, NoInfer<O>>,
): void => {
  const stateCodec = kind.state
  fc.assert(
    fc.property(simulationArbitrary(options.op, options), (script) => {
      const run = simulate(kind, script)
      expectConverged(kind, run, script.mergeOrder)
      const reachable = run.histories.flat()
      const [i, j, k] = script.lawPicks
      expectMergeIsJoin(kind, at(reachable, i).state, at(reachable, j).state, at(reachable, k).state)
      expectMergeIsJoin(kind, at(run.finals, 0).state, at(run.finals, 1).state, at(run.finals, 2).state)
      const converged = at(run.converged, 0).state
      const wire = JSON.parse(JSON.stringify(Schema.encodeUnknownSync(stateCodec)(converged)))
      expectSameState(Schema.decodeUnknownSync(stateCodec)(wire), converged)
      options.check?.(run)
    }),
    { numRuns: options.numRuns ?? 10_000 },
  )
}
