import {
  histogramQuantile,
  type ReactionTimesSummary,
  reactionMetricNames,
  reactionTimeBoundsMs,
  type TimeSpread,
} from "@mesh/contracts"
import { Effect, Metric } from "effect"

// Each reactor's reaction times (see `@mesh/contracts`' reactionTimes.ts), kept as Effect metrics:
// /status summarises them, /metrics gives them to Prometheus, and an exporter added later finds
// them in the same registry.

const boundaries = Metric.boundariesFromIterable(reactionTimeBoundsMs.map((ms) => ms / 1000))

/** One reaction's times, in milliseconds. */
export interface ReactionTime {
  /**
   * From its cause's commit stored on the server (the server's clock) to the reaction's start (the
   * agent's), on a first delivery; undefined on a redelivery, whose wait is its retry's backoff.
   * It holds the pull, the wait behind the events before it (of its subject, or all of them in a
   * reactor taking one at a time) and the decoding.
   */
  readonly deliveryMs: number | undefined
  /** Of the delivery, the wait behind the reactor's own work (see `Delivery.queuedMs`). */
  readonly queueMs: number
  /** The reactor's `react`: what the reaction reads and writes beside the log, and its model calls. */
  readonly workMs: number
  /** Its commands handled, from the reaction's answer to the last command's events stored. */
  readonly commitMs: number
}

const spreadOf = (state: Metric.HistogramState): TimeSpread | null => {
  if (state.count === 0) return null
  const ms = (seconds: number) => Math.round(seconds * 10_000) / 10
  const at = (q: number) => ms(histogramQuantile(state.buckets, state.count, q, state.max) ?? 0)
  return { count: state.count, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: ms(state.max) }
}

/**
 * The times of one reactor's reactions, as histograms labelled with the agent, the reactor and the
 * domain it reads. They live in the process's metric registry, from the process's start: an agent
 * started twice in one process (a test's rolling deploy) adds to the same ones. A reaction that
 * failed and was delivered again counts its work and commit, not its delivery, which held the retry's backoff.
 */
export class ReactionTimes {
  readonly #delivery: Metric.Histogram<number>
  readonly #queue: Metric.Histogram<number>
  readonly #work: Metric.Histogram<number>
  readonly #commit: Metric.Histogram<number>
  readonly #mesh: Metric.Histogram<number>

  constructor(labels: { readonly agent: string; readonly reactor: string; readonly domain: string }) {
    const attributes = { agent: labels.agent, reactor: labels.reactor, domain: labels.domain }
    const histogram = (name: string, description: string) =>
      Metric.histogram(name, { description, attributes, boundaries })
    this.#delivery = histogram(
      reactionMetricNames.delivery,
      "From a cause's commit stored on the server to the start of its reaction (first deliveries)",
    )
    this.#queue = histogram(
      reactionMetricNames.queue,
      "Of a reaction's delivery, the wait behind the reactor's work on earlier events (first deliveries)",
    )
    this.#work = histogram(
      reactionMetricNames.work,
      "A reaction's own work: its reads and writes beside the log, its model calls",
    )
    this.#commit = histogram(
      reactionMetricNames.commit,
      "A reaction's commands handled, from its answer to their events stored",
    )
    this.#mesh = histogram(
      reactionMetricNames.mesh,
      "The mesh's part of a reaction: its delivery less its wait behind the reactor's work, and its commands' handling (first deliveries)",
    )
  }

  /** Notes one reaction's times. */
  record(time: ReactionTime): Effect.Effect<void> {
    const seconds = (ms: number) => Math.max(0, ms) / 1000
    const own = [
      Metric.update(this.#work, seconds(time.workMs)),
      Metric.update(this.#commit, seconds(time.commitMs)),
    ]
    return Effect.all(
      time.deliveryMs === undefined
        ? own
        : [
            ...own,
            Metric.update(this.#delivery, seconds(time.deliveryMs)),
            Metric.update(this.#queue, seconds(Math.min(time.queueMs, time.deliveryMs))),
            Metric.update(this.#mesh, seconds(Math.max(0, time.deliveryMs - time.queueMs) + time.commitMs)),
          ],
      { discard: true },
    )
  }

  /** The reactions so far, in milliseconds. */
  readonly summary: Effect.Effect<ReactionTimesSummary> = Effect.suspend(() =>
    Effect.all({
      delivery: Metric.value(this.#delivery),
      queue: Metric.value(this.#queue),
      work: Metric.value(this.#work),
      commit: Metric.value(this.#commit),
      mesh: Metric.value(this.#mesh),
    }).pipe(
      Effect.map((states) => ({
        deliveryMs: spreadOf(states.delivery),
        queueMs: spreadOf(states.queue),
        workMs: spreadOf(states.work),
        commitMs: spreadOf(states.commit),
        meshMs: spreadOf(states.mesh),
      })),
    ),
  )
}
