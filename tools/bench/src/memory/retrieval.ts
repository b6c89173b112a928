import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { type Embedder, type MemoryRecord, MemoryStore, searchColumns, searchFilter } from "@mesh/memory"
import {
  HASH_EMBED_DIMENSIONS,
  HASH_EMBED_MODEL,
  hashEmbed,
  makeOfflineProvider,
  OFFLINE_EMBED_DIMENSIONS,
  OFFLINE_EMBED_MODEL,
} from "@mesh/models"
import { Effect, ManagedRuntime } from "effect"
import { type BenchResult, now, percentile, printResult, writeResult } from "../harness.ts"

/** Sizes and settings of the retrieval benchmark; the defaults are the issue's. */
export interface RetrievalBenchOptions {
  readonly rows?: number
  /** 384 by default: all-minilm's, the default MESH_EMBED_MODEL (the offline embedder's are 512). */
  readonly dimensions?: number
  /** Centroids the vectors cluster around, as real embeddings cluster by topic. */
  readonly clusters?: number
  /** Spread of a vector around its centroid (0.8 puts it at cosine ≈ 0.78 from it). */
  readonly noise?: number
  readonly queries?: number
  /** Flat (unindexed) searches take ~300 ms each, so fewer of them. */
  readonly flatQueries?: number
  /** Passes over the queries with the index, so that p99 rests on more than a couple of samples. */
  readonly rounds?: number
  readonly writeBatch?: number
  readonly ef?: number
  readonly refineFactor?: number
  readonly numPartitions?: number
  /** The embedder whose throughput is measured; by default the offline one from @mesh/models. */
  readonly embed?: Embedder
  readonly embedderName?: string
  /** Texts that embedder embeds (about 80 a second offline); the hashing embedder beside it gets 5,000. */
  readonly embedTexts?: number
  readonly seed?: number
}

const agent = "bench"
const kind = "kb_article" as const
const tenantId = "shop-1"

/** mulberry32: a seeded PRNG, so that every run measures the same data. */
const seededRandom = (seed: number): (() => number) => {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const gaussian = (random: () => number) => () =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())

const normaliseInPlace = (v: Float32Array): Float32Array => {
  let norm = 0
  for (const x of v) norm += x * x
  const scale = 1 / Math.sqrt(norm)
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * scale
  return v
}

/** Unit vectors scattered around `clusters` random unit centroids, in one contiguous buffer. */
const clusteredVectors = (
  count: number,
  dimensions: number,
  centroids: Float32Array[],
  noise: number,
  seed: number,
) => {
  const random = seededRandom(seed)
  const normal = gaussian(random)
  const spread = noise / Math.sqrt(dimensions)
  const data = new Float32Array(count * dimensions)
  for (let i = 0; i < count; i++) {
    const centroid = centroids[Math.floor(random() * centroids.length)]!
    const v = data.subarray(i * dimensions, (i + 1) * dimensions)
    for (let d = 0; d < dimensions; d++) v[d] = centroid[d]! + spread * normal()
    normaliseInPlace(v)
  }
  return data
}

/** Exact top-k by brute force in plain JS: the ground truth recall is measured against. */
const exactTopK = (data: Float32Array, dimensions: number, query: Float32Array, k: number): string[] => {
  const rows = data.length / dimensions
  const best: Array<{ row: number; score: number }> = []
  for (let r = 0; r < rows; r++) {
    let score = 0
    const offset = r * dimensions
    for (let d = 0; d < dimensions; d++) score += data[offset + d]! * query[d]!
    if (best.length < k || score > best[best.length - 1]!.score) {
      best.push({ row: r, score })
      best.sort((a, b) => b.score - a.score)
      if (best.length > k) best.pop()
    }
  }
  return best.map((b) => memoryId(b.row))
}

const memoryId = (row: number) => `M-${row}:${kind}`

const recallAt = (found: ReadonlyArray<string>, truth: ReadonlyArray<string>): number => {
  const expected = new Set(truth)
  return found.filter((id) => expected.has(id)).length / truth.length
}

const topics = [
  "refund",
  "delivery",
  "sizing",
  "warranty",
  "invoice",
  "returns",
  "voucher",
  "stock",
  "colour",
  "care",
]

const offlineProvider = makeOfflineProvider()

/** The offline embedder of @mesh/models (the bundled sentence encoder), batched as a projection would call it. */
const offlineEmbedder: Embedder = (texts) =>
  Effect.runPromise(offlineProvider.embed({ model: offlineProvider.embedModel, input: texts })).then(
    (result) => result.embeddings.map((vector) => Float32Array.from(vector)),
  )

/** The hashing embedder the offline one replaced: its speed is the yardstick the offline one is read against. */
const hashingEmbedder: Embedder = async (texts) => texts.map((text) => Float32Array.from(hashEmbed(text)))

const EMBED_BATCH = 64

/** Texts a second of an embedder over `count` support-message texts in batches, after one warm-up call. */
const embedThroughput = async (embed: Embedder, count: number) => {
  const texts = Array.from(
    { length: count },
    (_, i) =>
      `Customer asks about ${topics[i % topics.length]} for order ${i}: the parcel arrived late and the ${topics[(i * 7) % topics.length]} policy was unclear.`,
  )
  await embed(["warm up"])
  const started = now()
  for (let i = 0; i < texts.length; i += EMBED_BATCH) await embed(texts.slice(i, i + EMBED_BATCH))
  return { texts_per_s: texts.length / ((now() - started) / 1000), batch: EMBED_BATCH, texts: texts.length }
}

/** Figures of one measured path. */
const figures = (latencies: ReadonlyArray<number>, recalls: ReadonlyArray<number>) => ({
  p50_ms: percentile(latencies, 50),
  p90_ms: percentile(latencies, 90),
  p99_ms: percentile(latencies, 99),
  mean_ms: latencies.reduce((a, b) => a + b, 0) / latencies.length,
  recall_at_10: recalls.reduce((a, b) => a + b, 0) / recalls.length,
  queries: latencies.length,
})

/**
 * Top-10 retrieval over 100,000 clustered 384-d memories: our `MemoryStore.search` (checks, tenant
 * and staleness prefilter, decoding into hits, score recording) beside the same query run on
 * LanceDB directly (same table, prefilter, columns, ef and refine factor), without and then
 * with the HNSW index, recall@10 against exact search; then the offline embedder's throughput
 * beside the hashing embedder's.
 */
export async function runRetrievalBench(opts: RetrievalBenchOptions = {}): Promise<BenchResult> {
  const rows = opts.rows ?? 100_000
  const dimensions = opts.dimensions ?? 384
  const clusters = opts.clusters ?? 200
  const noise = opts.noise ?? 0.8
  const queryCount = opts.queries ?? 200
  const flatQueryCount = opts.flatQueries ?? 30
  const indexedRounds = opts.rounds ?? 5
  const writeBatch = opts.writeBatch ?? 10_000
  const seed = opts.seed ?? 20261125
  const index = {
    ...(opts.numPartitions === undefined ? {} : { numPartitions: opts.numPartitions }),
  }

  const random = seededRandom(seed)
  const normal = gaussian(random)
  const centroids = Array.from({ length: clusters }, () =>
    normaliseInPlace(Float32Array.from({ length: dimensions }, normal)),
  )
  const data = clusteredVectors(rows, dimensions, centroids, noise, seed + 1)
  const queryData = clusteredVectors(queryCount, dimensions, centroids, noise, seed + 2)
  const queries = Array.from({ length: queryCount }, (_, i) =>
    queryData.subarray(i * dimensions, (i + 1) * dimensions),
  )
  const truth = queries.map((q) => exactTopK(data, dimensions, q, 10))

  const dir = mkdtempSync(join(tmpdir(), "mesh-bench-memory-"))
  const runtime = ManagedRuntime.make(
    MemoryStore.layer({
      dir,
      dimensions,
      ...(opts.ef === undefined ? {} : { ef: opts.ef }),
      ...(opts.refineFactor === undefined ? {} : { refineFactor: opts.refineFactor }),
    }),
  )
  const run = <A, E>(effect: Effect.Effect<A, E, MemoryStore>) => runtime.runPromise(effect)
  try {
    // Other work on the machine moves the tail more than anything measured here: record how busy it was.
    const loadBefore = loadavg()
    const writeStarted = now()
    for (let start = 0; start < rows; start += writeBatch) {
      const records: MemoryRecord[] = []
      for (let r = start; r < Math.min(rows, start + writeBatch); r++) {
        records.push({
          id: memoryId(r),
          tenantId,
          text: `How we handle ${topics[r % topics.length]} question ${r}`,
          vector: data.subarray(r * dimensions, (r + 1) * dimensions),
          source: { stream: "BENCH_MEMORY", sequence: r + 1, eventId: `event-${r + 1}` },
          updatedAt: "2026-11-25T10:00:00.000Z",
          metadata: { row: r },
        })
      }
      await run(MemoryStore.use((store) => store.upsert(agent, kind, records)))
    }
    await run(MemoryStore.use((store) => store.compact(agent, kind)))
    const writeSeconds = (now() - writeStarted) / 1000
    const table = await run(MemoryStore.use((store) => store.rawTable(agent, kind)))
    // The raw query runs with the settings our search uses, so that the two do the same work.
    const { ef, refineFactor } = await run(MemoryStore.use((store) => Effect.succeed(store.searchSettings)))

    const ours = (q: Float32Array) =>
      run(
        MemoryStore.use((store) => store.search({ agent, kind, tenantId, queryVector: q, limit: 10 })),
      ).then((result) => result.hits.map((hit) => hit.id))
    // The same question asked of LanceDB directly: the tenant and staleness prefilter every search
    // of ours carries, the same columns, ef, refine factor and limit; no checks, no decoding.
    const raw = (q: Float32Array) =>
      table
        .vectorSearch(q)
        .where(searchFilter({ tenantId }))
        .select([...searchColumns, "_distance"])
        .ef(ef)
        .refineFactor(refineFactor)
        .limit(10)
        .toArray()
        .then((hits) => hits.map((hit: { id: string }) => hit.id))
    // For reference only, not a fair peer: no prefilter and every column (the vector too).
    const rawUnfiltered = (q: Float32Array) =>
      table
        .vectorSearch(q)
        .ef(ef)
        .refineFactor(refineFactor)
        .limit(10)
        .toArray()
        .then((hits) => hits.map((hit: { id: string }) => hit.id))
    const paths = { ours, raw, raw_unfiltered: rawUnfiltered }
    type Path = keyof typeof paths

    /**
     * Every path on the same queries, `rounds` times over, rotating which goes first so that none
     * gets a warmer cache; also counts the queries where ours and raw found different hits.
     */
    const measure = async (count: number, rounds = 1) => {
      const names = Object.keys(paths) as Path[]
      const samples = Object.fromEntries(
        names.map((n) => [n, { latencies: [] as number[], recalls: [] as number[] }]),
      )
      let differing = 0
      for (let i = 0; i < count * rounds; i++) {
        const q = i % count
        const found: Partial<Record<Path, string[]>> = {}
        for (let j = 0; j < names.length; j++) {
          const name = names[(i + j) % names.length]!
          const started = now()
          const ids = await paths[name](queries[q]!)
          samples[name]!.latencies.push(now() - started)
          samples[name]!.recalls.push(recallAt(ids, truth[q]!))
          found[name] = ids
        }
        if (found.ours?.join() !== found.raw?.join()) differing++
      }
      return {
        ...(Object.fromEntries(
          names.map((n) => [n, figures(samples[n]!.latencies, samples[n]!.recalls)]),
        ) as Record<Path, ReturnType<typeof figures>>),
        sameHits: 1 - differing / (count * rounds),
      }
    }

    const flat = await measure(Math.min(flatQueryCount, queryCount))

    const indexStarted = now()
    const outcome = await run(MemoryStore.use((store) => store.ensureIndex(agent, kind, index)))
    const indexBuildSeconds = (now() - indexStarted) / 1000
    if (outcome.vectorIndex !== "built")
      throw new Error(`the vector index was not built: ${JSON.stringify(outcome)}`)
    const { numPartitions } = outcome
    await measure(10) // warm the index caches of every path
    const indexed = await measure(queryCount, indexedRounds)
    const loadAfterIndexed = loadavg()

    const embedderName = opts.embedderName ?? `@mesh/models offline embedder (${OFFLINE_EMBED_MODEL})`
    const embedder = {
      ...(await embedThroughput(opts.embed ?? offlineEmbedder, opts.embedTexts ?? 500)),
      ...(opts.embed === undefined ? { dimensions: OFFLINE_EMBED_DIMENSIONS } : {}),
    }
    const hashing = { ...(await embedThroughput(hashingEmbedder, 5000)), dimensions: HASH_EMBED_DIMENSIONS }

    const quality = await run(MemoryStore.use((store) => store.retrievalQuality()))
    const oursOverRawP99 = indexed.ours.p99_ms / indexed.raw.p99_ms
    const goalMet = indexed.ours.p99_ms < 20 && indexed.ours.recall_at_10 >= 0.95 && oursOverRawP99 <= 1.2
    return {
      benchmark: "memory-retrieval",
      description: `top-10 of ${rows} clustered ${dimensions}-d memories (${clusters} clusters), ours beside raw LanceDB, flat and with the HNSW index`,
      paths: {
        ours_indexed: indexed.ours,
        raw_indexed: indexed.raw,
        ours_flat: flat.ours,
        raw_flat: flat.raw,
        raw_indexed_unfiltered: indexed.raw_unfiltered,
        raw_flat_unfiltered: flat.raw_unfiltered,
        embedder,
        embedder_hashing: hashing,
      },
      ratio: indexed.raw.p99_ms / indexed.ours.p99_ms,
      goal: "indexed: ours p99 < 20 ms at recall@10 >= 0.95, and ours p99 within 1.2x of raw",
      goalMet,
      extra: {
        ours_over_raw_p99: oursOverRawP99,
        ours_over_raw_p50: indexed.ours.p50_ms / indexed.raw.p50_ms,
        ours_same_hits_as_raw: { indexed: indexed.sameHits, flat: flat.sameHits },
        index_build_s: indexBuildSeconds,
        load_average_1m: { before: loadBefore[0], after_indexed: loadAfterIndexed[0] },
        write_s: writeSeconds,
        write_rows_per_s: rows / writeSeconds,
        settings: {
          ef,
          refineFactor,
          numPartitions,
          writeBatch,
          noise,
          seed,
          rounds: indexedRounds,
        },
        embedder: embedderName,
        embedder_hashing: `@mesh/models hashing embedder (${HASH_EMBED_MODEL})`,
        embedder_over_hashing_texts_per_s: embedder.texts_per_s / hashing.texts_per_s,
        score_distribution: quality[0]?.distribution,
      },
    }
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const result = await runRetrievalBench()
  printResult(result)
  console.log(`  -> ${writeResult(result)}`)
}
