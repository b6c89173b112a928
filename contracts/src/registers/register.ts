import { Result, Schema } from "effect"
import { assertSubjectToken } from "../subjects.ts"
import {
  compareVersionVectors,
  type Dot,
  Hlc,
  maxHlc,
  mergeVersionVectors,
  type SiteId,
  tickHlc,
  unseenBy,
  VersionVector,
  type WriterId,
  zeroHlc,
} from "./clock.ts"
import type { RegisterKind, RegisterRejection } from "./kinds.ts"

/**
 * A shared register: a named, typed value several agents write, with its merge declared here in
 * the contracts beside the events, and the agent that owns it (answers for its invariants and
 * resolves what its merge cannot).
 */
export interface RegisterDefinition<S = unknown, O = unknown, V = unknown> {
  /** A subject token, e.g. `inventory-on-hand`. */
  readonly name: string
  readonly kind: RegisterKind<S, O, V>
  /** The agent that owns it. */
  readonly owner: string
  /** The agents that write it (the owner included). */
  readonly writers: ReadonlyArray<string>
  /** What one instance's id names, e.g. "SKU". */
  readonly key: string
  readonly summary: string
}

/** Declares a register; a name or agent that cannot be a subject token is refused at once. */
export const defineRegister = <S, O, V>(spec: RegisterDefinition<S, O, V>): RegisterDefinition<S, O, V> => {
  assertSubjectToken("register name", spec.name)
  assertSubjectToken("register owner", spec.owner)
  for (const writer of spec.writers) assertSubjectToken("register writer", writer)
  return {
    ...spec,
    writers: spec.writers.includes(spec.owner) ? spec.writers : [spec.owner, ...spec.writers],
  }
}

/** A register instance's value at one site, with everything it has seen. */
export interface RegisterSnapshot<S> {
  readonly state: S
  /** The dots of every write folded into the state. */
  readonly context: VersionVector
  /** The latest clock reading folded into the state. */
  readonly hlc: Hlc
}

/** The snapshot of a register nobody has written. */
export const emptySnapshot = <S>(kind: Pick<RegisterKind<S>, "empty">): RegisterSnapshot<S> => ({
  state: kind.empty,
  context: {},
  hlc: zeroHlc,
})

/** Joins two snapshots of one register: the kind's merge, and the union of what both have seen. */
export const mergeSnapshots = <S>(
  kind: Pick<RegisterKind<S>, "merge">,
  a: RegisterSnapshot<S>,
  b: RegisterSnapshot<S>,
): RegisterSnapshot<S> => ({
  state: kind.merge(a.state, b.state),
  context: mergeVersionVectors(a.context, b.context),
  hlc: maxHlc(a.hlc, b.hlc),
})

/** Whether two snapshots hold writes the other has not seen: a conflict the resolver merges. */
export const areConcurrent = (a: RegisterSnapshot<unknown>, b: RegisterSnapshot<unknown>): boolean =>
  compareVersionVectors(a.context, b.context) === "concurrent"

/** A writer's side of one write. */
export interface WriteRequest {
  readonly writer: WriterId
  readonly site: SiteId
  /** The writer's clock before this write (it never goes backwards). */
  readonly clock: Hlc
  readonly nowMs: number
  /**
   * The context the writer read before deciding, when it decided on an earlier read (a read model
   * that lags, a value fetched before a slow model call). Left out, the write observed the value it
   * is applied to.
   */
  readonly observed?: VersionVector
}

/** What a write did, for the record of it. */
export interface AppliedWrite<S> {
  readonly snapshot: RegisterSnapshot<S>
  readonly dot: Dot
  readonly hlc: Hlc
  readonly observed: VersionVector
  /** Writes the register held that the writer had not seen: the write is concurrent with them. */
  readonly unseen: ReadonlyArray<{ readonly writer: WriterId; readonly from: number; readonly to: number }>
}

/**
 * Applies one operation to a snapshot: pure. The write takes the writer's next dot and a clock
 * reading after both the writer's clock and the snapshot's, so it orders after everything it read.
 */
export const applyWrite = <S, O>(
  kind: RegisterKind<S, O, unknown>,
  snapshot: RegisterSnapshot<S>,
  op: O,
  request: WriteRequest,
): Result.Result<AppliedWrite<S>, RegisterRejection> => {
  const hlc = tickHlc(maxHlc(request.clock, snapshot.hlc), request.nowMs)
  const dot = { writer: request.writer, counter: (snapshot.context[request.writer] ?? 0) + 1 }
  const observed = request.observed ?? snapshot.context
  return Result.map(
    kind.apply(snapshot.state, op, { writer: request.writer, site: request.site, hlc, dot, observed }),
    (state) => ({
      snapshot: {
        state,
        context: mergeVersionVectors(snapshot.context, { [dot.writer]: dot.counter }),
        hlc,
      },
      dot,
      hlc,
      observed,
      unseen: unseenBy(snapshot.context, observed),
    }),
  )
}

/** The stored form of a snapshot: its state encoded by the kind, decoded at the edge on read. */
export const StoredSnapshot = Schema.Struct({ state: Schema.Unknown, context: VersionVector, hlc: Hlc })
