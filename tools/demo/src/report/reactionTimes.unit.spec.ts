import { reactionMetricNames, reactionTimeBoundsMs } from "@mesh/contracts"
import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { describe, expect, it } from "vitest"
import {
  dayReactionTimes,
  histogramsBetween,
  mergedSpread,
  parseReactionHistograms,
  type ReactionHistogram,
  readsOtherAgents,
} from "./reactionTimes.ts"

// The exposition an agent's /metrics gives: Effect's histograms, as the kernel declares them,
// formatted by Effect's Prometheus formatter.
const boundaries = Metric.boundariesFromIterable(reactionTimeBoundsMs.map((ms) => ms / 1000))
const exposition = (
  observations: ReadonlyArray<{
    readonly agent: string
    readonly reactor: string
    readonly domain: string
    readonly kind: keyof typeof reactionMetricNames
    readonly ms: ReadonlyArray<number>
  }>,
) =>
  Effect.runPromise(
    Effect.gen(function* () {
      for (const o of observations) {
        const histogram = Metric.histogram(reactionMetricNames[o.kind], {
          boundaries,
          attributes: { agent: o.agent, reactor: o.reactor, domain: o.domain },
        })
        for (const ms of o.ms) yield* Metric.update(histogram, ms / 1000)
      }
      return yield* PrometheusMetrics.format()
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())),
  )

describe("the agents' reaction times", () => {
  it("reads each reactor's histograms from a Prometheus exposition, in milliseconds, and passes over other metrics", async () => {
    const text = await exposition([
      {
        agent: "procurement",
        reactor: "procurement-orders",
        domain: "customer",
        kind: "delivery",
        ms: [1, 2, 3, 40],
      },
      { agent: "procurement", reactor: "procurement-orders", domain: "customer", kind: "work", ms: [5] },
    ])
    const histograms = parseReactionHistograms(`# HELP other_total a counter\nother_total 3\n${text}`)
    expect(histograms).toHaveLength(2)
    const delivery = histograms.find((h) => h.kind === "delivery")!
    expect(delivery).toMatchObject({
      agent: "procurement",
      reactor: "procurement-orders",
      domain: "customer",
      count: 4,
    })
    expect(delivery.buckets.at(-1)).toEqual([Number.POSITIVE_INFINITY, 4])
    expect(delivery.buckets.find(([bound]) => bound === 1)?.[1]).toBe(1)
    expect(delivery.buckets.find(([bound]) => bound === 40)?.[1]).toBe(4)
    expect(mergedSpread([delivery])?.p50).toBeCloseTo(2, 0)
  })

  it("reads a label value holding braces, quotes and escapes", () => {
    const [h] = parseReactionHistograms(
      'mesh_reaction_work_seconds_bucket{agent="a}b",reactor="say \\"hi\\"\\nthen",domain="customer",le="+Inf"} 2',
    )
    expect(h).toMatchObject({ agent: "a}b", reactor: 'say "hi"\nthen', domain: "customer", count: 2 })
  })

  it("counts only what happened between two reads, and leaves out a process restarted between them", () => {
    const at = (count: number, agent = "content-ops"): ReactionHistogram => ({
      agent,
      reactor: `${agent}-stock`,
      domain: "registers",
      kind: "delivery",
      buckets: [
        [1, count],
        [Number.POSITIVE_INFINITY, count],
      ],
      count,
    })
    const between = histogramsBetween(
      [at(5), at(9, "procurement")],
      [at(8), at(2, "procurement"), at(3, "resolver")],
    )
    expect(between.map((h) => [h.agent, h.count])).toEqual([
      ["content-ops", 3],
      ["resolver", 3],
    ])
  })

  it("merges the reactors that read other agents' events into the hops between agents", async () => {
    const atStart = parseReactionHistograms(await exposition([]))
    const settled = parseReactionHistograms(
      await exposition([
        {
          agent: "procurement",
          reactor: "procurement-orders",
          domain: "customer",
          kind: "mesh",
          ms: [2, 2, 2],
        },
        {
          agent: "procurement",
          reactor: "procurement-orders",
          domain: "customer",
          kind: "work",
          ms: [9, 9, 9],
        },
        { agent: "content-ops", reactor: "content-ops-stock", domain: "registers", kind: "mesh", ms: [30] },
        { agent: "content-ops", reactor: "content-ops-stock", domain: "registers", kind: "work", ms: [1] },
        // Its own agent's events: not a hop between agents.
        {
          agent: "procurement",
          reactor: "procurement-backorders",
          domain: "procurement",
          kind: "mesh",
          ms: [500],
        },
        {
          agent: "procurement",
          reactor: "procurement-backorders",
          domain: "procurement",
          kind: "work",
          ms: [1, 1],
        },
      ]),
    )
    const day = dayReactionTimes(
      new Map([["procurement", atStart]]),
      new Map<string, ReadonlyArray<ReactionHistogram> | Error>([
        ["procurement", settled.filter((h) => h.agent === "procurement")],
        ["content-ops", settled.filter((h) => h.agent === "content-ops")],
        ["customer-ops", new Error("customer-ops's /metrics could not be read")],
      ]),
    )!
    expect(day.betweenAgents.mesh?.count).toBe(4)
    expect(day.betweenAgents.mesh?.p99).toBeLessThanOrEqual(30)
    expect(day.betweenAgents.mesh?.p50).toBeLessThanOrEqual(2)
    expect(day.byReactor.map((r) => [r.reactor, r.work?.count])).toEqual([
      ["procurement-orders", 3],
      ["procurement-backorders", 2],
      ["content-ops-stock", 1],
    ])
    expect(readsOtherAgents({ agent: "customer-ops", domain: "customer" })).toBe(false)
    expect(readsOtherAgents({ agent: "customer-ops", domain: "actions" })).toBe(false)
    expect(readsOtherAgents({ agent: "content-ops", domain: "procurement" })).toBe(true)
    expect(dayReactionTimes(new Map(), new Map([["procurement", new Error("down")]]))).toBeNull()
    // An agent restarted between the reads counts whole, from its restart.
    const before = new Map([["procurement", settled.filter((h) => h.agent === "procurement")]])
    const after = new Map([["procurement", settled.filter((h) => h.agent === "procurement")]])
    expect(dayReactionTimes(before, after)?.byReactor).toEqual([])
    expect(
      dayReactionTimes(before, after, (agent) => agent === "procurement")?.byReactor.map(
        (r) => r.work?.count,
      ),
    ).toEqual([3, 2])
  })
})
