import { Schema } from "effect"
import { SubjectToken } from "../subjects.ts"

// The causal vocabulary of registers: who wrote (a writer instance at a site), when (a hybrid
// logical clock), and what it had seen (a version vector of dots). All of it is pure: time arrives
// as an argument, so that a replay computes the same clocks.

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** A site: one NATS deployment (a cloud cluster, an edge server) whose registers replicate with the others. */
export const SiteId = SubjectToken
/** A site name. */
export type SiteId = typeof SiteId.Type

/**
 * One writer: an instance of an agent at a site, `<site>/<agent>/<instance>`. An agent's replicas
 * share its name, so the instance part (unique per process) is what tells two writers apart.
 */
export const WriterId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_-]{1,128}\/[A-Za-z0-9_-]{1,128}\/[A-Za-z0-9_-]{1,128}$/, {
    message: "must be <site>/<agent>/<instance>, each 1-128 letters, digits, '_' or '-'",
  }),
)
/** A writer instance, `<site>/<agent>/<instance>`. */
export type WriterId = typeof WriterId.Type

/** Builds a writer id from its parts (each a subject token). */
export const writerId = (site: string, agent: string, instance: string): WriterId =>
  `${site}/${agent}/${instance}`

/** The site part of a writer id. */
export const siteOfWriter = (writer: WriterId): SiteId => writer.slice(0, writer.indexOf("/"))

/**
 * A hybrid logical clock reading: wall-clock milliseconds, and a counter that orders events within
 * one millisecond or while the wall clock lags a clock already seen. It never goes backwards on a
 * writer, whatever its wall clock does, and it is always after every reading the writer has seen.
 */
export const Hlc = Schema.Struct({ wall: NonNegativeInt, logical: NonNegativeInt })
/** A hybrid logical clock reading. */
export type Hlc = typeof Hlc.Type

/** The reading before any other. */
export const zeroHlc: Hlc = { wall: 0, logical: 0 }

/** Orders two readings: negative when `a` is earlier. */
export const compareHlc = (a: Hlc, b: Hlc): number => a.wall - b.wall || a.logical - b.logical

/** The later of two readings. */
export const maxHlc = (a: Hlc, b: Hlc): Hlc => (compareHlc(a, b) >= 0 ? a : b)

/** The reading of a local event (a write) after `last`, at wall time `nowMs`. */
export const tickHlc = (last: Hlc, nowMs: number): Hlc =>
  nowMs > last.wall ? { wall: nowMs, logical: 0 } : { wall: last.wall, logical: last.logical + 1 }

/** The clock after seeing a remote reading (a value read from a register), at wall time `nowMs`. */
export const receiveHlc = (last: Hlc, remote: Hlc, nowMs: number): Hlc => {
  const wall = Math.max(last.wall, remote.wall, nowMs)
  if (wall === last.wall && wall === remote.wall) {
    return { wall, logical: Math.max(last.logical, remote.logical) + 1 }
  }
  if (wall === last.wall) return { wall, logical: last.logical + 1 }
  if (wall === remote.wall) return { wall, logical: remote.logical + 1 }
  return { wall, logical: 0 }
}

/** A write's position in time and its writer: a total order, the writer breaking ties. */
export const Stamp = Schema.Struct({ hlc: Hlc, writer: WriterId })
/** A write's stamp. */
export type Stamp = typeof Stamp.Type

/** Orders two stamps: by clock, then by writer id. */
export const compareStamp = (a: Stamp, b: Stamp): number =>
  compareHlc(a.hlc, b.hlc) || (a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0)

/** One write of one writer: the writer's n-th write is its dot n. */
export const Dot = Schema.Struct({ writer: WriterId, counter: PositiveInt })
/** A dot. */
export type Dot = typeof Dot.Type

/** The dots a state has seen: for each writer, how many of its writes (its writes are seen in order). */
export const VersionVector = Schema.Record(WriterId, PositiveInt)
/** A version vector. */
export type VersionVector = typeof VersionVector.Type

/** Whether a version vector has seen a dot. */
export const covers = (context: VersionVector, dot: Dot): boolean => (context[dot.writer] ?? 0) >= dot.counter

/** The least vector that has seen everything either has. */
export const mergeVersionVectors = (a: VersionVector, b: VersionVector): VersionVector => {
  const merged: Record<WriterId, number> = { ...a }
  for (const [writer, counter] of Object.entries(b)) {
    if ((merged[writer] ?? 0) < counter) put(merged, writer, counter)
  }
  return sortKeys(merged)
}

/** How two causal histories relate. */
export type CausalOrder = "equal" | "before" | "after" | "concurrent"

/** Compares two histories: `before` when `a` has seen only part of what `b` has. */
export const compareVersionVectors = (a: VersionVector, b: VersionVector): CausalOrder => {
  let aAhead = false
  let bAhead = false
  for (const writer of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[writer] ?? 0
    const y = b[writer] ?? 0
    if (x > y) aAhead = true
    if (y > x) bAhead = true
  }
  return aAhead ? (bAhead ? "concurrent" : "after") : bAhead ? "before" : "equal"
}

/** The dots of `a` that `b` has not seen, as a vector of (writer, first unseen, last) ranges. */
export const unseenBy = (
  a: VersionVector,
  b: VersionVector,
): ReadonlyArray<{ readonly writer: WriterId; readonly from: number; readonly to: number }> =>
  Object.entries(a)
    .filter(([writer, counter]) => counter > (b[writer] ?? 0))
    .map(([writer, counter]) => ({ writer, from: (b[writer] ?? 0) + 1, to: counter }))
    .sort((x, y) => (x.writer < y.writer ? -1 : x.writer > y.writer ? 1 : 0))

/** A record with its keys in code-unit order, so that equal states serialise alike. */
export const sortKeys = <V>(record: Readonly<Record<string, V>>): Record<string, V> => {
  const sorted: Record<string, V> = {}
  for (const key of Object.keys(record).sort()) put(sorted, key, record[key] as V)
  return sorted
}

/**
 * Sets an own property, even one named `__proto__` (a valid site or reservation id), which a plain
 * assignment would turn into a change of prototype.
 */
export const put = <V>(record: Record<string, V>, key: string, value: V): void => {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
}
