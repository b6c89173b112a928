import { Effect } from "effect"
import type { MemoryKind, MemoryRecord, MemorySource } from "./memoryRecord.ts"
import { MemoryError, MemoryStore, type MemoryWriter } from "./memoryStore.ts"

/** An event as the log delivered it: its stream, its sequence in that stream, the event itself. */
export interface LoggedEvent<E> {
  readonly stream: string
  readonly sequence: number
  readonly event: E
}

/** What a projection makes of an event that creates or replaces a memory. */
export interface MemoryDraft {
  /** Deterministic from the event, e.g. `<aggregateId>:<kind>`, so that replays overwrite. */
  readonly id: string
  readonly tenantId: string
  readonly text: string
  readonly metadata?: Readonly<Record<string, unknown>>
  /** The event's time. */
  readonly updatedAt: string
}

/** What a projection makes of an event that changes the facts a memory came from. */
export interface StaleMark {
  readonly stale: string
  readonly reason?: string
}

/** A projection's reading of one event: a memory to write, a memory gone stale, or nothing. */
export type MemoryChange = MemoryDraft | StaleMark | undefined

/** Turns texts into vectors, one per text, in order; batched so that a model sees whole batches. */
export type Embedder = (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<Float32Array>>

/** The writes one batch of events comes to, before embedding. */
export interface MemoryPlan {
  readonly upserts: ReadonlyArray<{ readonly draft: MemoryDraft; readonly source: MemorySource }>
  /** Memories to mark stale after the upserts, grouped by reason. */
  readonly stale: ReadonlyMap<string, ReadonlyArray<string>>
  /** Events the projection has nothing to say about. */
  readonly ignored: number
}

const isStaleMark = (change: MemoryDraft | StaleMark): change is StaleMark => "stale" in change

/**
 * Folds a batch of events, in log order, into the writes it comes to: the last draft of each
 * memory id, then the stale marks that came after that id's last draft. Applying the plan gives
 * the same table as applying the events one by one, so batch boundaries never change the result,
 * and applying it twice gives the same table as once.
 */
export const planMemoryBatch = <E extends { readonly eventId: string; readonly type: string }>(
  events: ReadonlyArray<LoggedEvent<E>>,
  toMemory: (event: E, position: { readonly stream: string; readonly sequence: number }) => MemoryChange,
): MemoryPlan => {
  const drafts = new Map<string, { draft: MemoryDraft; source: MemorySource }>()
  const staleAfter = new Map<string, string>()
  let ignored = 0
  for (const { stream, sequence, event } of events) {
    const change = toMemory(event, { stream, sequence })
    if (change === undefined) {
      ignored++
    } else if (isStaleMark(change)) {
      staleAfter.set(change.stale, change.reason ?? `${event.type} at ${stream}#${sequence}`)
    } else {
      drafts.delete(change.id)
      drafts.set(change.id, { draft: change, source: { stream, sequence, eventId: event.eventId } })
      staleAfter.delete(change.id)
    }
  }
  const stale = new Map<string, string[]>()
  for (const [id, reason] of staleAfter) stale.set(reason, [...(stale.get(reason) ?? []), id])
  return { upserts: Array.from(drafts.values()), stale, ignored }
}

/** What applying a batch did. */
export interface AppliedBatch {
  readonly events: number
  readonly upserted: number
  readonly markedStale: number
  readonly ignored: number
}

/** How a projection of events into one agent's memory of one kind is declared. */
export interface MemoryProjectionSpec<E> {
  readonly agent: string
  readonly kind: MemoryKind
  readonly toMemory: (
    event: E,
    position: { readonly stream: string; readonly sequence: number },
  ) => MemoryChange
  readonly embed: Embedder
  /** Events per write while rebuilding (default 2000). */
  readonly rebuildBatchSize?: number
}

/** A projection feeding long-term memory from the log, and able to rebuild it from the log. */
export interface MemoryProjection<E> {
  readonly name: string
  /**
   * Applies a batch of events in log order: one embedding call, one upsert, then the stale
   * marks. Delivering a batch again (after a crash, before the checkpoint moved) is harmless.
   */
  readonly applyBatch: (
    events: ReadonlyArray<LoggedEvent<E>>,
  ) => Effect.Effect<AppliedBatch, MemoryError, MemoryStore>
  /**
   * Replays every event into a fresh generation of the table and swaps it in. The caller stops
   * applying live batches during the rebuild and resumes after the last event it replayed.
   */
  readonly rebuild: (
    events: Iterable<LoggedEvent<E>> | AsyncIterable<LoggedEvent<E>>,
  ) => Effect.Effect<AppliedBatch, MemoryError, MemoryStore>
}

/** Declares a memory projection. */
export const memoryProjection = <E extends { readonly eventId: string; readonly type: string }>(
  spec: MemoryProjectionSpec<E>,
): MemoryProjection<E> => {
  const applyTo = (writer: MemoryWriter, events: ReadonlyArray<LoggedEvent<E>>) =>
    Effect.gen(function* () {
      const plan = planMemoryBatch(events, spec.toMemory)
      const texts = plan.upserts.map(({ draft }) => draft.text)
      const vectors =
        texts.length === 0
          ? []
          : yield* Effect.tryPromise({
              try: () => spec.embed(texts),
              catch: (cause) =>
                new MemoryError({
                  reason: "EmbeddingFailed",
                  message: cause instanceof Error ? cause.message : String(cause),
                }),
            })
      if (vectors.length !== texts.length) {
        return yield* new MemoryError({
          reason: "EmbeddingFailed",
          message: `the embedder returned ${vectors.length} vectors for ${texts.length} texts`,
        })
      }
      const records: MemoryRecord[] = plan.upserts.map(({ draft, source }, i) => ({
        id: draft.id,
        tenantId: draft.tenantId,
        text: draft.text,
        vector: vectors[i]!,
        source,
        updatedAt: draft.updatedAt,
        metadata: draft.metadata ?? {},
      }))
      const written = yield* writer.upsert(records)
      let markedStale = 0
      for (const [reason, ids] of plan.stale) markedStale += yield* writer.markStale(ids, reason)
      return {
        events: events.length,
        upserted: written.inserted + written.updated,
        markedStale,
        ignored: plan.ignored,
      }
    })

  const sum = (a: AppliedBatch, b: AppliedBatch): AppliedBatch => ({
    events: a.events + b.events,
    upserted: a.upserted + b.upserted,
    markedStale: a.markedStale + b.markedStale,
    ignored: a.ignored + b.ignored,
  })
  const none: AppliedBatch = { events: 0, upserted: 0, markedStale: 0, ignored: 0 }
  const batchSize = spec.rebuildBatchSize ?? 2000

  return {
    name: `memory:${spec.agent}__${spec.kind}`,
    applyBatch: (events) =>
      Effect.gen(function* () {
        const store = yield* MemoryStore
        return yield* applyTo(
          {
            upsert: (records) => store.upsert(spec.agent, spec.kind, records),
            markStale: (ids, reason) => store.markStale(spec.agent, spec.kind, ids, reason),
          },
          events,
        )
      }).pipe(Effect.withSpan("MemoryProjection.applyBatch")),
    rebuild: (events) =>
      Effect.gen(function* () {
        const store = yield* MemoryStore
        return yield* store.rebuild(spec.agent, spec.kind, (writer) =>
          Effect.gen(function* () {
            let total = none
            let chunk: LoggedEvent<E>[] = []
            const iterator =
              Symbol.asyncIterator in events ? events[Symbol.asyncIterator]() : events[Symbol.iterator]()
            while (true) {
              const next = yield* Effect.tryPromise({
                try: async () => iterator.next(),
                catch: (cause) =>
                  new MemoryError({
                    reason: "SourceFailed",
                    message: `reading events: ${cause instanceof Error ? cause.message : String(cause)}`,
                  }),
              })
              if (next.done !== true) chunk.push(next.value)
              if (chunk.length >= batchSize || (next.done === true && chunk.length > 0)) {
                total = sum(total, yield* applyTo(writer, chunk))
                chunk = []
              }
              if (next.done === true) return total
            }
          }),
        )
      }).pipe(Effect.withSpan("MemoryProjection.rebuild")),
  }
}
