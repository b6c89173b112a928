import { Schema } from "effect"

// Where a reaction's time goes, as an agent gives it on /status (per reactor) and /metrics (as
// Prometheus histograms). A hop between agents, one agent's event to the next one's, is the event's
// delivery to the reactor, the reaction's own work (its reads, its register writes, its model
// calls) and its commands' handling up to their events stored. Part of a delivery may be spent
// behind the reactor's work on earlier events: a reactor too busy for its load, which more
// concurrency or more replicas answer. The rest of the delivery and the commit are the mesh's. An
// SRE asking why a hop is slow asks which of these it is, and where: per reactor.

/** The histograms' names on /metrics; each is labelled with `agent`, `reactor` and `domain` (the stream it reads). */
export const reactionMetricNames = {
  /** From a cause's commit stored on the server to its reaction's start, first deliveries only. */
  delivery: "mesh_reaction_delivery_seconds",
  /** Of a delivery, the wait behind the reactor's own work (busy with earlier events, or its subject's earlier ones in hand). */
  queue: "mesh_reaction_queue_seconds",
  /** The reactor's `react`: its reads and writes beside the log, its model calls. */
  work: "mesh_reaction_work_seconds",
  /** The reaction's commands handled, from its answer to their events stored. */
  commit: "mesh_reaction_commit_seconds",
  /**
   * The mesh's part of a reaction (first deliveries): its delivery less the wait behind the
   * reactor's own work, and its commit.
   */
  mesh: "mesh_reaction_mesh_seconds",
} as const

/** Which of a reaction's times a histogram holds. */
export type ReactionTimeKind = keyof typeof reactionMetricNames

/**
 * The histograms' bucket bounds, in milliseconds (on /metrics, in seconds): a fifth to a quarter
 * apart between a millisecond and 150 ms, where hops live, a third to a half beyond, where queues
 * do; above the last, unbounded. A quantile is interpolated within its bucket, so a spread of
 * zeros reads as a fraction of the first bound.
 */
export const reactionTimeBoundsMs: ReadonlyArray<number> = [
  0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 17, 20, 25, 30, 35, 40, 50, 60, 70, 85,
  100, 125, 150, 200, 250, 300, 400, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000, 30_000, 60_000,
]

/**
 * The `q` quantile (0-1) of a histogram whose `buckets` are cumulative counts by upper bound, in
 * the bounds' unit: linear within the bucket it falls in, as Prometheus' `histogram_quantile`
 * reads a histogram, and never above the largest value seen (`max`, when known). In the unbounded
 * last bucket it is `max`, or, unknown, the last finite bound. Undefined when it is empty.
 */
export const histogramQuantile = (
  buckets: ReadonlyArray<readonly [number, number]>,
  count: number,
  q: number,
  max?: number,
): number | undefined => {
  if (count === 0) return undefined
  const rank = q * count
  let lower = 0
  let below = 0
  for (const [bound, cumulative] of buckets) {
    if (cumulative >= rank && cumulative > below) {
      if (!Number.isFinite(bound)) return max ?? lower
      const at = lower + ((bound - lower) * (rank - below)) / (cumulative - below)
      return max === undefined ? at : Math.min(at, max)
    }
    if (Number.isFinite(bound)) lower = bound
    below = cumulative
  }
  return max ?? lower
}

const Millis = Schema.Number.annotate({ description: "milliseconds" })

/** Percentiles of one of a reactor's histograms, in milliseconds (bucket-interpolated), and its count. */
export const TimeSpread = Schema.Struct({
  count: Schema.Int,
  p50: Millis,
  p95: Millis,
  p99: Millis,
  max: Millis,
})
export type TimeSpread = typeof TimeSpread.Type

/**
 * Where one reactor's reactions spent their time since its process started, as /status gives it;
 * null before any. The histograms are the process's: two agents of one name in one process share them.
 */
export const ReactionTimesSummary = Schema.Struct({
  deliveryMs: Schema.NullOr(TimeSpread),
  queueMs: Schema.NullOr(TimeSpread),
  workMs: Schema.NullOr(TimeSpread),
  commitMs: Schema.NullOr(TimeSpread),
  meshMs: Schema.NullOr(TimeSpread),
})
export type ReactionTimesSummary = typeof ReactionTimesSummary.Type
