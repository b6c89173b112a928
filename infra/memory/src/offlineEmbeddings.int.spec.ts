import { makeOfflineProvider, OFFLINE_EMBED_DIMENSIONS } from "@mesh/models"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { MemoryRecord } from "./memoryRecord.ts"
import { MemoryStore } from "./memoryStore.ts"
import { recordsFor, runWithStore, tempMemoryDir } from "./testing/memoryTestKit.ts"

// Memory fed by the offline provider's embedder: 512-d sentence-encoder vectors in LanceDB, found by
// questions that share no word with the article, and a table of the old 384-d embedder refused
// until it is rebuilt.

const agent = "customer-ops"
const kind = "kb_article" as const
const provider = makeOfflineProvider()
const embed = (input: ReadonlyArray<string>) =>
  Effect.runPromise(provider.embed({ model: provider.embedModel, input })).then((result) =>
    result.embeddings.map((v) => Float32Array.from(v)),
  )

const articles = [
  [
    "kb-delivery",
    "Late deliveries. Orders inside the EU arrive within four working days; if yours is late, we track it and send it again.",
  ],
  ["kb-returns", "Returns. You have 30 days to send unworn clothing back for a refund."],
  ["kb-care", "Wool care. Wash wool and cashmere by hand in cold water and dry it flat."],
  [
    "kb-payment",
    "Payment methods. We take cards, PayPal and bank transfer; cash on delivery is not offered.",
  ],
] as const

const offlineRecords = async (): Promise<MemoryRecord[]> => {
  const vectors = await embed(articles.map(([, text]) => text))
  return articles.map(([id, text], i) => ({
    id: `${id}:kb_article`,
    tenantId: "shop-a",
    text,
    vector: vectors[i]!,
    source: { stream: "MESH_TEST", sequence: i + 1, eventId: `event-${i + 1}` },
    updatedAt: "2026-11-25T10:00:00.000Z",
    metadata: {},
  }))
}

const options = { dimensions: OFFLINE_EMBED_DIMENSIONS }

describe("memory with the offline embedder", () => {
  it("stores 512-d vectors and finds an article by its meaning", async () => {
    using tmp = tempMemoryDir()
    const records = await offlineRecords()
    const questions = ["where is my package", "can I send back a jumper", "how do I clean my scarf"]
    const queries = await embed(questions)
    const found = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        yield* store.upsert(agent, kind, records)
        return yield* Effect.forEach(queries, (queryVector) =>
          store.search({ agent, kind, tenantId: "shop-a", queryVector, limit: 1 }),
        )
      }),
      options,
    )
    expect(found.map((r) => r.hits[0]?.id)).toEqual([
      "kb-delivery:kb_article",
      "kb-returns:kb_article",
      "kb-care:kb_article",
    ])
  })

  it("refuses a table of the old 384-d embedder until it is rebuilt at 512", async () => {
    using tmp = tempMemoryDir()
    const old = await recordsFor([
      { id: "kb-returns:kb_article", tenantId: "shop-a", text: "returns", sequence: 1 },
    ])
    await runWithStore(
      tmp.dir,
      Effect.flatMap(MemoryStore, (store) => store.upsert(agent, kind, old)),
    )
    const records = await offlineRecords()
    const [queryVector] = await embed(["can I send back a jumper"])
    const [refused, rebuilt, found] = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        const refused = yield* Effect.flip(store.upsert(agent, kind, records))
        const rebuilt = yield* store.rebuild(agent, kind, (writer) => writer.upsert(records))
        const found = yield* store.search({
          agent,
          kind,
          tenantId: "shop-a",
          queryVector: queryVector!,
          limit: 1,
        })
        return [refused, rebuilt, found] as const
      }),
      options,
    )
    expect(refused.reason).toBe("InvalidRequest")
    expect(refused.message).toContain("384-dimensional vectors but the store is set to 512")
    expect(rebuilt).toEqual({ inserted: 4, updated: 0 })
    expect(found.hits[0]?.id).toBe("kb-returns:kb_article")
  })
})
