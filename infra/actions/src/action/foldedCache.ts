import type { AggregateRef, Delivery, EventLogError } from "@mesh/eventlog"
import { Effect, Semaphore } from "effect"
import { type ActionDomainEvent, type AggregateSpec, type Folded, foldInto } from "./actionCommands.ts"

const keyOf = (ref: AggregateRef) => `${ref.type}/${ref.id}`

/**
 * The aggregates a consumer keeps folded between deliveries, so that each event it receives is
 * folded into what it holds instead of read again with the whole history. Bounded: beyond
 * `capacity` the least recently used is dropped (and read again if it ever moves).
 */
export const makeFoldedCache = <F extends Folded<unknown>>(capacity: number) => {
  // `complete` is false between the events of one multi-event commit: no move is decided there.
  const entries = new Map<string, { readonly folded: F; readonly complete: boolean }>()
  const get = (ref: AggregateRef) => {
    const key = keyOf(ref)
    const entry = entries.get(key)
    if (entry !== undefined) {
      // Map order is insertion order: re-inserting marks it as the most recently used.
      entries.delete(key)
      entries.set(key, entry)
    }
    return entry
  }
  /** Keeps `folded` unless a newer one is held (two readers of one aggregate may finish out of order). */
  const set = (folded: F, complete = true) => {
    const key = keyOf(folded.ref)
    const held = entries.get(key)
    if (held !== undefined && held.folded.position.version > folded.position.version) return
    entries.delete(key)
    entries.set(key, { folded, complete })
    if (entries.size > capacity) entries.delete(entries.keys().next().value as string)
  }
  return { get, set, size: () => entries.size }
}

/** The folded aggregates of a consumer. */
export type FoldedCache<F extends Folded<unknown>> = ReturnType<typeof makeFoldedCache<F>>

/**
 * Brings an aggregate up to an event a consumer received. The cache holds it just before the
 * event: the event is folded in, no read. The cache is past it (its own writes, or a read after
 * the event): kept as it is. Otherwise (behind, or seen first after a restart): its history is
 * read once. An aggregate's first event needs no read: nothing comes before it. `ready` is false
 * inside a multi-event commit, whose other events follow in the same delivery; `continues` says
 * when that is, from the state the event was decided on.
 */
export const observeDelivery = <State, F extends Folded<State>>(options: {
  readonly cache: FoldedCache<F>
  readonly spec: Pick<AggregateSpec<never, State, F>, "empty" | "fold">
  readonly load: (ref: AggregateRef) => Effect.Effect<F, EventLogError>
  readonly continues: (state: State, event: ActionDomainEvent) => boolean
  readonly ref: AggregateRef
  readonly event: ActionDomainEvent
  readonly delivery: Delivery
}): Effect.Effect<{ readonly folded: F; readonly ready: boolean }, EventLogError> =>
  Effect.gen(function* () {
    const { cache, spec, ref, event, delivery } = options
    const version = event.aggregateVersion
    const entry = cache.get(ref)
    if (entry !== undefined && entry.folded.position.version >= version) {
      return { folded: entry.folded, ready: entry.complete }
    }
    const next =
      entry === undefined
        ? version === 1
        : entry.folded.position.version === version - 1 &&
          // Inside a commit, the next event must be of the same commit.
          (entry.complete || entry.folded.position.sequence === delivery.sequence)
    if (next) {
      const base = entry?.folded ?? spec.empty(ref)
      const complete = !options.continues(base.state, event)
      const folded = foldInto(spec, base, [event], { version, sequence: delivery.sequence })
      cache.set(folded, complete)
      return { folded, ready: complete }
    }
    const folded = yield* options.load(ref)
    cache.set(folded)
    return { folded, ready: true }
  })

/**
 * One effect at a time per key in this process: a consumer's deliveries and a sweep never race on
 * one aggregate here (across processes the log's optimistic concurrency keeps them apart).
 */
export const makeKeyedLock = () => {
  const locks = new Map<string, { readonly lock: Semaphore.Semaphore; users: number }>()
  return <A, E, R>(ref: AggregateRef, effect: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const key = keyOf(ref)
        const entry = locks.get(key) ?? { lock: Semaphore.makeUnsafe(1), users: 0 }
        entry.users++
        locks.set(key, entry)
        return { key, entry }
      }),
      ({ entry }) => entry.lock.withPermits(1)(effect),
      ({ key, entry }) =>
        Effect.sync(() => {
          entry.users--
          if (entry.users === 0) locks.delete(key)
        }),
    )
}
