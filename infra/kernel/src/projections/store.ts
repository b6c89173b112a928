import { type Generated, type Kysely, type Migration, sql, type Transaction } from "kysely"
import { quoteIdentifier } from "./names.ts"

/** The kernel's bookkeeping tables in a service schema. */
interface KernelTables {
  mesh_checkpoints: {
    projection: string
    stream: string
    sequence: string | number | bigint
    version: number | null
    updated_at: Generated<Date>
  }
  mesh_projections: {
    projection: string
    version: number
    tables: string
    rolled_back_from: number | null
    updated_at: Generated<Date>
  }
  mesh_rebuilds: {
    projection: string
    holder: string
    token: string
    version: number
    started_at: Generated<Date>
    renewed_at: Generated<Date>
  }
}

/** The kernel's own migrations; run in every service schema under the `mesh_kernel_migration` table. */
export const kernelMigrations: Readonly<Record<string, Migration>> = {
  "2026-11-25T0000_mesh_projection_tables": {
    up: async (db) => {
      await db.schema
        .createTable("mesh_checkpoints")
        .addColumn("projection", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("sequence", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("mesh_checkpoints_pkey", ["projection", "stream"])
        .execute()
      await db.schema
        .createTable("mesh_projections")
        .addColumn("projection", "text", (c) => c.primaryKey())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("tables", "text", (c) => c.notNull())
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute()
    },
  },
  // One rebuild of a projection at a time across replicas: its lease (see claimRebuild).
  "2026-12-04T0000_mesh_rebuild_leases": {
    up: async (db) => {
      await db.schema
        .createTable("mesh_rebuilds")
        .addColumn("projection", "text", (c) => c.primaryKey())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("token", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("started_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("renewed_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute()
    },
  },
  // Versions: the live checkpoint rows name the version whose tables they count for, so that a
  // live batch sees a swap to another version in the rows it locks anyway (see lockCheckpoints);
  // and an operator's rollback is remembered, so that replicas of the version rolled back from do
  // not rebuild it forward again on their own (see Registration.rolledBackFrom).
  "2026-12-05T0000_mesh_projection_versions": {
    up: async (db) => {
      await db.schema.alterTable("mesh_projections").addColumn("rolled_back_from", "integer").execute()
      await db.schema.alterTable("mesh_checkpoints").addColumn("version", "integer").execute()
      await sql`update mesh_checkpoints c set version = p.version
        from mesh_projections p where p.projection = c.projection`.execute(db)
    },
  },
}

/** The bookkeeping table kysely keeps for {@link kernelMigrations}. */
export const kernelMigrationTable = "mesh_kernel_migration"

type AnyDb = Kysely<unknown> | Transaction<unknown>

const kernel = (db: AnyDb, schema: string): Kysely<KernelTables> =>
  (db as unknown as Kysely<KernelTables>).withSchema(schema)

/** Stream name → last applied commit sequence. */
export type Checkpoints = ReadonlyMap<string, number>

const toMap = (rows: ReadonlyArray<{ stream: string; sequence: string | number | bigint }>): Checkpoints =>
  new Map(rows.map((r) => [r.stream, Number(r.sequence)]))

/**
 * True once a kernel table exists in `schema` (a status read may come before the first setup;
 * `mesh_rebuilds` comes with a later migration than the rest).
 */
export const kernelTablesExist = async (
  db: AnyDb,
  schema: string,
  table: keyof KernelTables = "mesh_projections",
): Promise<boolean> => {
  const result = await sql<{ found: string | null }>`
    select to_regclass(${`${quoteIdentifier(schema)}.${table}`})::text as found`.execute(db)
  return result.rows[0]?.found != null
}

/** Reads a projection's checkpoints without locking them. */
export const readCheckpoints = async (db: AnyDb, schema: string, key: string): Promise<Checkpoints> =>
  toMap(
    await kernel(db, schema)
      .selectFrom("mesh_checkpoints")
      .select(["stream", "sequence"])
      .where("projection", "=", key)
      .execute(),
  )

/**
 * Where a projection's live checkpoint on one stream stands, and the version of the tables it
 * counts for; undefined before the projection has set up (no row, or no kernel tables yet).
 */
export const readCheckpointOn = async (
  db: AnyDb,
  schema: string,
  projection: string,
  stream: string,
): Promise<{ readonly sequence: number; readonly version: number | null } | undefined> => {
  const row = await kernel(db, schema)
    .selectFrom("mesh_checkpoints")
    .select(["sequence", "version"])
    .where("projection", "=", projection)
    .where("stream", "=", stream)
    .executeTakeFirst()
    .catch(async (error: unknown) => {
      // Asked before the first setup: the tables are not there yet. Anything else is the read failing.
      if (!(await kernelTablesExist(db, schema, "mesh_checkpoints"))) return undefined
      throw error
    })
  return row === undefined ? undefined : { sequence: Number(row.sequence), version: row.version }
}

/** Checkpoint rows as locked: the sequences, and the versions of the tables they count for. */
export interface LockedCheckpoints {
  readonly checkpoints: Checkpoints
  /**
   * The versions the rows name: one, the live tables' (a swap sets them with the tables); null for
   * a shadow's rows, which count for tables no version has yet.
   */
  readonly versions: ReadonlySet<number | null>
}

/** Locked rows as {@link LockedCheckpoints}; a stream asked for without a row fails, naming it. */
const lockedRows = (
  rows: ReadonlyArray<{ stream: string; sequence: string | number | bigint; version: number | null }>,
  key: string,
  streams: ReadonlyArray<string> | "all",
): LockedCheckpoints => {
  const checkpoints = toMap(rows)
  const missing = streams === "all" ? [] : streams.filter((s) => !checkpoints.has(s))
  if (missing.length > 0) {
    throw new Error(`no checkpoint row for ${key} on ${missing.join(", ")} (the projection was not set up)`)
  }
  return { checkpoints, versions: new Set(rows.map((r) => r.version)) }
}

/**
 * Locks a projection's checkpoint rows for the rest of the transaction (in stream order, so that
 * two transactions locking several streams cannot deadlock) and returns them. Every batch, and a
 * rebuild's swap, takes this lock first: it is what makes replicas and the swap exclude each other.
 * A batch that waited here for a swap reads the rows as the swap left them, version included.
 */
export const lockCheckpointRows = async (
  trx: Transaction<unknown>,
  schema: string,
  key: string,
  /** The streams whose rows to lock, or every row of the key. */
  streams: ReadonlyArray<string> | "all",
): Promise<LockedCheckpoints> => {
  let query = kernel(trx, schema)
    .selectFrom("mesh_checkpoints")
    .select(["stream", "sequence", "version"])
    .where("projection", "=", key)
  if (streams !== "all") query = query.where("stream", "in", [...streams])
  const rows = await query.orderBy("stream").forUpdate().execute()
  return lockedRows(rows, key, streams)
}

/**
 * {@link lockCheckpointRows} for a batch applied whole, with its checkpoint write in the same
 * statement: locks the rows of the streams in `to` (in stream order, as there), moves each row to
 * its sequence in `to` where that is further, and returns the rows as they were before, which tell
 * the batch's fresh commits from those already applied. One round trip to the database where the
 * lock and the write took two. A batch that does not commit leaves the rows as they were, and one
 * with no fresh commit on a stream leaves that row's sequence and time as they were (it still
 * writes the row, where a lock alone only marked it).
 */
export const lockAndAdvanceCheckpoints = async (
  trx: Transaction<unknown>,
  schema: string,
  key: string,
  /** Stream → the highest sequence the batch holds on it. */
  to: Checkpoints,
): Promise<LockedCheckpoints> => {
  const streams = [...to.keys()].sort()
  const table = sql.raw(`${quoteIdentifier(schema)}.mesh_checkpoints`)
  const targets = sql.join(streams.map((stream) => sql`(${stream}::text, ${to.get(stream)!}::bigint)`))
  // The rows as they were come from the locking subquery: an UPDATE's RETURNING gives the new row.
  // Waiting for another transaction's lock, both it and the update see that transaction's rows.
  const { rows } = await sql<{ stream: string; sequence: string | number | bigint; version: number | null }>`
    update ${table} as c
    set sequence = greatest(c.sequence, v.sequence),
        updated_at = case when v.sequence > c.sequence then now() else c.updated_at end
    from (
      select stream, sequence, version from ${table}
      where projection = ${key} and stream in (${sql.join(streams)})
      order by stream
      for update
    ) as before, (values ${targets}) as v (stream, sequence)
    where c.projection = ${key} and c.stream = before.stream and v.stream = before.stream
    returning before.stream as stream, before.sequence as sequence, before.version as version`.execute(trx)
  return lockedRows(rows, key, streams)
}

/** {@link lockCheckpointRows}, the sequences only. */
export const lockCheckpoints = async (
  trx: Transaction<unknown>,
  schema: string,
  key: string,
  streams: ReadonlyArray<string> | "all",
): Promise<Checkpoints> => (await lockCheckpointRows(trx, schema, key, streams)).checkpoints

/**
 * Names checkpoint rows with a version: rows the caller holds locked, whose version the
 * registration has just confirmed (a swap by a kernel before rows named versions left them so).
 */
export const nameCheckpoints = async (
  trx: Transaction<unknown>,
  schema: string,
  key: string,
  streams: ReadonlyArray<string>,
  version: number,
): Promise<void> => {
  await kernel(trx, schema)
    .updateTable("mesh_checkpoints")
    .set({ version })
    .where("projection", "=", key)
    .where("stream", "in", [...streams])
    .execute()
}

/** Writes the checkpoints that moved. */
export const saveCheckpoints = async (
  trx: Transaction<unknown>,
  schema: string,
  key: string,
  checkpoints: Checkpoints,
): Promise<void> => {
  for (const [stream, sequence] of checkpoints) {
    await kernel(trx, schema)
      .updateTable("mesh_checkpoints")
      .set({ sequence, updated_at: sql<Date>`now()` })
      .where("projection", "=", key)
      .where("stream", "=", stream)
      .execute()
  }
}

/**
 * Creates missing checkpoint rows at sequence 0 (so that the lock always has a row to take), for
 * the tables of `version` (the live version; none for a shadow's).
 */
export const initCheckpoints = async (
  trx: Transaction<unknown>,
  schema: string,
  key: string,
  streams: ReadonlyArray<string>,
  version: number | null,
): Promise<void> => {
  await kernel(trx, schema)
    .insertInto("mesh_checkpoints")
    .values(streams.map((stream) => ({ projection: key, stream, sequence: 0, version })))
    .onConflict((oc) => oc.columns(["projection", "stream"]).doNothing())
    .execute()
}

/** Deletes a projection's checkpoint rows (a rebuild starting over). */
export const deleteCheckpoints = async (trx: Transaction<unknown>, schema: string, key: string) => {
  await kernel(trx, schema).deleteFrom("mesh_checkpoints").where("projection", "=", key).execute()
}

/** What the database remembers of a projection: the version and tables that are live. */
export interface Registration {
  readonly version: number
  readonly tables: ReadonlyArray<string>
  /**
   * Set when an operator rolled the projection back to `version` from this (the newest) version:
   * a replica of a version up to it waits rather than rebuild forward, until an operator's
   * rebuild or a build newer than it rolls forward.
   */
  readonly rolledBackFrom?: number
}

/** Reads a projection's registration, undefined when it was never set up. */
export const readRegistration = async (
  db: AnyDb,
  schema: string,
  projection: string,
): Promise<Registration | undefined> => {
  // Every column: a status read may come before this build's migrations added rolled_back_from.
  const row = await kernel(db, schema)
    .selectFrom("mesh_projections")
    .selectAll()
    .where("projection", "=", projection)
    .executeTakeFirst()
  const rolledBackFrom = (row as { rolled_back_from?: number | null } | undefined)?.rolled_back_from ?? null
  return row === undefined
    ? undefined
    : {
        version: row.version,
        tables: JSON.parse(row.tables) as string[],
        ...(rolledBackFrom === null ? {} : { rolledBackFrom }),
      }
}

/** Records which version and tables of a projection are live. */
export const writeRegistration = async (
  trx: Transaction<unknown>,
  schema: string,
  projection: string,
  registration: Registration,
): Promise<void> => {
  const tables = JSON.stringify(registration.tables)
  const rolled_back_from = registration.rolledBackFrom ?? null
  await kernel(trx, schema)
    .insertInto("mesh_projections")
    .values({ projection, version: registration.version, tables, rolled_back_from })
    .onConflict((oc) =>
      oc
        .column("projection")
        .doUpdateSet({ version: registration.version, tables, rolled_back_from, updated_at: sql`now()` }),
    )
    .execute()
}

/**
 * Serialises the setup of one projection across replicas for the rest of the transaction; a
 * transaction-level lock, so it needs no dedicated session (PGlite has only one).
 */
export const lockProjectionSetup = async (trx: Transaction<unknown>, schema: string, projection: string) => {
  await sql`select pg_advisory_xact_lock(hashtext('mesh_projection'), hashtext(${`${schema}.${projection}`}))`.execute(
    trx,
  )
}

/** Points unqualified names at `schema` until the transaction ends. */
export const targetSchema = async (trx: Transaction<unknown>, schema: string): Promise<void> => {
  await sql`set local search_path to ${sql.id(schema)}, public`.execute(trx)
}

/** Drops and re-creates an empty schema. */
export const recreateSchema = async (trx: Transaction<unknown>, schema: string): Promise<void> => {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(trx)
  await sql`create schema ${sql.id(schema)}`.execute(trx)
}

/** Drops a schema and everything in it, if it exists. */
export const dropSchema = async (db: AnyDb, schema: string): Promise<void> => {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db)
}

/**
 * Swaps a rebuilt projection in, inside the caller's transaction (which must hold the live
 * checkpoint lock): the live tables move to a retired schema, the shadow tables move into the
 * service schema (indexes, constraints and owned sequences move with them), the live checkpoint
 * takes the shadow's position and the retired tables are dropped. Readers see the old tables
 * until the commit and the new ones after it.
 */
export const swapIn = async (
  trx: Transaction<unknown>,
  swap: {
    readonly schema: string
    readonly shadowSchema: string
    readonly retiredSchema: string
    readonly projection: string
    readonly shadowKey: string
    readonly version: number
    readonly tables: ReadonlyArray<string>
    readonly previousTables: ReadonlyArray<string>
    readonly checkpoints: Checkpoints
    /** See {@link Registration.rolledBackFrom}. */
    readonly rolledBackFrom: number | undefined
  },
): Promise<void> => {
  const { schema, shadowSchema, retiredSchema } = swap
  await recreateSchema(trx, retiredSchema)
  for (const table of new Set([...swap.previousTables, ...swap.tables])) {
    await sql`alter table if exists ${sql.id(schema, table)} set schema ${sql.id(retiredSchema)}`.execute(trx)
  }
  for (const table of swap.tables) {
    await sql`alter table ${sql.id(shadowSchema, table)} set schema ${sql.id(schema)}`.execute(trx)
  }
  // Update the live rows in place (never delete and re-insert them): a live batch blocked on
  // their lock then re-reads them and sees the new position.
  await saveCheckpoints(trx, schema, swap.projection, swap.checkpoints)
  await kernel(trx, schema)
    .updateTable("mesh_checkpoints")
    .set({ version: swap.version })
    .where("projection", "=", swap.projection)
    .execute()
  await deleteCheckpoints(trx, schema, swap.shadowKey)
  await writeRegistration(trx, schema, swap.projection, {
    version: swap.version,
    tables: swap.tables,
    ...(swap.rolledBackFrom === undefined ? {} : { rolledBackFrom: swap.rolledBackFrom }),
  })
  await sql`drop schema ${sql.id(retiredSchema)} cascade`.execute(trx)
  // Restrict: anything left in the shadow schema (a type the tables use) would be dropped with
  // it and take columns along; failing the swap is better.
  await sql`drop schema ${sql.id(shadowSchema)} restrict`.execute(trx)
}

/** A rebuild of a projection that holds its lease: who runs it, to which version, since when. */
export interface RebuildLease {
  readonly holder: string
  readonly version: number
  readonly startedAt: Date
  /** When the holder last renewed it; it lapses `ttlMs` after this. */
  readonly renewedAt: Date
}

/** Whether a lease was renewed within `ttlMs`, by the database's clock. */
const leaseAlive = (ttlMs: number) =>
  sql<boolean>`renewed_at > now() - make_interval(secs => ${ttlMs / 1_000})`

const leaseOf = (row: {
  readonly holder: string
  readonly version: number
  readonly started_at: Date
  readonly renewed_at: Date
}): RebuildLease => ({
  holder: row.holder,
  version: row.version,
  startedAt: new Date(row.started_at),
  renewedAt: new Date(row.renewed_at),
})

/**
 * Locks the rebuild lease row of a projection for the rest of the transaction (it waits for a
 * swap that is releasing it to commit) and returns the running rebuild, if its lease is alive:
 * renewed within `ttlMs`. Taken inside a transaction that holds the projection's setup lock. The
 * database's clock decides, so replicas whose clocks disagree still agree on who holds it.
 */
export const lockRebuild = async (
  trx: Transaction<unknown>,
  schema: string,
  projection: string,
  ttlMs: number,
): Promise<RebuildLease | undefined> => {
  const current = await kernel(trx, schema)
    .selectFrom("mesh_rebuilds")
    .select(["holder", "version", "started_at", "renewed_at", leaseAlive(ttlMs).as("alive")])
    .where("projection", "=", projection)
    .forUpdate()
    .executeTakeFirst()
  return current?.alive === true ? leaseOf(current) : undefined
}

/** Takes the rebuild lease (after {@link lockRebuild} found none alive): a lapsed holder's is replaced. */
export const takeRebuild = async (
  trx: Transaction<unknown>,
  schema: string,
  projection: string,
  claim: { readonly holder: string; readonly token: string; readonly version: number },
): Promise<void> => {
  const row = { holder: claim.holder, token: claim.token, version: claim.version }
  await kernel(trx, schema)
    .insertInto("mesh_rebuilds")
    .values({ projection, ...row })
    .onConflict((oc) =>
      oc.column("projection").doUpdateSet({ ...row, started_at: sql`now()`, renewed_at: sql`now()` }),
    )
    .execute()
}

/** Renews a held rebuild lease; false when it is no longer this rebuild's (it lapsed and was taken). */
export const renewRebuild = async (db: AnyDb, schema: string, projection: string, token: string) => {
  const result = await kernel(db, schema)
    .updateTable("mesh_rebuilds")
    .set({ renewed_at: sql<Date>`now()` })
    .where("projection", "=", projection)
    .where("token", "=", token)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * True while the lease is this rebuild's, and keeps it so until the transaction ends (a share
 * lock: no other replica can take it over in between). Every write into the shadow tables checks
 * it first, so that a rebuild that stalled past its lease never writes into its successor's.
 */
export const holdsRebuild = async (
  trx: Transaction<unknown>,
  schema: string,
  projection: string,
  token: string,
) =>
  (await kernel(trx, schema)
    .selectFrom("mesh_rebuilds")
    .select("holder")
    .where("projection", "=", projection)
    .where("token", "=", token)
    .forShare()
    .executeTakeFirst()) !== undefined

/** Gives a rebuild lease back (a no-op when it was taken over). */
export const releaseRebuild = async (db: AnyDb, schema: string, projection: string, token: string) => {
  await kernel(db, schema)
    .deleteFrom("mesh_rebuilds")
    .where("projection", "=", projection)
    .where("token", "=", token)
    .execute()
}

/** The running rebuild of a projection, if a live lease names one. */
export const readRebuild = async (
  db: AnyDb,
  schema: string,
  projection: string,
  ttlMs: number,
): Promise<RebuildLease | undefined> => {
  // A schema set up before leases existed has no table until its next setup migrates it.
  if (!(await kernelTablesExist(db, schema, "mesh_rebuilds"))) return undefined
  const row = await kernel(db, schema)
    .selectFrom("mesh_rebuilds")
    .select(["holder", "version", "started_at", "renewed_at"])
    .where("projection", "=", projection)
    .where(leaseAlive(ttlMs))
    .executeTakeFirst()
  return row === undefined ? undefined : leaseOf(row)
}
