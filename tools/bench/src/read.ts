import { type CommitMetadata, meshCatalog } from "@mesh/contracts"
import {
  applyTopology,
  declareTopology,
  initialPosition,
  makeEventLog,
  type NatsHandles,
} from "@mesh/eventlog"
import { DeliverPolicy } from "@nats-io/jetstream"
import { Effect } from "effect"
import { type BenchResult, now, percentile } from "./harness.ts"

const metadata: CommitMetadata = {
  correlationId: "bench",
  causationId: null,
  actor: { kind: "system", id: "bench" },
}

/**
 * Aggregate read: our `load` (last-commit lookup, ordered consumer, decode and upcast through the
 * schemas) against a raw ordered consumer reading the same subject and JSON-parsing each message.
 */
export const runReadBench = async (options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly aggregates?: number
  readonly eventsPerAggregate?: number
}): Promise<BenchResult> => {
  const aggregates = options.aggregates ?? 200
  const perAggregate = options.eventsPerAggregate ?? 50
  const { nats } = options
  const namespace = `${options.namespace}rd`
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
  await Promise.all(
    Array.from({ length: aggregates }, async (_, a) => {
      let position = initialPosition
      for (let i = 0; i < perAggregate; i++) {
        const result = await Effect.runPromise(
          log.append({
            aggregate: { domain: "customer", type: "ticket", id: `t${a}` },
            expected: position,
            events: [
              i === 0
                ? {
                    type: "TicketOpened",
                    payload: {
                      tenantId: "bench",
                      customerId: `c${a}`,
                      channel: "web",
                      subject: "Where is my order?",
                      body: "It was due on Monday.",
                      orderId: `o${a}`,
                    },
                  }
                : { type: "TicketEscalated", payload: { reason: `step ${i}`, queue: "tier-2" } },
            ],
            metadata,
          }),
        )
        position = result.position
      }
    }),
  )
  const stream = `${namespace}_CUSTOMER`.toUpperCase()

  const rawLoad = async (a: number) => {
    const consumer = await nats.js.consumers.get(stream, {
      filter_subjects: `${namespace}.customer.ticket.t${a}`,
      deliver_policy: DeliverPolicy.All,
    })
    const messages = await consumer.consume({ max_messages: 256 })
    let count = 0
    for await (const m of messages) {
      count += (JSON.parse(new TextDecoder().decode(m.data)) as Array<unknown>).length
      if (m.info.pending === 0) break
    }
    await messages.close()
    return count
  }
  const ourLoad = async (a: number) =>
    (await Effect.runPromise(log.load({ domain: "customer", type: "ticket", id: `t${a}` }))).events.length

  // Warm both paths, then interleave them so that each sees the same noise.
  for (let a = 0; a < 20; a++) {
    await rawLoad(a)
    await ourLoad(a)
  }
  const rawTimes: Array<number> = []
  const ourTimes: Array<number> = []
  for (let a = 0; a < aggregates; a++) {
    let t = now()
    const r = await rawLoad(a)
    rawTimes.push(now() - t)
    t = now()
    const o = await ourLoad(a)
    ourTimes.push(now() - t)
    if (r !== perAggregate || o !== perAggregate) throw new Error(`aggregate t${a}: raw read ${r}, ours ${o}`)
  }
  const figures = (times: ReadonlyArray<number>) => {
    const total = times.reduce((x, y) => x + y, 0)
    return {
      p50_ms: percentile(times, 50),
      p99_ms: percentile(times, 99),
      loads_per_s: (times.length * 1_000) / total,
      events_per_s: (times.length * perAggregate * 1_000) / total,
    }
  }
  const ours = figures(ourTimes)
  const raw = figures(rawTimes)
  return {
    benchmark: "aggregate-read",
    description: `load ${aggregates} aggregates of ${perAggregate} events (one commit each), one at a time`,
    paths: { ours, raw },
    ratio: ours.loads_per_s / raw.loads_per_s,
    goal: "no regression across runs (reported, no fixed target)",
    goalMet: true,
  }
}
