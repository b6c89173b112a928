import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql"
import { type CommitMetadata, meshCatalog } from "@mesh/contracts"
import {
  type AggregatePosition,
  applyTopology,
  declareTopology,
  initialPosition,
  makeEventLog,
  type NatsHandles,
} from "@mesh/eventlog"
import { Effect } from "effect"
import pg from "pg"
import { v7 as uuidv7 } from "uuid"
import { type BenchResult, now, percentile } from "./harness.ts"

const metadata: CommitMetadata = {
  correlationId: "bench",
  causationId: null,
  actor: { kind: "system", id: "bench" },
}

const payloadFor = (aggregate: number, step: number) =>
  step === 0
    ? ({
        type: "TicketOpened",
        payload: {
          tenantId: "bench",
          customerId: `customer-${aggregate}`,
          channel: "email",
          subject: `Order ${aggregate} has not arrived`,
          body: "Hello, I ordered a lamp last week and it has not arrived yet. Could you check the status?",
          orderId: `order-${aggregate}`,
        },
      } as const)
    : ({ type: "TicketEscalated", payload: { reason: `follow-up ${step}`, queue: "tier-2" } } as const)

/** The same envelope our log writes, built by hand for the raw path. */
const rawEnvelope = (aggregate: number, step: number) => {
  const { type, payload } = payloadFor(aggregate, step)
  return {
    eventId: uuidv7(),
    type,
    schemaVersion: type === "TicketOpened" ? 2 : 1,
    aggregateType: "ticket",
    aggregateId: `t${aggregate}`,
    aggregateVersion: step + 1,
    occurredAt: new Date().toISOString(),
    ...metadata,
    payload,
  }
}

const encoder = new TextEncoder()

/** Runs `chains` concurrent aggregates, each appending `steps` events one after another. */
const runChains = async (
  chains: number,
  steps: number,
  appendOne: (aggregate: number, step: number) => Promise<void>,
) => {
  const started = now()
  await Promise.all(
    Array.from({ length: chains }, async (_, aggregate) => {
      for (let step = 0; step < steps; step++) await appendOne(aggregate, step)
    }),
  )
  const seconds = (now() - started) / 1_000
  return { appends: chains * steps, seconds, appends_per_s: (chains * steps) / seconds }
}

/**
 * Append throughput over 1,000 aggregates: our append (schema validation, envelope, optimistic
 * concurrency, dedup id) against raw pipelined `js.publish` with `expect.lastSubjectSequence` and
 * the same payloads, and against Emmett's PostgreSQL event store doing the same work.
 */
export const runAppendBench = async (options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly databaseUrl: string | undefined
  readonly aggregates?: number
  readonly steps?: number
}): Promise<BenchResult> => {
  const aggregates = options.aggregates ?? 1_000
  const steps = options.steps ?? 20
  const { nats } = options

  const setup = async (suffix: string) => {
    const namespace = `${options.namespace}${suffix}`
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    return namespace
  }

  // Warm up both paths (JIT, connection) on a separate namespace.
  const warmNs = await setup("w")
  const warmLog = makeEventLog({ nats, catalog: meshCatalog, namespace: warmNs })
  await runChains(50, 5, async (a, s) => {
    await nats.js.publish(
      `${warmNs}.customer.ticket.r${a}`,
      encoder.encode(JSON.stringify([rawEnvelope(a, s)])),
    )
    await Effect.runPromise(
      warmLog.append({
        aggregate: { domain: "customer", type: "ticket", id: `o${a}` },
        expected: "any",
        events: [payloadFor(a, s)],
        metadata,
      }),
    )
  })

  const rawNs = await setup("r")
  const rawLast = new Array<number>(aggregates).fill(0)
  const raw = await runChains(aggregates, steps, async (aggregate, step) => {
    const envelope = rawEnvelope(aggregate, step)
    const ack = await nats.js.publish(
      `${rawNs}.customer.ticket.t${aggregate}`,
      encoder.encode(JSON.stringify([envelope])),
      { msgID: envelope.eventId, expect: { lastSubjectSequence: rawLast[aggregate]! } },
    )
    rawLast[aggregate] = ack.seq
  })

  const oursNs = await setup("o")
  const log = makeEventLog({ nats, catalog: meshCatalog, namespace: oursNs })
  const positions = new Array<AggregatePosition>(aggregates).fill(initialPosition)
  const ours = await runChains(aggregates, steps, async (aggregate, step) => {
    const result = await Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type: "ticket", id: `t${aggregate}` },
        expected: positions[aggregate]!,
        events: [payloadFor(aggregate, step)],
        metadata,
      }),
    )
    positions[aggregate] = result.position
  })

  let emmett: Record<string, number | string> = { skipped: "no DATABASE_URL or Postgres at 127.0.0.1:5432" }
  if (options.databaseUrl !== undefined) {
    const schemaUrl = options.databaseUrl
    // A fresh database per run keeps Emmett's tables from earlier runs out of the measurement.
    const admin = new pg.Client({ connectionString: schemaUrl })
    await admin.connect()
    const database = `bench_emmett_${Date.now()}`
    await admin.query(`CREATE DATABASE ${database}`)
    await admin.end()
    const url = new URL(schemaUrl)
    url.pathname = `/${database}`
    const store = getPostgreSQLEventStore(url.toString())
    await store.schema.migrate()
    const emmettVersions = new Array<bigint>(aggregates).fill(0n)
    // Emmett's warm-up on other streams.
    await runChains(50, 5, async (a, s) => {
      const { type, payload } = payloadFor(a, s)
      await store.appendToStream(`warm-${a}`, [{ type, data: payload }])
    })
    const result = await runChains(aggregates, steps, async (aggregate, step) => {
      const { type, payload } = payloadFor(aggregate, step)
      const appended = await store.appendToStream(
        `ticket-t${aggregate}`,
        [{ type, data: payload, metadata }],
        {
          expectedStreamVersion: emmettVersions[aggregate]!,
        },
      )
      emmettVersions[aggregate] = appended.nextExpectedStreamVersion
    })
    await store.close()
    const dropper = new pg.Client({ connectionString: schemaUrl })
    await dropper.connect()
    await dropper.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    await dropper.end()
    emmett = result
  }

  const ratio = ours.appends_per_s / raw.appends_per_s
  const emmettRate = typeof emmett.appends_per_s === "number" ? emmett.appends_per_s : 0
  return {
    benchmark: "append-throughput",
    description: `${aggregates} aggregates x ${steps} sequential appends each, all aggregates concurrent`,
    paths: { ours, raw, emmett },
    ratio,
    goal: "ours >= 0.7x raw and ahead of Emmett",
    goalMet: ratio >= 0.7 && ours.appends_per_s > emmettRate,
    extra: { ours_vs_emmett: emmettRate > 0 ? ours.appends_per_s / emmettRate : null },
  }
}

/** Single awaited append latency on one aggregate: ours against the raw round trip. */
export const runAppendLatencyBench = async (options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly appends?: number
}): Promise<BenchResult> => {
  const appends = options.appends ?? 2_000
  const { nats } = options
  const namespace = `${options.namespace}l`
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const log = makeEventLog({ nats, catalog: meshCatalog, namespace })

  // Interleave the two paths so that both see the same machine noise.
  const rawTimes: Array<number> = []
  const ourTimes: Array<number> = []
  let rawSeq = 0
  let position = initialPosition
  for (let i = 0; i < appends + 200; i++) {
    const envelope = rawEnvelope(0, i)
    let t = now()
    const ack = await nats.js.publish(
      `${namespace}.customer.ticket.raw`,
      encoder.encode(JSON.stringify([envelope])),
      {
        msgID: envelope.eventId,
        expect: { lastSubjectSequence: rawSeq },
      },
    )
    const rawMs = now() - t
    rawSeq = ack.seq
    t = now()
    const result = await Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type: "ticket", id: "ours" },
        expected: position,
        events: [payloadFor(0, i)],
        metadata,
      }),
    )
    const ourMs = now() - t
    position = result.position
    if (i >= 200) {
      rawTimes.push(rawMs)
      ourTimes.push(ourMs)
    }
  }
  const figures = (times: ReadonlyArray<number>) => ({
    p50_ms: percentile(times, 50),
    p99_ms: percentile(times, 99),
    mean_ms: times.reduce((a, b) => a + b, 0) / times.length,
  })
  const ours = figures(ourTimes)
  const raw = figures(rawTimes)
  const added = ours.p99_ms - raw.p99_ms
  return {
    benchmark: "append-latency",
    description: `${appends} single awaited appends on one aggregate, ours and raw interleaved`,
    paths: { ours, raw },
    ratio: raw.p99_ms / ours.p99_ms,
    goal: "ours adds < 1 ms at p99 to the raw round trip",
    goalMet: added < 1,
    extra: { added_p99_ms: added, added_p50_ms: ours.p50_ms - raw.p50_ms },
  }
}
