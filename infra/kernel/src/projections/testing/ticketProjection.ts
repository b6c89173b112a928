import type { meshEventDefinitions } from "@mesh/contracts"
import { type Kysely, sql } from "kysely"
import { defineProjection, type FailurePolicy, type Projection } from "../projection.ts"

/** Every public event definition of the mesh, as one type. */
export type MeshDefinition = (typeof meshEventDefinitions)[number]

/** The read model the test projection fills. */
export interface TicketReadModel {
  tickets: {
    ticket_id: string
    tenant_id: string | null
    channel: string | null
    status: string | null
    escalations: number
    events_applied: number
    last_sequence: string | number
  }
  /** One row per applied event, deliberately without a unique key: a double-applied event shows up as a duplicate. */
  ticket_ledger: {
    stream: string
    sequence: string | number
    idx: number
    event_id: string
    type: string
    ticket_id: string
  }
}

/** Options of {@link ticketProjection}. */
export interface TicketProjectionOptions {
  readonly name?: string
  readonly version?: number
  readonly onFailure?: FailurePolicy
  readonly batchSize?: number
  readonly lingerMs?: number
  /** The handler throws on a TicketEscalated whose reason is this string. */
  readonly poisonReason?: string
}

interface TicketDelta {
  tenant_id: string | null
  channel: string | null
  status: string | null
  escalations: number
  events_applied: number
  last_sequence: number
}

const ledgerChunk = 4_000

/**
 * A customer-ticket read model for the kernel's tests and benchmarks: a ledger row per event and
 * a per-ticket summary folded in memory per batch and upserted in one statement.
 */
export const ticketProjection = (
  options: TicketProjectionOptions = {},
): Projection<MeshDefinition, TicketReadModel> =>
  defineProjection<MeshDefinition, TicketReadModel>({
    name: options.name ?? "tickets",
    version: options.version ?? 1,
    streams: [{ domain: "customer" }],
    tables: ["tickets", "ticket_ledger"],
    onFailure: options.onFailure ?? "stop",
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
    createTables: async (trx) => {
      await trx.schema
        .createTable("tickets")
        .addColumn("ticket_id", "text", (c) => c.primaryKey())
        .addColumn("tenant_id", "text")
        .addColumn("channel", "text")
        .addColumn("status", "text")
        .addColumn("escalations", "integer", (c) => c.notNull())
        .addColumn("events_applied", "integer", (c) => c.notNull())
        .addColumn("last_sequence", "bigint", (c) => c.notNull())
        .execute()
      await trx.schema
        .createTable("ticket_ledger")
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("sequence", "bigint", (c) => c.notNull())
        .addColumn("idx", "integer", (c) => c.notNull())
        .addColumn("event_id", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("ticket_id", "text", (c) => c.notNull())
        .execute()
      await trx.schema
        .createIndex("ticket_ledger_position")
        .on("ticket_ledger")
        .columns(["stream", "sequence"])
        .execute()
    },
    apply: async (trx, events) => {
      const deltas = new Map<string, TicketDelta>()
      for (const { event, sequence } of events) {
        if (event.type === "TicketEscalated" && event.payload.reason === options.poisonReason) {
          throw new Error(`poisoned escalation of ticket ${event.aggregateId}`)
        }
        const delta = deltas.get(event.aggregateId) ?? {
          tenant_id: null,
          channel: null,
          status: null,
          escalations: 0,
          events_applied: 0,
          last_sequence: sequence,
        }
        delta.events_applied++
        delta.last_sequence = sequence
        switch (event.type) {
          case "TicketOpened":
            delta.tenant_id = event.payload.tenantId
            delta.channel = event.payload.channel
            delta.status = "open"
            break
          case "TicketEscalated":
            delta.escalations++
            delta.status = "escalated"
            break
          case "TicketResolved":
            delta.status = "resolved"
            break
        }
        deltas.set(event.aggregateId, delta)
      }
      const ledger = events.map(({ event, stream, sequence, index }) => ({
        stream,
        sequence,
        idx: index,
        event_id: event.eventId,
        type: event.type,
        ticket_id: event.aggregateId,
      }))
      for (let i = 0; i < ledger.length; i += ledgerChunk) {
        await trx
          .insertInto("ticket_ledger")
          .values(ledger.slice(i, i + ledgerChunk))
          .execute()
      }
      if (deltas.size === 0) return
      await trx
        .insertInto("tickets")
        .values([...deltas].map(([ticket_id, d]) => ({ ticket_id, ...d })))
        .onConflict((oc) =>
          oc.column("ticket_id").doUpdateSet((eb) => ({
            tenant_id: sql<
              string | null
            >`coalesce(${eb.ref("excluded.tenant_id")}, ${eb.ref("tickets.tenant_id")})`,
            channel: sql<
              string | null
            >`coalesce(${eb.ref("excluded.channel")}, ${eb.ref("tickets.channel")})`,
            status: sql<string | null>`coalesce(${eb.ref("excluded.status")}, ${eb.ref("tickets.status")})`,
            escalations: sql<number>`${eb.ref("tickets.escalations")} + ${eb.ref("excluded.escalations")}`,
            events_applied: sql<number>`${eb.ref("tickets.events_applied")} + ${eb.ref("excluded.events_applied")}`,
            last_sequence: eb.ref("excluded.last_sequence"),
          })),
        )
        .execute()
    },
  })

/** A table's row count and an md5 over its rows in a total order: equal checksums mean equal contents. */
export const tableChecksum = async (
  db: Kysely<unknown>,
  schema: string,
  table: string,
  orderBy: string,
): Promise<{ readonly rows: number; readonly md5: string }> => {
  const result = await sql<{ rows: number; md5: string | null }>`
    select count(*)::int as rows, md5(string_agg(t::text, '|' order by ${sql.raw(orderBy)})) as md5
    from ${sql.id(schema, table)} t`.execute(db)
  const row = result.rows[0]!
  return { rows: row.rows, md5: row.md5 ?? "" }
}

/** Checksums of both tables of the ticket read model. */
export const ticketReadModelChecksum = async (db: Kysely<unknown>, schema: string) => ({
  tickets: await tableChecksum(db, schema, "tickets", "t.ticket_id"),
  ledger: await tableChecksum(db, schema, "ticket_ledger", "t.stream, t.sequence, t.idx"),
})

/** Ledger positions applied more than once (empty when nothing was double-applied). */
export const doubleApplied = async (db: Kysely<unknown>, schema: string) =>
  (
    await sql<{ stream: string; sequence: string; idx: number; times: number }>`
      select stream, sequence, idx, count(*)::int as times from ${sql.id(schema, "ticket_ledger")}
      group by stream, sequence, idx having count(*) > 1 order by stream, sequence, idx`.execute(db)
  ).rows
