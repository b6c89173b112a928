import { Effect, ManagedRuntime } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { MemoryRecord } from "./memoryRecord.ts"
import { MemoryStore } from "./memoryStore.ts"
import { seededRandom, tempMemoryDir } from "./testing/memoryTestKit.ts"
import { tokenHashEmbedder } from "./testing/tokenHashEmbedder.ts"

const agent = "customer-ops"
const kind = "resolved_ticket" as const
const tenants = Array.from({ length: 15 }, (_, i) => `shop-${i}`)
const vocabulary = [
  ...["refund", "late", "parcel", "broken", "lid", "size", "exchange", "invoice", "colour", "scratch"],
  ...[
    "voucher",
    "courier",
    "missing",
    "damaged",
    "wrong",
    "address",
    "return",
    "label",
    "warranty",
    "charger",
  ],
  ...["battery", "strap", "zip", "stain", "tracking", "customs", "delay", "coupon", "gift", "wrap"],
]
const embed = tokenHashEmbedder()

/**
 * Every tenant's memories are written from the same small vocabulary, so that for any query
 * the nearest memories overall belong to other tenants: only the filter keeps them out.
 */
const memories = async (count: number): Promise<MemoryRecord[]> => {
  const random = seededRandom(7)
  const texts = Array.from({ length: count }, () =>
    Array.from({ length: 6 }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(" "),
  )
  const vectors = await embed(texts)
  return texts.map((text, i) => ({
    id: `T-${i}:resolved_ticket`,
    tenantId: tenants[i % tenants.length]!,
    text,
    vector: vectors[i]!,
    source: { stream: "MESH_CUSTOMER", sequence: i + 1, eventId: `event-${i + 1}` },
    updatedAt: new Date(Date.UTC(2026, 9, 1) + i * 3_600_000).toISOString(),
    metadata: { n: i },
  }))
}

const query = fc.record({
  tenantId: fc.constantFrom(...tenants, "shop-without-memories"),
  words: fc.array(fc.constantFrom(...vocabulary), { minLength: 1, maxLength: 5 }),
  hybrid: fc.boolean(),
  limit: fc.integer({ min: 1, max: 60 }),
  includeStale: fc.boolean(),
  freshAfter: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
})

describe("tenant isolation", () => {
  const tmp = tempMemoryDir()
  const runtime = ManagedRuntime.make(MemoryStore.layer({ dir: tmp.dir, indexMinRows: 1000 }))
  const run = <A, E>(effect: Effect.Effect<A, E, MemoryStore>) => runtime.runPromise(effect)

  beforeAll(async () => {
    const records = await memories(3000)
    await run(
      Effect.gen(function* () {
        const store = yield* MemoryStore
        for (let i = 0; i < records.length; i += 1000)
          yield* store.upsert(agent, kind, records.slice(i, i + 1000))
        yield* store.markStale(
          agent,
          kind,
          records.filter((_, i) => i % 9 === 0).map((r) => r.id),
          "ticket reopened",
        )
      }),
    )
  })
  afterAll(async () => {
    await runtime.dispose()
    tmp[Symbol.dispose]()
  })

  const everyHitIsTheTenants = () =>
    fc.assert(
      fc.asyncProperty(query, async (q) => {
        const [vector] = await embed([q.words.join(" ")])
        const result = await run(
          MemoryStore.use((store) =>
            store.search({
              agent,
              kind,
              tenantId: q.tenantId,
              queryVector: vector!,
              limit: q.limit,
              includeStale: q.includeStale,
              ...(q.hybrid ? { queryText: q.words.join(" ") } : {}),
              ...(q.freshAfter === undefined
                ? {}
                : { freshAfter: new Date(Date.UTC(2026, 9, 1) + q.freshAfter * 3_600_000).toISOString() }),
            }),
          ),
        )
        expect(result.mode).toBe(q.hybrid ? "hybrid" : "vector")
        expect(result.hits.length).toBeLessThanOrEqual(q.limit)
        for (const hit of result.hits) {
          expect(hit.tenantId).toBe(q.tenantId)
          if (!q.includeStale) expect(hit.stale).toBe(false)
        }
        if (q.tenantId === "shop-without-memories") expect(result.hits).toEqual([])
        else if (q.freshAfter === undefined) expect(result.hits.length).toBeGreaterThan(0)
      }),
      { numRuns: 60, seed: 20261125 },
    )

  it("never returns another tenant's memory from an unindexed table", everyHitIsTheTenants)

  it("never returns another tenant's memory once the vector and tenant indexes are built", async () => {
    const outcome = await run(
      MemoryStore.use((store) => store.ensureIndex(agent, kind, { numPartitions: 8 })),
    )
    expect(outcome).toEqual({ rows: 3000, vectorIndex: "built", numPartitions: 8 })
    const indices = await run(
      MemoryStore.use((store) => store.rawTable(agent, kind)).pipe(
        Effect.flatMap((t) => Effect.promise(() => t.listIndices())),
      ),
    )
    expect(indices.map((i) => i.columns[0]).sort()).toEqual(["stale", "tenant_id", "text", "vector"])
    await everyHitIsTheTenants()
  })

  it("never returns another tenant's memory after more writes land beside the index and are compacted", async () => {
    const extra = (await memories(3300)).slice(3000)
    await run(MemoryStore.use((store) => store.upsert(agent, kind, extra)))
    await everyHitIsTheTenants()
    await run(MemoryStore.use((store) => store.compact(agent, kind)))
    await everyHitIsTheTenants()
  })
})
