import type { NatsHandles } from "@mesh/eventlog"
import { AckPolicy } from "@nats-io/jetstream"

/** How a raw round trip is sampled: how many, how far apart, until when. */
export interface RawHopSampling {
  /** Names its stream and consumer, so that two samplings on one namespace never meet. */
  readonly label: string
  /** Stops after this many round trips. */
  readonly count?: number
  /** Waits this long after each round trip before the next publish (0: back to back). */
  readonly paceMs?: number
  /** Stops once this resolves (after the round trip in flight). */
  readonly until?: Promise<void>
}

/**
 * The raw floor beneath an agent hop: commits of an event's size published one after another (one
 * in flight, as a reaction's append waits for its ack) and received by a plain pull consumer, each
 * timed from its publish to its receipt. No decoding, no handler, no read model: what the server and
 * the client library cost.
 */
export const rawAppendToDelivery = async (
  nats: NatsHandles,
  namespace: string,
  sampling: RawHopSampling,
): Promise<ReadonlyArray<number>> => {
  const stream = `${namespace}_RAWHOP_${sampling.label}`.toUpperCase()
  const subject = `${namespace}.rawhop-${sampling.label}.x`
  await nats.jsm.streams.add({ name: stream, subjects: [subject] })
  await nats.jsm.consumers.add(stream, { durable_name: "raw-hop", ack_policy: AckPolicy.Explicit })
  const payload = new TextEncoder().encode(
    JSON.stringify([{ type: "OrderPlaced", payload: "x".repeat(600) }]),
  )
  let stopped = false
  void sampling.until?.then(() => {
    stopped = true
  })
  const count = sampling.count ?? Number.POSITIVE_INFINITY
  let publishedAt = 0
  const roundTrips: Array<number> = []
  const messages = await (await nats.js.consumers.get(stream, "raw-hop")).consume({ max_messages: 64 })
  try {
    const received = (async () => {
      for await (const m of messages) {
        roundTrips.push(performance.now() - publishedAt)
        m.ack()
      }
    })()
    for (let n = 1; n <= count && !stopped; n++) {
      publishedAt = performance.now()
      await nats.js.publish(subject, payload, { msgID: `raw-${n}` })
      while (roundTrips.length < n) await new Promise((resolve) => setImmediate(resolve))
      if ((sampling.paceMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, sampling.paceMs))
    }
    await messages.close()
    await received
  } finally {
    await nats.jsm.streams.delete(stream).catch(() => false)
  }
  return roundTrips
}
