import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { MemoryStore } from "./memoryStore.ts"
import { recordsFor, runWithStore, tempMemoryDir, vectorOf } from "./testing/memoryTestKit.ts"

const agent = "customer-ops"
const kind = "kb_article" as const

const articles = () =>
  recordsFor([
    {
      id: "kb-1:kb_article",
      tenantId: "shop-a",
      text: "How to return a damaged parcel for a refund",
      sequence: 1,
    },
    {
      id: "kb-2:kb_article",
      tenantId: "shop-a",
      text: "Printer paper jam troubleshooting guide",
      sequence: 2,
    },
    {
      id: "kb-3:kb_article",
      tenantId: "shop-a",
      text: "Shipping times for international orders",
      sequence: 3,
      updatedAt: "2026-11-20T08:00:00.000Z",
      metadata: { lang: "en", tags: ["shipping"] },
    },
    {
      id: "kb-4:kb_article",
      tenantId: "shop-b",
      text: "How to return a damaged parcel for a refund",
      sequence: 4,
    },
  ])

describe("MemoryStore on LanceDB", () => {
  it("upserts idempotently: writing the same memories twice leaves the same table", async () => {
    using tmp = tempMemoryDir()
    const records = await articles()
    const [first, second, count, before, after] = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        const first = yield* store.upsert(agent, kind, records)
        const before = yield* store.snapshot(agent, kind)
        const second = yield* store.upsert(agent, kind, records)
        const after = yield* store.snapshot(agent, kind)
        return [first, second, yield* store.count(agent, kind), before, after] as const
      }),
    )
    expect(first).toEqual({ inserted: 4, updated: 0 })
    expect(second).toEqual({ inserted: 0, updated: 4 })
    expect(count).toBe(4)
    expect(after).toEqual(before)
    expect(before.rows.map((r) => r.id)).toEqual([
      "kb-1:kb_article",
      "kb-2:kb_article",
      "kb-3:kb_article",
      "kb-4:kb_article",
    ])
    expect(before.rows[2]).toMatchObject({
      metadata: '{"lang":"en","tags":["shipping"]}',
      stale: false,
      staleReason: null,
    })
  })

  it("finds the nearest memories of the tenant asked for, and only fresh ones unless told otherwise", async () => {
    using tmp = tempMemoryDir()
    const records = await articles()
    const query = await vectorOf("return damaged parcel refund")
    const result = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        yield* store.upsert(agent, kind, records)
        const plain = yield* store.search({ agent, kind, tenantId: "shop-a", queryVector: query, limit: 10 })
        const marked = yield* store.markStale(
          agent,
          kind,
          ["kb-1:kb_article", "kb-missing:kb_article"],
          "policy changed",
        )
        const withoutStale = yield* store.search({ agent, kind, tenantId: "shop-a", queryVector: query })
        const withStale = yield* store.search({
          agent,
          kind,
          tenantId: "shop-a",
          queryVector: query,
          includeStale: true,
        })
        const fresh = yield* store.search({
          agent,
          kind,
          tenantId: "shop-a",
          queryVector: query,
          includeStale: true,
          freshAfter: "2026-11-21T00:00:00Z",
        })
        return { plain, marked, withoutStale, withStale, fresh }
      }),
    )
    expect(result.plain.mode).toBe("vector")
    expect(result.plain.hits[0]).toMatchObject({ id: "kb-1:kb_article", tenantId: "shop-a", stale: false })
    expect(result.plain.hits.find((h) => h.id === "kb-3:kb_article")).toEqual({
      id: "kb-3:kb_article",
      tenantId: "shop-a",
      kind,
      text: "Shipping times for international orders",
      score: expect.any(Number),
      similarity: expect.any(Number),
      metadata: { lang: "en", tags: ["shipping"] },
      updatedAt: "2026-11-20T08:00:00.000Z",
      stale: false,
      staleReason: null,
      source: { stream: "MESH_TEST", sequence: 3, eventId: "event-3" },
    })
    // Four of the query's words are in the article: cosine about 4 / sqrt(4 * 8) with hashing noise.
    expect(result.plain.hits[0]!.similarity).toBeGreaterThan(0.5)
    expect(result.plain.hits[0]!.similarity).toBeGreaterThan(result.plain.hits[1]!.similarity)
    expect(result.plain.hits.every((h) => h.tenantId === "shop-a")).toBe(true)
    expect(result.plain.hits).toHaveLength(3)
    expect(result.marked).toBe(1)
    expect(result.withoutStale.hits.map((h) => h.id)).not.toContain("kb-1:kb_article")
    expect(result.withStale.hits[0]).toMatchObject({
      id: "kb-1:kb_article",
      stale: true,
      staleReason: "policy changed",
    })
    expect(result.fresh.hits.map((h) => h.id).sort()).toEqual(["kb-1:kb_article", "kb-2:kb_article"])
  })

  it("searches hybrid when a query text is given: keyword matches rank with vector matches", async () => {
    using tmp = tempMemoryDir()
    const records = await articles()
    const result = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        yield* store.upsert(agent, kind, records)
        // A vector about refunds, a keyword only the printer article contains.
        const queryVector = yield* Effect.promise(() => vectorOf("refund parcel"))
        const hybrid = yield* store.search({
          agent,
          kind,
          tenantId: "shop-a",
          queryVector,
          queryText: "printer",
        })
        const vector = yield* store.search({ agent, kind, tenantId: "shop-a", queryVector })
        return { ...hybrid, vector }
      }),
    )
    expect(result.mode).toBe("hybrid")
    // Similarity is the same cosine in both modes, so that recall quality compares across them.
    for (const hit of result.hits) {
      const same = result.vector.hits.find((h) => h.id === hit.id)
      expect(hit.similarity).toBeCloseTo(same!.similarity, 5)
    }
    const ids = result.hits.map((h) => h.id)
    expect(ids).toContain("kb-2:kb_article")
    expect(ids).toContain("kb-1:kb_article")
    expect(result.hits.every((h) => h.tenantId === "shop-a")).toBe(true)
    expect(result.hits[0]!.score).toBeGreaterThan(0)
  })

  it("counts, searches and writes one table side by side, as an agent's reactions and projection do", async () => {
    // LanceDB's table refuses a look at its name while a call on it is in flight ("the same native
    // value cannot be borrowed mutably"): a store that read it for its messages failed the
    // reactions that came at once (on the shop's day, messages dead-lettered after five tries).
    using tmp = tempMemoryDir()
    const records = await articles()
    const texts = ["printer", "refund", "shipping", "parcel", "paper", "orders", "damaged", "jam"]
    const results = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        yield* store.upsert(agent, kind, records)
        const queryVector = yield* Effect.promise(() => vectorOf("refund parcel"))
        // What each call came back with: a count, a search's hits, or a write done.
        const counted = (n: number) => ({ call: "count" as const, n })
        const found = (result: { readonly hits: ReadonlyArray<unknown> }) => ({
          call: "search" as const,
          n: result.hits.length,
        })
        return yield* Effect.all(
          texts.flatMap((queryText, i) => [
            Effect.map(store.count(agent, kind, "shop-a", { sourceBefore: 10 }), counted),
            Effect.map(store.count(agent, kind, "shop-a"), counted),
            Effect.map(store.search({ agent, kind, tenantId: "shop-a", queryVector, queryText }), found),
            Effect.map(store.search({ agent, kind, tenantId: "shop-a", queryVector }), found),
            Effect.as(
              store.upsert(agent, kind, [{ ...records[i % records.length]!, text: `${queryText} again` }]),
              { call: "write" as const, n: 1 },
            ),
          ]),
          { concurrency: "unbounded" },
        )
      }),
    )
    expect(results).toHaveLength(40)
    // The tenant's three articles counted every time (the writes replace rows, never add), and
    // every search finds some.
    for (const result of results) {
      if (result.call === "count") expect(result.n).toBe(3)
      else expect(result.n).toBeGreaterThan(0)
    }
  })

  it("counts a tenant's rows as a search would see them: live ones, and those projected before a log position", async () => {
    using tmp = tempMemoryDir()
    const records = await articles()
    const counts = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        const count = (tenantId: string, filter?: Parameters<typeof store.count>[3]) =>
          store.count(agent, kind, tenantId, filter)
        const emptyTable = yield* count("shop-a", {})
        yield* store.upsert(agent, kind, records)
        yield* store.markStale(agent, kind, ["kb-1:kb_article"], "policy changed")
        return {
          emptyTable,
          allOfTenant: yield* count("shop-a"),
          live: yield* count("shop-a", {}),
          withStale: yield* count("shop-a", { includeStale: true }),
          liveBefore3: yield* count("shop-a", { sourceBefore: 3 }),
          liveBefore2: yield* count("shop-a", { sourceBefore: 2 }),
          otherTenantBefore4: yield* count("shop-b", { sourceBefore: 4 }),
          unknownTenant: yield* count("shop-c", {}),
          fractional: yield* Effect.flip(count("shop-a", { sourceBefore: 2.5 })),
          badTenant: yield* Effect.flip(count("shop-a' OR '1'='1", {})),
        }
      }),
    )
    expect(counts).toMatchObject({
      emptyTable: 0,
      // Without a filter, as before: every row of the tenant, stale or not.
      allOfTenant: 3,
      live: 2,
      withStale: 3,
      // kb-1 (#1) is stale; kb-2 (#2) counts, kb-3 (#3) is not before #3.
      liveBefore3: 1,
      liveBefore2: 0,
      otherTenantBefore4: 0,
      unknownTenant: 0,
      fractional: { _tag: "MemoryError", reason: "InvalidRequest" },
      badTenant: { _tag: "MemoryError", reason: "InvalidRequest" },
    })
    expect(counts.fractional.message).toContain("sourceBefore must be a whole log sequence, not 2.5")
  })

  it("refuses a search without a valid tenant, at compile time and at run time", async () => {
    using tmp = tempMemoryDir()
    const queryVector = await vectorOf("refund")
    const outcomes = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        const attempts = [
          // @ts-expect-error a search must name its tenant
          store.search({ agent, kind, queryVector }),
          store.search({ agent, kind, tenantId: "shop-a' OR '1'='1", queryVector }),
          store.search({ agent, kind, tenantId: "", queryVector }),
          store.search({ agent: "Bad_Agent", kind, tenantId: "shop-a", queryVector }),
          store.search({ agent, kind, tenantId: "shop-a", queryVector: queryVector.subarray(0, 10) }),
        ]
        return yield* Effect.forEach(attempts, (attempt) => Effect.flip(attempt))
      }),
    )
    for (const error of outcomes)
      expect(error).toMatchObject({ _tag: "MemoryError", reason: "InvalidRequest" })
  })

  it("records the top score of every search per agent and kind", async () => {
    using tmp = tempMemoryDir()
    const records = await articles()
    const reports = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        yield* store.upsert(agent, kind, records)
        const query = yield* Effect.promise(() => vectorOf("printer paper jam"))
        for (let i = 0; i < 3; i++)
          yield* store.search({ agent, kind, tenantId: "shop-a", queryVector: query })
        yield* store.search({ agent, kind, tenantId: "shop-z", queryVector: query })
        return yield* store.retrievalQuality()
      }),
    )
    expect(reports).toHaveLength(1)
    const [report] = reports
    expect(report).toMatchObject({ agent, kind, distribution: { searches: 4, empty: 1 } })
    // "printer paper jam" against "Printer paper jam troubleshooting guide": 3 / sqrt(3 * 5) ≈ 0.775.
    expect(report!.distribution.p50).toBeGreaterThan(0.75)
    expect(report!.distribution.p50).toBeLessThan(0.8)
    expect(report!.drift.status).toBe("warming-up")
  })

  it("rebuilds into a new generation, swaps it in, and finds it again after reopening", async () => {
    using tmp = tempMemoryDir()
    const records = await articles()
    const rebuilt = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        yield* store.upsert(agent, kind, records)
        for (let round = 0; round < 3; round++) {
          yield* store.rebuild(agent, kind, (writer) => writer.upsert(records.slice(0, 2 + round)))
        }
        const table = yield* store.rawTable(agent, kind)
        return {
          name: table.name,
          count: yield* store.count(agent, kind),
          snapshot: yield* store.snapshot(agent, kind),
        }
      }),
    )
    expect(rebuilt.name).toBe(`${agent}__${kind}__g4`)
    expect(rebuilt.count).toBe(4)
    const reopened = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        const table = yield* store.rawTable(agent, kind)
        return { name: table.name, snapshot: yield* store.snapshot(agent, kind) }
      }),
    )
    expect(reopened).toEqual({ name: rebuilt.name, snapshot: rebuilt.snapshot })
    const { readdirSync } = await import("node:fs")
    // Generation 3 stays for searches still running on it; generations 1 and 2 are gone.
    expect(
      readdirSync(tmp.dir)
        .filter((f) => f.startsWith(`${agent}__${kind}`))
        .sort(),
    ).toEqual([`${agent}__${kind}__g3.lance`, `${agent}__${kind}__g4.lance`])
  })

  it("drops the half-built generation when a rebuild fails, leaving the live table untouched", async () => {
    using tmp = tempMemoryDir()
    const records = await articles()
    const outcome = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        yield* store.upsert(agent, kind, records)
        const before = yield* store.snapshot(agent, kind)
        const failure = yield* Effect.flip(
          store.rebuild(agent, kind, (writer) =>
            Effect.flatMap(writer.upsert(records.slice(0, 1)), () => Effect.fail("log unavailable" as const)),
          ),
        )
        return {
          failure,
          before,
          after: yield* store.snapshot(agent, kind),
          name: (yield* store.rawTable(agent, kind)).name,
        }
      }),
    )
    expect(outcome.failure).toBe("log unavailable")
    expect(outcome.after).toEqual(outcome.before)
    expect(outcome.name).toBe(`${agent}__${kind}__g1`)
  })
})
