import { Instant, TenantId } from "@mesh/contracts"
import { Schema } from "effect"

/** The kinds of long-term memory; each agent has one table per kind. */
export const MemoryKind = Schema.Literals([
  "resolved_ticket",
  "kb_article",
  "product_fact",
  "supplier_history",
])
/** A kind of long-term memory. */
export type MemoryKind = typeof MemoryKind.Type

/** Every memory kind, in a stable order. */
export const memoryKinds: ReadonlyArray<MemoryKind> = MemoryKind.literals

/**
 * The agent owning a memory table. No underscores, so that `<agent>__<kind>` and the
 * store's own tables can never collide.
 */
export const AgentName = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9-]{0,62}$/, {
    message: "must be 1-63 characters of lowercase letters, digits or '-', starting with a letter",
  }),
)

/**
 * A memory id, deterministic from the event it was projected from (e.g. `T-42:resolved_ticket`).
 * Its alphabet keeps it safe to quote inside a LanceDB filter.
 */
export const MemoryId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_.:-]{1,256}$/, {
    message: "must be 1-256 characters of letters, digits, '_', '.', ':' or '-'",
  }),
)

/** Where a memory came from in the event log: the log is its source of truth. */
export const MemorySource = Schema.Struct({
  stream: Schema.String.check(Schema.isMinLength(1)),
  sequence: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  eventId: Schema.String.check(Schema.isMinLength(1)),
})
/** Where a memory came from in the event log. */
export type MemorySource = typeof MemorySource.Type

/** A memory to write: its text, its embedding and the event it was projected from. */
export interface MemoryRecord {
  readonly id: string
  readonly tenantId: string
  readonly text: string
  readonly vector: Float32Array
  readonly source: MemorySource
  /** When the fact behind the memory last changed: the event's time, never the clock. */
  readonly updatedAt: string
  readonly metadata: Readonly<Record<string, unknown>>
}

/** The scalar fields of a memory record, checked before anything is written. */
export const MemoryRecordFields = Schema.Struct({
  id: MemoryId,
  tenantId: TenantId,
  text: Schema.String,
  source: MemorySource,
  updatedAt: Instant,
})

/** A search over one agent's memory of one kind. The tenant is required: every search is filtered by it. */
export interface MemorySearch {
  readonly agent: string
  readonly kind: MemoryKind
  readonly tenantId: string
  readonly queryVector: Float32Array | ReadonlyArray<number>
  /** When given, the search is hybrid: vector and full-text results fused by reciprocal rank. */
  readonly queryText?: string
  /** How many hits to return (default 10, at most 1000). */
  readonly limit?: number
  /** Only memories whose facts changed at or after this instant. */
  readonly freshAfter?: string
  /** Stale memories are left out unless asked for. */
  readonly includeStale?: boolean
}

/** The checked scalar fields of a search. */
export const MemorySearchFields = Schema.Struct({
  agent: AgentName,
  kind: MemoryKind,
  tenantId: TenantId,
  queryText: Schema.optionalKey(Schema.String),
  limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 }))),
  freshAfter: Schema.optionalKey(Instant),
  includeStale: Schema.optionalKey(Schema.Boolean),
})

/** One memory found by a search. */
export interface MemoryHit {
  readonly id: string
  readonly tenantId: string
  readonly kind: MemoryKind
  readonly text: string
  /** The rank score: cosine similarity for vector search, the fused relevance for hybrid search. */
  readonly score: number
  /** Cosine similarity between the query and the memory, comparable across search modes. */
  readonly similarity: number
  readonly metadata: Readonly<Record<string, unknown>>
  readonly updatedAt: string
  readonly stale: boolean
  readonly staleReason: string | null
  readonly source: MemorySource
}

/** The result of a search. */
export interface MemorySearchResult {
  readonly mode: "vector" | "hybrid"
  readonly hits: ReadonlyArray<MemoryHit>
}

/** A memory as `snapshot` returns it: every column, the vector reduced to a rounding-tolerant digest. */
export interface MemorySnapshotRow {
  readonly id: string
  readonly tenantId: string
  readonly kind: MemoryKind
  readonly text: string
  readonly source: MemorySource
  readonly updatedAt: string
  readonly stale: boolean
  readonly staleReason: string | null
  readonly metadata: string
  readonly vectorDigest: string
}

/** All memories of a table sorted by id, with a checksum over them, for equality checks. */
export interface MemorySnapshot {
  readonly rows: ReadonlyArray<MemorySnapshotRow>
  readonly checksum: string
}

/** The logical table name of an agent's memory of one kind. */
export const logicalTableName = (agent: string, kind: MemoryKind): string => `${agent}__${kind}`

/** The physical table holding one generation of a logical table (rebuilds write a new generation). */
export const generationTableName = (logical: string, generation: number): string =>
  `${logical}__g${generation}`

/** JSON with object keys sorted, so that equal metadata always serialises to the same string. */
export const canonicalJson = (value: unknown): string => JSON.stringify(sortKeys(value))

const sortKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    )
  }
  return value
}

/** The vector scaled to unit length (a zero vector stays zero), so that L2 distance ranks like cosine. */
export const normalise = (vector: Float32Array | ReadonlyArray<number>): Float32Array => {
  // Indexed loops: iterating a typed array with for-of costs several times more on every search.
  const out = new Float32Array(vector)
  let norm = 0
  for (let i = 0; i < out.length; i++) norm += out[i]! * out[i]!
  if (norm === 0) return out
  const scale = 1 / Math.sqrt(norm)
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * scale
  return out
}

/** Cosine similarity of two unit vectors given their squared L2 distance, as LanceDB reports it. */
export const similarityFromSquaredL2 = (distance: number): number => 1 - distance / 2

/** Dot product of two vectors of the same length (cosine similarity when both are unit vectors). */
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += a[i]! * (b[i] ?? 0)
  return sum
}
