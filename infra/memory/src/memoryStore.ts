import { createHash } from "node:crypto"
import { join } from "node:path"
import * as lancedb from "@lancedb/lancedb"
import { assertNamespace } from "@mesh/contracts"
import { MeshNamespace } from "@mesh/eventlog"
import { OFFLINE_EMBED_DIMENSIONS } from "@mesh/models"
import {
  Schema as ArrowSchema,
  type Table as ArrowTable,
  Bool,
  DataType,
  Field,
  FixedSizeList,
  Float32,
  Int64,
  Utf8,
} from "apache-arrow"
import { Config, Context, Effect, Layer, Ref, Schema, Semaphore } from "effect"
import {
  AgentName,
  canonicalJson,
  dot,
  generationTableName,
  logicalTableName,
  type MemoryHit,
  MemoryId,
  MemoryKind,
  type MemoryRecord,
  MemoryRecordFields,
  type MemorySearch,
  MemorySearchFields,
  type MemorySearchResult,
  type MemorySnapshot,
  type MemorySnapshotRow,
  normalise,
  similarityFromSquaredL2,
} from "./memoryRecord.ts"
import {
  type DriftSignal,
  defaultQualityOptions,
  driftSignal,
  emptyQuality,
  type QualityOptions,
  type QualityState,
  recordTopScore,
  type ScoreDistribution,
  scoreDistribution,
} from "./retrievalQuality.ts"

/** Why a memory operation failed. */
export class MemoryError extends Schema.TaggedError<MemoryError>()("MemoryError", {
  reason: Schema.Literals(["InvalidRequest", "EmbeddingFailed", "SourceFailed", "StorageFailure"]),
  message: Schema.String,
}) {}

/** Settings of the memory store. */
export interface MemoryStoreOptions {
  /** The LanceDB directory. */
  readonly dir: string
  /**
   * The namespace whose memory this is: its tables live in `<dir>/<namespace>`, so that a sandbox
   * or a fork sharing the folder with the live mesh never reads or writes its vectors. Without one,
   * tables live in `dir` itself (tools that open one namespace's folder directly).
   */
  readonly namespace?: string
  /**
   * Embedding dimensions, those of the embedder feeding the store (default 384, all-minilm's; the
   * offline embedder's are 512, `OFFLINE_EMBED_DIMENSIONS`).
   */
  readonly dimensions?: number
  /** Candidates the HNSW graph search keeps on indexed tables (default 100). */
  readonly ef?: number
  /** Candidates re-ranked with exact distances, as a multiple of the limit (default 2). */
  readonly refineFactor?: number
  /** Below this many rows `ensureIndex` leaves the table to exact search (default 4096). */
  readonly indexMinRows?: number
  readonly quality?: QualityOptions
}

/** Settings of the IVF_HNSW_SQ vector index (default: one partition, one HNSW graph). */
export interface VectorIndexOptions {
  readonly numPartitions?: number
}

/** What `ensureIndex` did, and with which settings when it built the vector index. */
export type IndexOutcome =
  | { readonly rows: number; readonly vectorIndex: "too-small" }
  | { readonly rows: number; readonly vectorIndex: "built"; readonly numPartitions: number }

/** What `upsert` wrote. */
export interface UpsertOutcome {
  readonly inserted: number
  readonly updated: number
}

/** Writes into one table generation; `rebuild` hands one to the code filling the new generation. */
export interface MemoryWriter {
  readonly upsert: (records: ReadonlyArray<MemoryRecord>) => Effect.Effect<UpsertOutcome, MemoryError>
  readonly markStale: (ids: ReadonlyArray<string>, reason: string) => Effect.Effect<number, MemoryError>
}

/** Retrieval quality of one agent's memory of one kind. */
export interface RetrievalQualityReport {
  readonly agent: string
  readonly kind: MemoryKind
  readonly distribution: ScoreDistribution
  readonly drift: DriftSignal
}

/** Which of a tenant's rows {@link MemoryStoreShape.count} counts. */
export interface CountFilter {
  /** Stale rows too (default: not, as a search). */
  readonly includeStale?: boolean
  /** Only rows projected from a log position before this sequence of their source stream. */
  readonly sourceBefore?: number
}

/** The long-term memory store: one LanceDB table per agent and memory kind. */
export interface MemoryStoreShape {
  /** Writes memories in one merge-insert on id: re-projecting the same events changes nothing. */
  readonly upsert: (
    agent: string,
    kind: MemoryKind,
    records: ReadonlyArray<MemoryRecord>,
  ) => Effect.Effect<UpsertOutcome, MemoryError>
  /** Marks memories stale because the facts they came from changed; returns how many rows it marked. */
  readonly markStale: (
    agent: string,
    kind: MemoryKind,
    ids: ReadonlyArray<string>,
    reason: string,
  ) => Effect.Effect<number, MemoryError>
  /** Top memories of one tenant for a query vector (hybrid with full-text when `queryText` is given). */
  readonly search: (request: MemorySearch) => Effect.Effect<MemorySearchResult, MemoryError>
  /** Builds bitmap indexes on tenant_id and stale and, when the table is large enough, the HNSW vector index. */
  readonly ensureIndex: (
    agent: string,
    kind: MemoryKind,
    options?: VectorIndexOptions,
  ) => Effect.Effect<IndexOutcome, MemoryError>
  /** Merges small fragments and brings indexes up to date with rows written since they were built. */
  readonly compact: (agent: string, kind: MemoryKind) => Effect.Effect<void, MemoryError>
  /**
   * Rows in the table, optionally of one tenant; with `filter`, only those a search of that tenant
   * could return (see {@link CountFilter}). A search's answer is empty when this is 0, and the
   * count costs no embedding: a caller may skip embedding its query then.
   */
  readonly count: (
    agent: string,
    kind: MemoryKind,
    tenantId?: string,
    filter?: CountFilter,
  ) => Effect.Effect<number, MemoryError>
  /** Every row sorted by id with a checksum, for comparing a rebuilt table with the live one. */
  readonly snapshot: (agent: string, kind: MemoryKind) => Effect.Effect<MemorySnapshot, MemoryError>
  /**
   * Fills a fresh generation of the table, indexes it like the live one, then points the
   * logical table at it in one commit. Readers see the old generation until the swap.
   */
  readonly rebuild: <A, E, R>(
    agent: string,
    kind: MemoryKind,
    fill: (writer: MemoryWriter) => Effect.Effect<A, E, R>,
    options?: VectorIndexOptions,
  ) => Effect.Effect<A, E | MemoryError, R>
  /** Score histogram and drift signal of every agent and kind searched so far. */
  readonly retrievalQuality: () => Effect.Effect<ReadonlyArray<RetrievalQualityReport>>
  /** The live LanceDB table behind a logical table, for benchmarks and diagnostics only. */
  readonly rawTable: (agent: string, kind: MemoryKind) => Effect.Effect<lancedb.Table, MemoryError>
  /** The search settings in force, so that a raw query can be run with the same ones. */
  readonly searchSettings: { readonly ef: number; readonly refineFactor: number }
}

/** The vector dimensions of a memory table's schema; undefined when it has no fixed-size vector column. */
const vectorWidth = (schema: ArrowSchema): number | undefined => {
  const type = schema.fields.find((field) => field.name === "vector")?.type
  // By type id, not instanceof: LanceDB may hand back a schema built by its own copy of Arrow.
  return DataType.isFixedSizeList(type) ? (type as FixedSizeList).listSize : undefined
}

/** The Arrow schema of a memory table. */
export const memoryArrowSchema = (dimensions: number): ArrowSchema =>
  new ArrowSchema([
    new Field("id", new Utf8(), false),
    new Field("tenant_id", new Utf8(), false),
    new Field("kind", new Utf8(), false),
    new Field("text", new Utf8(), false),
    new Field("vector", new FixedSizeList(dimensions, new Field("item", new Float32(), true)), false),
    new Field("source_stream", new Utf8(), false),
    new Field("source_sequence", new Int64(), false),
    new Field("source_event_id", new Utf8(), false),
    new Field("updated_at", new Utf8(), false),
    new Field("stale", new Bool(), false),
    new Field("stale_reason", new Utf8(), true),
    new Field("metadata", new Utf8(), false),
  ])

/** The row of a memory table as a full read (`snapshot`) returns it. */
interface StoredRow {
  readonly id: string
  readonly tenant_id: string
  readonly kind: MemoryKind
  readonly text: string
  readonly vector?: ArrayLike<number>
  readonly source_stream: string
  readonly source_sequence: bigint | number
  readonly source_event_id: string
  readonly updated_at: string
  readonly stale: boolean
  readonly stale_reason: string | null
  readonly metadata: string
}

/** The pointer table: which generation each logical table reads and writes. */
const pointerTable = "memory_pointers"
const pointerSchema = new ArrowSchema([
  new Field("logical", new Utf8(), false),
  new Field("generation", new Int64(), false),
])

const invalid = (message: string) => new MemoryError({ reason: "InvalidRequest", message })

const storage = <A>(what: string, run: () => Promise<A>): Effect.Effect<A, MemoryError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) =>
      new MemoryError({
        reason: "StorageFailure",
        message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
      }),
  })

const decode = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, input: unknown) =>
  Schema.decodeUnknownEffect(schema)(input).pipe(Effect.mapError((error) => invalid(error.message)))

/** The table's address checked: agent and kind become part of a table name. */
const checkTableAddress = (agent: string, kind: MemoryKind) =>
  Effect.all([decode(AgentName, agent), decode(MemoryKind, kind)]).pipe(
    Effect.map(([a, k]) => logicalTableName(a, k)),
  )

/**
 * The filter every search carries. It is built only from values checked against narrow
 * patterns (tenant ids, ISO instants), so nothing a caller passes can change its meaning.
 */
export const searchFilter = (request: {
  readonly tenantId: string
  readonly freshAfter?: string
  readonly includeStale?: boolean
  readonly sourceBefore?: number
}): string => {
  const clauses = [`tenant_id = '${request.tenantId}'`]
  if (request.includeStale !== true) clauses.push("stale = false")
  if (request.freshAfter !== undefined) clauses.push(`updated_at >= '${toIsoInstant(request.freshAfter)}'`)
  if (request.sourceBefore !== undefined) clauses.push(`source_sequence < ${request.sourceBefore}`)
  return clauses.join(" AND ")
}

/** Instants stored and compared in one format (milliseconds, `Z`), so that string order is time order. */
const toIsoInstant = (instant: string): string => new Date(instant).toISOString()

const vectorDigest = (vector: ArrayLike<number>): string => {
  // Rounded to 1e-6 so that a rebuild compares equal even if an embedder's last bits wobble.
  const quantised = Int32Array.from({ length: vector.length }, (_, i) => Math.round((vector[i] ?? 0) * 1e6))
  return createHash("sha256").update(new Uint8Array(quantised.buffer)).digest("hex").slice(0, 32)
}

const toSnapshotRow = (row: StoredRow): MemorySnapshotRow => ({
  id: row.id,
  tenantId: row.tenant_id,
  kind: row.kind,
  text: row.text,
  source: { stream: row.source_stream, sequence: Number(row.source_sequence), eventId: row.source_event_id },
  updatedAt: row.updated_at,
  stale: row.stale,
  staleReason: row.stale_reason,
  metadata: row.metadata,
  vectorDigest: vectorDigest(row.vector ?? []),
})

/** The columns a vector search reads (its query adds `_distance`); not `kind`, which is the table's own. */
export const searchColumns: ReadonlyArray<string> = [
  "id",
  "tenant_id",
  "text",
  "source_stream",
  "source_sequence",
  "source_event_id",
  "updated_at",
  "stale",
  "stale_reason",
  "metadata",
]

/**
 * The hits of a search, read column by column from LanceDB's Arrow result. Arrow's row objects
 * resolve each field through its type visitor on every access: for ten hits that cost ~250 µs,
 * more than the rest of our search path together; reading each column once costs ~60 µs.
 */
const readHits = (
  result: ArrowTable,
  kind: MemoryKind,
  scoreAt: (row: number) => { readonly score: number; readonly similarity: number },
): Array<MemoryHit> => {
  const column = (name: string) => {
    const vector = result.getChild(name)
    return (row: number): unknown => vector?.get(row) ?? null
  }
  const id = column("id")
  const tenantId = column("tenant_id")
  const text = column("text")
  const stream = column("source_stream")
  const sequence = column("source_sequence")
  const eventId = column("source_event_id")
  const updatedAt = column("updated_at")
  const stale = column("stale")
  const staleReason = column("stale_reason")
  const metadata = column("metadata")
  return Array.from({ length: result.numRows }, (_, row) => ({
    id: id(row) as string,
    tenantId: tenantId(row) as string,
    kind,
    text: text(row) as string,
    ...scoreAt(row),
    metadata: JSON.parse(metadata(row) as string) as Record<string, unknown>,
    updatedAt: updatedAt(row) as string,
    stale: stale(row) as boolean,
    staleReason: staleReason(row) as string | null,
    source: {
      stream: stream(row) as string,
      sequence: Number(sequence(row)),
      eventId: eventId(row) as string,
    },
  }))
}

const quote = (ids: ReadonlyArray<string>): string => ids.map((id) => `'${id}'`).join(",")

const makeMemoryStore = (options: MemoryStoreOptions) =>
  Effect.gen(function* () {
    const dimensions = options.dimensions ?? 384
    const searchSettings = { ef: options.ef ?? 100, refineFactor: options.refineFactor ?? 2 }
    const indexMinRows = options.indexMinRows ?? 4096
    const qualityOptions = options.quality ?? defaultQualityOptions
    const schema = memoryArrowSchema(dimensions)

    const db = yield* Effect.acquireRelease(
      storage("connect", () =>
        lancedb.connect(
          options.namespace === undefined
            ? options.dir
            : join(options.dir, assertNamespace(options.namespace)),
        ),
      ),
      (connection) => Effect.sync(() => connection.close()),
    )
    const pointers = yield* storage("open pointers", () =>
      db.createEmptyTable(pointerTable, pointerSchema, { existOk: true }),
    )
    const reranker = yield* storage("create reranker", () => lancedb.rerankers.RRFReranker.create())
    // `width`: the vector dimensions the table was created with, which may not be the store's.
    const live = new Map<
      string,
      { readonly generation: number; readonly table: lancedb.Table; readonly width: number }
    >()
    const openLock = yield* Semaphore.make(1)
    const quality = yield* Ref.make(new Map<string, QualityState>())

    // Each table's name as the store opened it. LanceDB's own `table.name` is a look into the native
    // table, which it refuses while a call on that table is in flight ("the same native value cannot
    // be borrowed mutably while another borrow is active"): read for a message beside a count or a
    // search in flight, it failed the call that asked.
    const names = new WeakMap<lancedb.Table, string>()
    const named = (physical: string) => (table: lancedb.Table) => {
      names.set(table, physical)
      return table
    }
    const nameOf = (table: lancedb.Table): string => names.get(table) ?? "a memory table"

    const createGeneration = (physical: string) =>
      Effect.gen(function* () {
        // Overwrite: a rebuild that crashed may have left a half-filled table under this name.
        const table = yield* storage(`create ${physical}`, () =>
          db.createEmptyTable(physical, schema, { mode: "overwrite" }).then(named(physical)),
        )
        yield* storage(`fts index on ${physical}`, () =>
          table.createIndex("text", { config: lancedb.Index.fts() }),
        )
        return table
      })

    const currentGeneration = (logical: string) =>
      storage(`read pointer of ${logical}`, () =>
        pointers.query().where(`logical = '${logical}'`).toArray(),
      ).pipe(Effect.map((rows) => (rows[0] === undefined ? 0 : Number(rows[0].generation))))

    const pointAt = (logical: string, generation: number) =>
      storage(`point ${logical} at generation ${generation}`, () =>
        pointers
          .mergeInsert("logical")
          .whenMatchedUpdateAll()
          .whenNotMatchedInsertAll()
          .execute([{ logical, generation }]),
      )

    const liveTable = (logical: string) =>
      Effect.suspend(() => {
        const cached = live.get(logical)
        if (cached !== undefined) return Effect.succeed(cached.table)
        return openLock.withPermits(1)(
          Effect.gen(function* () {
            const again = live.get(logical)
            if (again !== undefined) return again.table
            let generation = yield* currentGeneration(logical)
            let table: lancedb.Table
            let width = dimensions
            if (generation === 0) {
              generation = 1
              table = yield* createGeneration(generationTableName(logical, generation))
              yield* pointAt(logical, generation)
            } else {
              const physical = generationTableName(logical, generation)
              table = yield* storage(`open ${physical}`, () => db.openTable(physical).then(named(physical)))
              width = yield* storage(`read schema of ${physical}`, () => table.schema()).pipe(
                Effect.map((schema) => vectorWidth(schema) ?? dimensions),
              )
            }
            live.set(logical, { generation, table, width })
            return table
          }),
        )
      })

    /**
     * The live table, refused when its vectors are not as wide as the store's: one written by
     * another embedder (the 384-d hashing one, before the 512-d sentence encoder) is rebuilt from
     * the log with `rebuild`, which alone may still open it.
     */
    const usableTable = (logical: string) =>
      Effect.flatMap(liveTable(logical), (table) => {
        const width = live.get(logical)?.width ?? dimensions
        return width === dimensions
          ? Effect.succeed(table)
          : Effect.fail(
              invalid(
                `${logical} holds ${width}-dimensional vectors but the store is set to ${dimensions}: the embedder changed, so rebuild it from the log`,
              ),
            )
      })

    const tableOf = (agent: string, kind: MemoryKind) =>
      Effect.flatMap(checkTableAddress(agent, kind), usableTable)

    const upsertInto = (table: lancedb.Table, kind: MemoryKind, records: ReadonlyArray<MemoryRecord>) =>
      Effect.gen(function* () {
        if (records.length === 0) return { inserted: 0, updated: 0 }
        // Later records win over earlier ones with the same id, as later events would.
        const byId = new Map<string, MemoryRecord>()
        for (const record of records) {
          yield* decode(MemoryRecordFields, record)
          if (record.vector.length !== dimensions) {
            return yield* invalid(
              `memory ${record.id} has ${record.vector.length} dimensions, not ${dimensions}`,
            )
          }
          byId.delete(record.id)
          byId.set(record.id, record)
        }
        const rows = Array.from(byId.values(), (record) => ({
          id: record.id,
          tenant_id: record.tenantId,
          kind,
          text: record.text,
          vector: normalise(record.vector),
          source_stream: record.source.stream,
          source_sequence: record.source.sequence,
          source_event_id: record.source.eventId,
          updated_at: toIsoInstant(record.updatedAt),
          stale: false,
          stale_reason: null,
          metadata: canonicalJson(record.metadata),
        }))
        const result = yield* storage(`upsert into ${nameOf(table)}`, () =>
          table.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows),
        )
        return { inserted: result.numInsertedRows, updated: result.numUpdatedRows }
      })

    const markStaleIn = (table: lancedb.Table, ids: ReadonlyArray<string>, reason: string) =>
      Effect.gen(function* () {
        for (const id of ids) yield* decode(MemoryId, id)
        let marked = 0
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500)
          const result = yield* storage(`mark stale in ${nameOf(table)}`, () =>
            table.update({ values: { stale: true, stale_reason: reason }, where: `id IN (${quote(chunk)})` }),
          )
          marked += result.rowsUpdated
        }
        return marked
      })

    const writerFor = (table: lancedb.Table, kind: MemoryKind): MemoryWriter => ({
      upsert: (records) => upsertInto(table, kind, records),
      markStale: (ids, reason) => markStaleIn(table, ids, reason),
    })

    const recordSearch = (logical: string, topSimilarity: number | undefined) =>
      Ref.update(quality, (all) => {
        const next = new Map(all)
        next.set(
          logical,
          recordTopScore(all.get(logical) ?? emptyQuality(qualityOptions), topSimilarity, qualityOptions),
        )
        return next
      })

    const hasVectorIndex = (table: lancedb.Table) =>
      storage(`list indices of ${nameOf(table)}`, () => table.listIndices()).pipe(
        Effect.map((indices) => ({
          vector: indices.some((index) => index.columns.includes("vector")),
          tenant: indices.some((index) => index.columns.includes("tenant_id")),
        })),
      )

    const indexTable = (table: lancedb.Table, index: VectorIndexOptions | undefined) =>
      Effect.gen(function* () {
        const rows = yield* storage(`count ${nameOf(table)}`, () => table.countRows())
        // Bitmaps: few distinct values each, and every search prefilters on both columns.
        for (const column of ["tenant_id", "stale"]) {
          yield* storage(`${column} index on ${nameOf(table)}`, () =>
            table.createIndex(column, { config: lancedb.Index.bitmap(), replace: true }),
          )
        }
        if (rows < indexMinRows) return { rows, vectorIndex: "too-small" } as const
        // One HNSW graph over 8-bit scalar-quantised vectors: at 100k memories it answered about
        // 1.5x faster than IVF_PQ at higher recall (see the README). More partitions only cap the
        // memory a graph takes to build, which agent memory tables do not need.
        const numPartitions = index?.numPartitions ?? 1
        const config = lancedb.Index.hnswSq({ distanceType: "l2", numPartitions })
        yield* storage(`vector index on ${nameOf(table)}`, () =>
          table.createIndex("vector", { config, replace: true }),
        )
        return { rows, vectorIndex: "built", numPartitions } as const
      })

    const upsert = Effect.fn("MemoryStore.upsert")(function* (
      agent: string,
      kind: MemoryKind,
      records: ReadonlyArray<MemoryRecord>,
    ) {
      return yield* upsertInto(yield* tableOf(agent, kind), kind, records)
    })

    const markStale = Effect.fn("MemoryStore.markStale")(function* (
      agent: string,
      kind: MemoryKind,
      ids: ReadonlyArray<string>,
      reason: string,
    ) {
      return yield* markStaleIn(yield* tableOf(agent, kind), ids, reason)
    })

    const search = Effect.fn("MemoryStore.search")(function* (request: MemorySearch) {
      const checked = yield* decode(MemorySearchFields, {
        agent: request.agent,
        kind: request.kind,
        tenantId: request.tenantId,
        ...(request.queryText === undefined ? {} : { queryText: request.queryText }),
        ...(request.limit === undefined ? {} : { limit: request.limit }),
        ...(request.freshAfter === undefined ? {} : { freshAfter: request.freshAfter }),
        ...(request.includeStale === undefined ? {} : { includeStale: request.includeStale }),
      })
      if (request.queryVector.length !== dimensions) {
        return yield* invalid(`query vector has ${request.queryVector.length} dimensions, not ${dimensions}`)
      }
      const logical = logicalTableName(checked.agent, checked.kind)
      const table = yield* usableTable(logical)
      const query = normalise(request.queryVector)
      const filter = searchFilter(checked)
      const limit = checked.limit ?? 10
      const text = checked.queryText?.trim() ?? ""
      const vectorQuery = table
        .vectorSearch(query)
        .where(filter)
        // The graph search must keep at least as many candidates as the refinement re-ranks.
        .ef(Math.max(searchSettings.ef, limit * searchSettings.refineFactor))
        .refineFactor(searchSettings.refineFactor)
        .limit(limit)
      let result: MemorySearchResult
      if (text === "") {
        const found = yield* storage(`search ${logical}`, () =>
          vectorQuery.select([...searchColumns, "_distance"]).toArrow(),
        )
        const distance = found.getChild("_distance")
        result = {
          mode: "vector",
          hits: readHits(found, checked.kind, (row) => {
            const similarity = similarityFromSquaredL2(distance?.get(row) ?? 2)
            return { score: similarity, similarity }
          }),
        }
      } else {
        // Hybrid: LanceDB runs the vector and the full-text search with the same prefilter
        // and fuses the two rankings by reciprocal rank.
        const found = yield* storage(`hybrid search ${logical}`, () =>
          vectorQuery
            .fullTextSearch(text)
            .select([...searchColumns, "vector"])
            .rerank(reranker)
            .toArrow(),
        )
        const relevance = found.getChild("_relevance_score")
        const vectors = found.getChild("vector")
        result = {
          mode: "hybrid",
          hits: readHits(found, checked.kind, (row) => ({
            score: relevance?.get(row) ?? 0,
            similarity: dot(query, vectors?.get(row)?.toArray() ?? []),
          })),
        }
      }
      // The prefilter already holds every row to the tenant; this makes a filter bug fail loudly.
      const foreign = result.hits.find((hit) => hit.tenantId !== checked.tenantId)
      if (foreign !== undefined) {
        return yield* new MemoryError({
          reason: "StorageFailure",
          message: `search of ${checked.tenantId} in ${logical} returned ${foreign.id} of another tenant`,
        })
      }
      const top = result.hits.reduce<number | undefined>(
        (best, hit) => (best === undefined || hit.similarity > best ? hit.similarity : best),
        undefined,
      )
      yield* recordSearch(logical, top)
      return result
    })

    const ensureIndex = Effect.fn("MemoryStore.ensureIndex")(function* (
      agent: string,
      kind: MemoryKind,
      index?: VectorIndexOptions,
    ) {
      return yield* indexTable(yield* tableOf(agent, kind), index)
    })

    const compact = Effect.fn("MemoryStore.compact")(function* (agent: string, kind: MemoryKind) {
      const table = yield* tableOf(agent, kind)
      yield* storage(`optimize ${nameOf(table)}`, () => table.optimize())
    })

    const count = Effect.fn("MemoryStore.count")(function* (
      agent: string,
      kind: MemoryKind,
      tenantId?: string,
      filter?: CountFilter,
    ) {
      const table = yield* tableOf(agent, kind)
      if (tenantId === undefined) return yield* storage(`count ${nameOf(table)}`, () => table.countRows())
      const tenant = yield* decode(MemorySearchFields.fields.tenantId, tenantId)
      if (filter === undefined)
        return yield* storage(`count ${nameOf(table)}`, () => table.countRows(`tenant_id = '${tenant}'`))
      const sourceBefore = filter.sourceBefore
      if (sourceBefore !== undefined && !Number.isSafeInteger(sourceBefore))
        return yield* invalid(`sourceBefore must be a whole log sequence, not ${sourceBefore}`)
      const where = searchFilter({
        tenantId: tenant,
        ...(filter.includeStale === undefined ? {} : { includeStale: filter.includeStale }),
        ...(sourceBefore === undefined ? {} : { sourceBefore }),
      })
      return yield* storage(`count ${nameOf(table)}`, () => table.countRows(where))
    })

    const snapshot = Effect.fn("MemoryStore.snapshot")(function* (agent: string, kind: MemoryKind) {
      const table = yield* tableOf(agent, kind)
      const rows = (yield* storage(`read ${nameOf(table)}`, () => table.query().toArray())) as StoredRow[]
      const sorted = rows.map(toSnapshotRow).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      return {
        rows: sorted,
        checksum: createHash("sha256").update(canonicalJson(sorted)).digest("hex"),
      }
    })

    const rebuild = <A, E, R>(
      agent: string,
      kind: MemoryKind,
      fill: (writer: MemoryWriter) => Effect.Effect<A, E, R>,
      index?: VectorIndexOptions,
    ): Effect.Effect<A, E | MemoryError, R> =>
      Effect.gen(function* () {
        const logical = yield* checkTableAddress(agent, kind)
        const current = yield* liveTable(logical)
        const currentIndexes = yield* hasVectorIndex(current)
        const generation = (live.get(logical)?.generation ?? 0) + 1
        const physical = generationTableName(logical, generation)
        const fresh = yield* createGeneration(physical)
        const filled = yield* fill(writerFor(fresh, kind)).pipe(
          Effect.onError(() => storage(`drop ${physical}`, () => db.dropTable(physical)).pipe(Effect.ignore)),
        )
        yield* storage(`optimize ${physical}`, () => fresh.optimize())
        if (currentIndexes.vector || currentIndexes.tenant) yield* indexTable(fresh, index)
        yield* openLock.withPermits(1)(
          Effect.gen(function* () {
            yield* pointAt(logical, generation)
            live.set(logical, { generation, table: fresh, width: dimensions })
          }),
        )
        // The previous generation stays one round for searches still running on it; older ones go.
        const names = yield* storage("list tables", () => db.tableNames())
        for (const name of names) {
          const match = name.startsWith(`${logical}__g`) ? Number(name.slice(logical.length + 3)) : Number.NaN
          if (Number.isInteger(match) && match < generation - 1) {
            yield* storage(`drop ${name}`, () => db.dropTable(name))
          }
        }
        return filled
      }).pipe(Effect.withSpan("MemoryStore.rebuild"))

    const retrievalQuality = () =>
      Ref.get(quality).pipe(
        Effect.map((all) =>
          Array.from(all.entries(), ([logical, state]) => {
            const [agent, kind] = logical.split("__") as [string, MemoryKind]
            return {
              agent,
              kind,
              distribution: scoreDistribution(state),
              drift: driftSignal(state, qualityOptions),
            }
          }),
        ),
      )

    const rawTable = (agent: string, kind: MemoryKind) => tableOf(agent, kind)

    return MemoryStore.of({
      upsert,
      markStale,
      search,
      ensureIndex,
      compact,
      count,
      snapshot,
      rebuild,
      retrievalQuality,
      rawTable,
      searchSettings,
    })
  })

const PositiveInt = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 10_000 })),
)

const Dimensions = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 4096 })),
)

/** The long-term memory store service. */
export class MemoryStore extends Context.Service<MemoryStore, MemoryStoreShape>()("MemoryStore") {
  /** A store over the LanceDB directory in `options.dir`; the connection closes with the layer. */
  static layer = (options: MemoryStoreOptions): Layer.Layer<MemoryStore, MemoryError> =>
    Layer.effect(MemoryStore, makeMemoryStore(options))

  /**
   * The store of the process's namespace in `MESH_MEMORY_DIR` (required: the LanceDB folder, on a
   * persistent volume in production), with `MESH_MEMORY_EF`, `MESH_MEMORY_REFINE_FACTOR` and
   * `MESH_MEMORY_DIMENSIONS`: by default those of the embedder the model layer picks from the same
   * environment, the offline one's 512 without `MESH_OLLAMA_HOST`, all-minilm's 384 with it.
   */
  static layerFromConfig: Layer.Layer<MemoryStore, MemoryError | Config.ConfigError, MeshNamespace> =
    Layer.effect(
      MemoryStore,
      Effect.gen(function* () {
        const namespace = (yield* MeshNamespace).name
        const dir = yield* Config.String("MESH_MEMORY_DIR")
        const ef = yield* Config.schema(PositiveInt, "MESH_MEMORY_EF").pipe(Config.withDefault(100))
        const refineFactor = yield* Config.schema(PositiveInt, "MESH_MEMORY_REFINE_FACTOR").pipe(
          Config.withDefault(2),
        )
        const ollamaHost = yield* Config.String("MESH_OLLAMA_HOST").pipe(Config.withDefault(""))
        const dimensions = yield* Config.schema(Dimensions, "MESH_MEMORY_DIMENSIONS").pipe(
          Config.withDefault(ollamaHost.trim() === "" ? OFFLINE_EMBED_DIMENSIONS : 384),
        )
        return yield* makeMemoryStore({ dir, namespace, ef, refineFactor, dimensions })
      }),
    )
}
