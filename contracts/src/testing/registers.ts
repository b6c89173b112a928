import * as fc from "fast-check"
import { expect } from "vitest"
import { canonicalJson } from "../canonical.ts"
import {
  covers,
  type Hlc,
  type SiteId,
  type VersionVector,
  type WriterId,
  writerId,
  zeroHlc,
} from "../registers/clock.ts"
import type { RegisterKind, RegisterRejection } from "../registers/kinds.ts"
import {
  type AppliedWrite,
  applyWrite,
  emptySnapshot,
  mergeSnapshots,
  type RegisterSnapshot,
} from "../registers/register.ts"

// A register's merge is only trustworthy on the states writers can actually reach, so the laws are
// checked on states a simulated mesh produces: sites whose writers apply generated operations, and
// that exchange old snapshots out of order, repeated or not at all until a final exchange.

/** The site ids a simulation uses unless told, in order; ops that name a site (a transfer) draw from these. */
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
  readonly siteIds: ReadonlyArray<SiteId>
  /** How many of `siteIds` take part. */
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
  /** At most this many writes, and at most this many deliveries; 12 unless told. */
  readonly maxOps?: number
  /** The sites' ids, in order (at least two); `simulationSiteIds` unless told. */
  readonly siteIds?: ReadonlyArray<SiteId>
}

/** Scripts of simulated meshes whose writers apply the generated operations. */
export const simulationArbitrary = <O>(
  op: fc.Arbitrary<O>,
  options: SimulationOptions = {},
): fc.Arbitrary<SimulationScript<O>> => {
  const siteIds = options.siteIds ?? simulationSiteIds
  if (siteIds.length < 2) throw new RangeError("a simulated mesh needs at least two site ids")
  const maxSites = Math.max(2, Math.min(options.sites ?? 4, siteIds.length))
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
    siteIds: fc.constant(siteIds),
    sites: fc.integer({ min: 2, max: maxSites }),
    writersPerSite: perSite(fc.integer({ min: 1, max: maxWriters })),
    startMs: fc.array(fc.nat({ max: 20 }), {
      minLength: maxSites * maxWriters,
      maxLength: maxSites * maxWriters,
    }),
    steps: fc
      .tuple(
        fc.array(write, { maxLength: maxOps }),
        fc.array(deliver, { maxLength: maxOps }),
        fc.array(fc.boolean()),
      )
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
  /** What the write did, when it was accepted. */
  readonly applied: AppliedWrite<S> | undefined
  /** Why it was refused, when it was. */
  readonly rejection: RegisterRejection | undefined
}

/** A write the register accepted. */
export type AcceptedWrite<S, O> = SimulatedWrite<S, O> & { readonly applied: AppliedWrite<S> }

/** Everything a simulation did and every snapshot each site held. */
export interface SimulationRun<S, O> {
  readonly script: SimulationScript<O>
  readonly sites: ReadonlyArray<SiteId>
  readonly writers: ReadonlyArray<WriterId>
  /** Every write attempted, in order. */
  readonly writes: ReadonlyArray<SimulatedWrite<S, O>>
  /** The writes the register accepted, in order. */
  readonly accepted: ReadonlyArray<AcceptedWrite<S, O>>
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
export const simulate = <S, O, V>(
  kind: RegisterKind<S, O, V>,
  script: SimulationScript<O>,
): SimulationRun<S, O> => {
  const sites = script.siteIds.slice(0, script.sites)
  const writers = sites.flatMap((site, s) =>
    Array.from({ length: at(script.writersPerSite, s) }, (_, w) => ({
      id: simulationWriterId(site, w),
      site: s,
    })),
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
      const observed =
        step.staleRead === null ? before.context : at(histories[writer.site] ?? [], step.staleRead).context
      const clock = clocks[w] ?? zeroHlc
      const result = applyWrite(kind, before, step.op, {
        writer: writer.id,
        site,
        clock,
        nowMs,
        ...(stale ? { observed } : {}),
      })
      const applied = result._tag === "Success" ? result.success : undefined
      const rejection = result._tag === "Failure" ? result.failure : undefined
      writes.push({
        writer: writer.id,
        site,
        op: step.op,
        nowMs,
        clock,
        before,
        observed,
        stale,
        applied,
        rejection,
      })
      if (applied !== undefined) {
        clocks[w] = applied.hlc
        histories[writer.site]?.push(applied.snapshot)
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
    script,
    sites,
    writers: writers.map((w) => w.id),
    writes,
    accepted: writes.filter((write): write is AcceptedWrite<S, O> => write.applied !== undefined),
    histories,
    finals,
    converged: sites.map((_, s) => current(s)),
  }
}

// Structural equality, key order aside: a fast path for the common case. Serialising every state
// to canonical JSON took more than half the time of a 10,000-run law check.
const sameShape = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    return a.every((item, i) => sameShape(item, b[i]))
  }
  if (Array.isArray(b)) return false
  const aKeys = Object.keys(a)
  if (aKeys.length !== Object.keys(b).length) return false
  return aKeys.every((key) => Object.hasOwn(b, key) && sameShape(Reflect.get(a, key), Reflect.get(b, key)))
}

/** Whether two values are the same JSON, key order aside. */
export const sameJson = (a: unknown, b: unknown): boolean =>
  sameShape(a, b) || canonicalJson(a) === canonicalJson(b)

/** The successful writes of a run that a context has seen: what a snapshot with that context folds in. */
export const writesSeenBy = <S, O>(
  run: SimulationRun<S, O>,
  context: VersionVector,
): ReadonlyArray<AcceptedWrite<S, O>> => run.accepted.filter((write) => covers(context, write.applied.dot))

/** Asserts two values (states, reads, snapshots) are the same JSON, key order aside. */
export const expectSameState = (actual: unknown, expected: unknown, what?: string): void => {
  if (!sameJson(actual, expected)) {
    expect(JSON.parse(canonicalJson(actual)), what).toStrictEqual(JSON.parse(canonicalJson(expected)))
  }
}

/** Asserts a kind's merge is commutative, associative and idempotent on three states. */
export const expectMergeIsJoin = <S>(kind: Pick<RegisterKind<S>, "merge">, a: S, b: S, c: S): void => {
  expectSameState(kind.merge(a, b), kind.merge(b, a), "merge is commutative")
  expectSameState(kind.merge(kind.merge(a, b), c), kind.merge(a, kind.merge(b, c)), "merge is associative")
  expectSameState(kind.merge(a, a), a, "merge is idempotent")
}

/** Asserts every site of a run ended with the same snapshot and read, whatever order the finals merge in. */
export const expectConverged = <S, O, V>(kind: RegisterKind<S, O, V>, run: SimulationRun<S, O>): void => {
  const [first, ...rest] = run.converged
  if (first === undefined) return
  rest.forEach((snapshot, i) => {
    const apart = `${run.sites[0]} and ${run.sites[i + 1]} converge`
    expectSameState(snapshot.state, first.state, apart)
    expectSameState(kind.read(snapshot.state), kind.read(first.state), apart)
    expectSameState(snapshot.context, first.context, apart)
    expectSameState(snapshot.hlc, first.hlc, apart)
  })
  const folded = shuffled(run.finals, run.script.mergeOrder).reduce(
    (acc, snapshot) => mergeSnapshots(kind, acc, snapshot),
    emptySnapshot(kind),
  )
  expectSameState(folded, first, "the final snapshots merged in another order give the converged one")
}

// Snapshots are compared by the writes they have seen several times per run; the key is kept per context object.
const contextKeys = new WeakMap<VersionVector, string>()
const contextKey = (context: VersionVector): string => {
  let key = contextKeys.get(context)
  if (key === undefined) {
    key = JSON.stringify(Object.entries(context).sort())
    contextKeys.set(context, key)
  }
  return key
}

/** One snapshot for each distinct set of writes seen in a run (replicas that saw the same writes hold the same state). */
export const distinctSnapshots = <S>(run: SimulationRun<S, unknown>): ReadonlyArray<RegisterSnapshot<S>> => {
  const byContext = new Map<string, RegisterSnapshot<S>>()
  for (const snapshot of run.histories.flat()) {
    const key = contextKey(snapshot.context)
    if (!byContext.has(key)) byContext.set(key, snapshot)
  }
  return [...byContext.values()]
}

/**
 * Asserts that a state is decided by the writes folded into it: a write only adds to the state it
 * is applied to (merging the two gives the written one), and replicas that have seen the same writes
 * hold the same state, however the writes reached them.
 */
export const expectStateFollowsWrites = <S, O, V>(
  kind: RegisterKind<S, O, V>,
  run: SimulationRun<S, O>,
): void => {
  for (const write of run.accepted) {
    const after = write.applied.snapshot.state
    expectSameState(
      kind.merge(write.before.state, after),
      after,
      "a write only adds to the state it is applied to",
    )
  }
  const byContext = new Map<string, S>()
  for (const snapshot of run.histories.flat()) {
    const key = contextKey(snapshot.context)
    const seen = byContext.get(key)
    if (seen === undefined) byContext.set(key, snapshot.state)
    else expectSameState(snapshot.state, seen, `replicas that have seen the writes ${key} hold one state`)
  }
}

/** Asserts a check on every simulated run of a register kind (10,000 runs unless told). */
export const assertEverySimulation = <S, O, V>(
  kind: RegisterKind<S, O, V>,
  options: SimulationOptions & { readonly op: fc.Arbitrary<NoInfer<O>>; readonly numRuns?: number },
  check: (run: SimulationRun<NoInfer<S>, NoInfer<O>>) => void,
): void => {
  fc.assert(
    fc.property(simulationArbitrary(options.op, options), (script) => check(simulate(kind, script))),
    { numRuns: options.numRuns ?? 10_000 },
  )
}

/** How many runs, and how large a mesh, a law check simulates. */
export interface RegisterLawOptions<S, O> extends SimulationOptions {
  /** The operations writers apply; they should collide (few distinct values) so that merges have work. */
  readonly op: fc.Arbitrary<O>
  /** 10,000 unless told. */
  readonly numRuns?: number
  /** Further assertions on each run: the register's own semantics, say, at every replica. */
  readonly check?: (run: SimulationRun<S, O>) => void
}

/**
 * Asserts, on generated runs of a simulated mesh, that a register kind converges (every site ends
 * with the same state and read once it has received every other site's final snapshot, in any
 * order and repeated), that its merge is a join (commutative, associative, idempotent) on states
 * writers reach, and that its state is decided by the writes seen (`expectStateFollowsWrites`).
 * Throws fast-check's report, with a shrunk script, on the first run that breaks one.
 */
export const registerLawsHold = <S, O, V>(
  kind: RegisterKind<S, O, V>,
  options: RegisterLawOptions<NoInfer<S>, NoInfer<O>>,
): void => {
  assertEverySimulation(kind, options, (run) => {
    expectConverged(kind, run)
    const reachable = run.histories.flat()
    const [i, j, k] = run.script.lawPicks
    expectMergeIsJoin(kind, at(reachable, i).state, at(reachable, j).state, at(reachable, k).state)
    expectMergeIsJoin(kind, at(run.finals, 0).state, at(run.finals, 1).state, at(run.finals, 2).state)
    expectStateFollowsWrites(kind, run)
    options.check?.(run)
  })
}
