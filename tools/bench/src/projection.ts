import { meshCatalog, Subjects } from "@mesh/contracts"
import { applyTopology, declareTopology, makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { defaultBatchSize, makeProjector } from "@mesh/kernel"
import {
  eventCount,
  makeTicketAppender,
  type TicketReadModel,
  tableChecksum,
  ticketProjection,
  ticketTraffic,
} from "@mesh/kernel/projections/testing"
import { makeKysely, openPostgresPool } from "@mesh/sql"
import { DeliverPolicy } from "@nats-io/jetstream"
import { Deferred, Effect, Fiber } from "effect"
import { sql, type Transaction } from "kysely"
import pg from "pg"
import { type BenchResult, now } from "./harness.ts"

/** Sizes of the projection benchmark. */
export interface ProjectionBenchOptions {
  readonly natsUrl: string
  readonly databaseUrl: string
  readonly events?: number
  readonly tickets?: number
  /** Commits per transaction, on both paths (the projector's default). */
  readonly batchSize?: number
  /** Measured runs of each path, interleaved; the medians are compared. */
  readonly runs?: number
}

/** The rows the ticket projection writes for one commit, computed from the stored JSON. */
interface RawCommit {
  readonly ledger: ReadonlyArray<readonly [string, number, number, string, string, string]>
  readonly ticketId: string
  readonly opened: { readonly tenantId: string; readonly channel: string } | undefined
  readonly escalations: number
  readonly status: string | null
  readonly events: number
  readonly sequence: number
}

interface StoredEvent {
  readonly eventId: string
  readonly type: string
  readonly aggregateId: string
  readonly payload: { readonly tenantId?: string; readonly channel?: string }
}

/** Every commit of a stream, read with a plain ordered consumer and JSON.parse (untimed: the raw path's input). */
const readRawCommits = async (nats: NatsHandles, stream: string, head: number) => {
  const consumer = await nats.js.consumers.get(stream, { deliver_policy: DeliverPolicy.All })
  const messages = await consumer.consume({ max_messages: 1024 })
  const commits: Array<RawCommit> = []
  const decoder = new TextDecoder()
  for await (const m of messages) {
    const events = JSON.parse(decoder.decode(m.data)) as ReadonlyArray<StoredEvent>
    let opened: RawCommit["opened"]
    let escalations = 0
    let status: string | null = null
    for (const e of events) {
      if (e.type === "TicketOpened") {
        opened = { tenantId: e.payload.tenantId!, channel: e.payload.channel! }
        status = "open"
      } else if (e.type === "TicketEscalated") {
        escalations++
        status = "escalated"
      } else if (e.type === "TicketResolved") status = "resolved"
    }
    commits.push({
      ledger: events.map((e, i) => [stream, m.seq, i, e.eventId, e.type, e.aggregateId] as const),
      ticketId: events[0]!.aggregateId,
      opened,
      escalations,
      status,
      events: events.length,
      sequence: m.seq,
    })
    if (m.seq >= head) break
  }
  await messages.close()
  return commits
}

/** Postgres takes at most 65,535 parameters in one statement. */
const maxLedgerRowsPerInsert = Math.floor(65_535 / 6)

const placeholders = (rows: number, columns: number) => {
  const out: Array<string> = []
  for (let r = 0; r < rows; r++) {
    const cells: Array<string> = []
    for (let c = 1; c <= columns; c++) cells.push(`$${r * columns + c}`)
    out.push(`(${cells.join(",")})`)
  }
  return out.join(",")
}

/**
 * The raw path: the same rows the ticket projection writes, batch by batch, each batch one
 * transaction of multi-row INSERTs (the ledger) and one multi-row upsert (the per-ticket summary),
 * with hand-written SQL on a plain pg client. No log reading, decoding or checkpoint.
 */
const rawInsert = async (
  client: pg.Client,
  schema: string,
  commits: ReadonlyArray<RawCommit>,
  batch: number,
) => {
  const upsert = `
    on conflict (ticket_id) do update set
      tenant_id = coalesce(excluded.tenant_id, tickets.tenant_id),
      channel = coalesce(excluded.channel, tickets.channel),
      status = coalesce(excluded.status, tickets.status),
      escalations = tickets.escalations + excluded.escalations,
      events_applied = tickets.events_applied + excluded.events_applied,
      last_sequence = excluded.last_sequence`
  const ledgerTable = `"${schema}".ticket_ledger`
  const ticketsTable = `"${schema}".tickets`
  for (let i = 0; i < commits.length; i += batch) {
    const slice = commits.slice(i, i + batch)
    const ledger = slice.flatMap((c) => c.ledger)
    const tickets = new Map<string, Array<string | number | null>>()
    for (const c of slice) {
      const row = tickets.get(c.ticketId) ?? [c.ticketId, null, null, null, 0, 0, 0]
      if (c.opened !== undefined) {
        row[1] = c.opened.tenantId
        row[2] = c.opened.channel
      }
      if (c.status !== null) row[3] = c.status
      row[4] = (row[4] as number) + c.escalations
      row[5] = (row[5] as number) + c.events
      row[6] = c.sequence
      tickets.set(c.ticketId, row)
    }
    await client.query("begin")
    for (let j = 0; j < ledger.length; j += maxLedgerRowsPerInsert) {
      const rows = ledger.slice(j, j + maxLedgerRowsPerInsert)
      await client.query(
        `insert into ${ledgerTable} (stream, sequence, idx, event_id, type, ticket_id) values ${placeholders(rows.length, 6)}`,
        rows.flat(),
      )
    }
    await client.query(
      `insert into ${ticketsTable} as tickets (ticket_id, tenant_id, channel, status, escalations, events_applied, last_sequence)
       values ${placeholders(tickets.size, 7)} ${upsert}`,
      [...tickets.values()].flat(),
    )
    await client.query("commit")
  }
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Projection throughput: our projector (log read and decode, batches, checkpoint in the same
 * transaction) catching up over N events already in a private JetStream into real Postgres, beside
 * raw multi-row inserts of the same rows in batches of the same size. Both paths run alternately
 * into fresh schemas, and the read models they leave must be identical.
 */
export const runProjectionBench = async (options: ProjectionBenchOptions): Promise<BenchResult> => {
  const events = options.events ?? 50_000
  const tickets = options.tickets ?? 1_000
  const batchSize = options.batchSize ?? defaultBatchSize
  const runs = options.runs ?? 5

  const nats = await openNats(options.natsUrl, "mesh-bench-projection")
  const pool = openPostgresPool(options.databaseUrl, { max: 4 })
  const db = makeKysely<unknown>(pool)
  const client = new pg.Client({ connectionString: options.databaseUrl })
  await client.connect()
  const schemas: Array<string> = []
  const prefix = `bench_proj_${Date.now().toString(36)}`
  const newSchema = (path: string) => {
    const schema = `${prefix}_${path}${schemas.length}`
    schemas.push(schema)
    return schema
  }
  try {
    const namespace = `benchproj${Date.now().toString(36)}`
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const plan = ticketTraffic({ events, tickets, prefix: "t" })
    const appender = makeTicketAppender(log)
    for (const round of plan) await Effect.runPromise(appender.appendRound(round, 64))
    const head = await Effect.runPromise(log.headSequence("customer"))
    const stream = Subjects.streamName(namespace, "customer")
    const rawCommits = await readRawCommits(nats, stream, head)
    if (rawCommits.length !== head || eventCount(plan) !== events) {
      throw new Error(`expected ${head} commits of ${events} events, read ${rawCommits.length}`)
    }
    const projection = ticketProjection({ batchSize })

    const ours = async () => {
      const schema = newSchema("ours")
      const done = Effect.runSync(Deferred.make<void>())
      const projector = makeProjector({
        projection,
        db,
        schema,
        eventLog: log,
        afterCommit: (outcome) =>
          (outcome.checkpoints.get(stream) ?? 0) >= head ? Deferred.succeed(done, undefined) : Effect.void,
      })
      await Effect.runPromise(projector.setup)
      const started = now()
      const fiber = Effect.runFork(projector.run)
      await Effect.runPromise(Effect.raceFirst(Deferred.await(done), Fiber.join(fiber)))
      const seconds = (now() - started) / 1_000
      await Effect.runPromise(Fiber.interrupt(fiber))
      return { schema, seconds }
    }

    const raw = async () => {
      const schema = newSchema("raw")
      await sql`create schema ${sql.id(schema)}`.execute(db)
      await db.transaction().execute(async (trx) => {
        await sql`set local search_path to ${sql.id(schema)}`.execute(trx)
        await projection.createTables(trx as Transaction<TicketReadModel>, { schema, rebuild: false })
      })
      const started = now()
      await rawInsert(client, schema, rawCommits, batchSize)
      return { schema, seconds: (now() - started) / 1_000 }
    }

    // One untimed run of each warms the JIT, the connections and Postgres' caches.
    await ours()
    await raw()
    const ourSeconds: Array<number> = []
    const rawSeconds: Array<number> = []
    let last: { ours: string; raw: string } | undefined
    for (let r = 0; r < runs; r++) {
      const o = await ours()
      const w = await raw()
      ourSeconds.push(o.seconds)
      rawSeconds.push(w.seconds)
      last = { ours: o.schema, raw: w.schema }
    }

    // The two paths must have written the same rows, or the comparison means nothing.
    for (const [table, order] of [
      ["ticket_ledger", "t.stream, t.sequence, t.idx"],
      ["tickets", "t.ticket_id"],
    ] as const) {
      const a = await tableChecksum(db, last!.ours, table, order)
      const b = await tableChecksum(db, last!.raw, table, order)
      if (a.rows !== b.rows || a.md5 !== b.md5) {
        throw new Error(`${table}: ours ${JSON.stringify(a)} differs from raw ${JSON.stringify(b)}`)
      }
    }

    const figures = (seconds: ReadonlyArray<number>) => {
      const s = median(seconds)
      return {
        events,
        commits: head,
        seconds: s,
        events_per_s: events / s,
        commits_per_s: head / s,
        runs: seconds.map((x) => Math.round((events / x) * 10) / 10).join(" "),
      }
    }
    const oursFigures = figures(ourSeconds)
    const rawFigures = figures(rawSeconds)
    const ratio = oursFigures.events_per_s / rawFigures.events_per_s
    return {
      benchmark: "projection-throughput",
      description: `catch up over ${events} events (${head} commits, ${tickets} tickets) into Postgres, ${batchSize} commits per transaction, median of ${runs} interleaved runs`,
      paths: { ours: oursFigures, raw: rawFigures },
      ratio,
      goal: "ours >= 0.5x raw multi-row inserts of the same rows",
      goalMet: ratio >= 0.5,
    }
  } finally {
    for (const schema of schemas) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db)
    await client.end()
    await db.destroy()
    await nats.connection.drain()
  }
}
