import { type CommitMetadata, meshCatalog } from "@mesh/contracts"
import { customerOpsAggregates } from "@mesh/customer-ops/aggregates"
import {
  applyTopology,
  declareTopology,
  initialPosition,
  makeEventLog,
  type NatsHandles,
} from "@mesh/eventlog"
import { replayStream } from "@mesh/kernel"
import { DeliverPolicy } from "@nats-io/jetstream"
import { Effect, Stream } from "effect"
import { type BenchResult, now } from "./harness.ts"

const metadata: CommitMetadata = {
  correlationId: "bench",
  causationId: null,
  actor: { kind: "system", id: "bench" },
}

/**
 * Replay throughput: our replay (each commit decoded and upcast through the mesh's catalogue and
 * folded through customer ops' ticket decider, no side effects) against a raw ordered consumer
 * reading the same stream and JSON-parsing each message, in the same run, alternating.
 */
export const runReplayBench = async (options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly tickets?: number
  readonly eventsPerTicket?: number
  readonly rounds?: number
}): Promise<BenchResult> => {
  const tickets = options.tickets ?? 1_000
  const perTicket = options.eventsPerTicket ?? 20
  const rounds = options.rounds ?? 3
  const { nats } = options
  const namespace = `${options.namespace}rp`
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
  // Tickets written side by side, so the stream interleaves them as a day does.
  const writers = 32
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let t = w; t < tickets; t += writers) {
        let position = initialPosition
        for (let i = 0; i < perTicket; i++) {
          const result = await Effect.runPromise(
            log.append({
              aggregate: { domain: "customer", type: "ticket", id: `tk-${t}` },
              expected: position,
              events: [
                i === 0
                  ? {
                      type: "TicketOpened",
                      payload: {
                        tenantId: "bench",
                        customerId: `c${t}`,
                        channel: "web",
                        subject: "Where is my order?",
                        body: "It was due on Monday and has not come. Could you look into it, please?",
                        orderId: `o${t}`,
                      },
                    }
                  : { type: "TicketEscalated", payload: { reason: `step ${i}`, queue: "tier-2" } },
              ],
              metadata,
            }),
          )
          position = result.position
        }
      }
    }),
  )
  const stream = `${namespace}_CUSTOMER`.toUpperCase()
  const total = tickets * perTicket

  const rawReplay = async () => {
    const consumer = await nats.js.consumers.get(stream, { deliver_policy: DeliverPolicy.All })
    const messages = await consumer.consume({ max_messages: 1_024 })
    const decoder = new TextDecoder()
    let events = 0
    for await (const m of messages) {
      events += (JSON.parse(decoder.decode(m.data)) as Array<unknown>).length
      if (m.info.pending === 0) break
    }
    await messages.close()
    return events
  }
  const ourReplay = async () => {
    let events = 0
    const states = new Set<unknown>()
    await Effect.runPromise(
      Effect.flatMap(replayStream(log, { domain: "customer", aggregates: customerOpsAggregates }), (s) =>
        Stream.runForEach(s, (r) =>
          Effect.sync(() => {
            events += 1
            if (r.state !== undefined) states.add(r.aggregate)
          }),
        ),
      ),
    )
    if (states.size !== tickets) throw new Error(`replay folded ${states.size} tickets, expected ${tickets}`)
    return events
  }

  // Warm both paths, then alternate them so that each sees the same noise; the best round of each counts.
  await rawReplay()
  await ourReplay()
  const rawRates: Array<number> = []
  const ourRates: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    let t = now()
    const raw = await rawReplay()
    rawRates.push((raw * 1_000) / (now() - t))
    t = now()
    const ours = await ourReplay()
    ourRates.push((ours * 1_000) / (now() - t))
    if (raw !== total || ours !== total)
      throw new Error(`read ${raw} raw and ${ours} replayed, expected ${total}`)
  }
  const best = (rates: ReadonlyArray<number>) => Math.max(...rates)
  const ours = { events_per_s: best(ourRates), rounds: ourRates.map(Math.round).join(" ") }
  const raw = { events_per_s: best(rawRates), rounds: rawRates.map(Math.round).join(" ") }
  const ratio = ours.events_per_s / raw.events_per_s
  return {
    benchmark: "replay",
    description: `replay ${total} events of ${tickets} tickets (one commit each): decode, upcast and fold through the ticket decider, beside a raw ordered consumer JSON-parsing each message`,
    paths: { ours, raw },
    ratio,
    goal: "at least 0.6x the raw ordered consumer",
    goalMet: ratio >= 0.6,
  }
}
