import type { EventOf, ListingDrafted, ListingPriceChanged, ListingWithdrawn } from "@mesh/contracts"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { type LoggedEvent, type MemoryChange, memoryProjection } from "./memoryProjection.ts"
import { MemoryStore } from "./memoryStore.ts"
import { runWithStore, seededRandom, tempMemoryDir } from "./testing/memoryTestKit.ts"
import { tokenHashEmbedder } from "./testing/tokenHashEmbedder.ts"

type ListingEvent =
  | EventOf<typeof ListingDrafted>
  | EventOf<typeof ListingPriceChanged>
  | EventOf<typeof ListingWithdrawn>

const agent = "customer-ops"
const kind = "product_fact" as const

const formatPrice = (price: { readonly amountMinor: number; readonly currency: string }) =>
  `${(price.amountMinor / 100).toFixed(2)} ${price.currency}`

/** Product facts customer-ops recalls when answering: drafted listings; a price change or withdrawal makes them stale. */
const toMemory = (event: ListingEvent): MemoryChange => {
  switch (event.type) {
    case "ListingDrafted":
      return {
        id: `${event.aggregateId}:product_fact`,
        tenantId: event.payload.tenantId,
        text: `${event.payload.title}: ${event.payload.description} Price ${formatPrice(event.payload.price)}.`,
        metadata: { sku: event.payload.sku, priceMinor: event.payload.price.amountMinor },
        updatedAt: event.occurredAt,
      }
    case "ListingPriceChanged":
      return {
        stale: `${event.aggregateId}:product_fact`,
        reason: `price changed to ${formatPrice(event.payload.to)}`,
      }
    case "ListingWithdrawn":
      return { stale: `${event.aggregateId}:product_fact`, reason: `withdrawn: ${event.payload.reason}` }
  }
}

const words = [
  "linen",
  "shirt",
  "oak",
  "desk",
  "lamp",
  "ceramic",
  "mug",
  "wool",
  "scarf",
  "steel",
  "bottle",
  "leather",
]

/** A content log: listings drafted, repriced, withdrawn and drafted again, across four tenants. */
const listingLog = (count: number): LoggedEvent<ListingEvent>[] => {
  const random = seededRandom(42)
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(random() * xs.length)]!
  const log: LoggedEvent<ListingEvent>[] = []
  for (let sequence = 1; sequence <= count; sequence++) {
    const listing = Math.floor(random() * 40)
    const envelope = {
      eventId: `00000000-0000-7000-8000-${sequence.toString().padStart(12, "0")}`,
      schemaVersion: 1,
      aggregateType: "listing",
      aggregateId: `L-${listing}`,
      aggregateVersion: sequence,
      occurredAt: new Date(Date.UTC(2026, 10, 1) + sequence * 60_000).toISOString(),
      correlationId: `c-${sequence}`,
      causationId: null,
      actor: { kind: "agent", id: "content-ops" },
    } as const
    const roll = random()
    const price = { amountMinor: 500 + Math.floor(random() * 10_000), currency: "EUR" }
    const event: ListingEvent =
      roll < 0.55
        ? {
            ...envelope,
            type: "ListingDrafted",
            payload: {
              tenantId: `shop-${listing % 4}`,
              sku: `SKU-${listing}`,
              title: `${pick(words)} ${pick(words)}`,
              description: `A ${pick(words)} ${pick(words)} made of ${pick(words)}.`,
              price,
              decisionId: null,
            },
          }
        : roll < 0.85
          ? {
              ...envelope,
              type: "ListingPriceChanged",
              payload: {
                sku: `SKU-${listing}`,
                from: price,
                to: { ...price, amountMinor: price.amountMinor + 100 },
                reason: "supplier cost",
              },
            }
          : {
              ...envelope,
              type: "ListingWithdrawn",
              payload: { sku: `SKU-${listing}`, reason: "out of range" },
            }
    log.push({ stream: "MESH_CONTENT", sequence, event })
  }
  return log
}

const batches = <T>(xs: ReadonlyArray<T>, sizes: ReadonlyArray<number>): T[][] => {
  const out: T[][] = []
  let at = 0
  for (let i = 0; at < xs.length; i++) {
    const size = sizes[i % sizes.length]!
    out.push(xs.slice(at, at + size))
    at += size
  }
  return out
}

async function* streamed<T>(xs: ReadonlyArray<T>): AsyncIterable<T> {
  for (const x of xs) yield x
}

describe("memory projection", () => {
  const log = listingLog(300)
  const projection = memoryProjection({
    agent,
    kind,
    toMemory,
    embed: tokenHashEmbedder(),
    rebuildBatchSize: 37,
  })

  it("rebuilt from the log equals the memory fed live, batch by batch with re-deliveries", async () => {
    using tmp = tempMemoryDir()
    const live = batches(log, [7, 23, 1, 50, 12])
    const outcome = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        for (const batch of live) yield* projection.applyBatch(batch)
        // A consumer that crashed before its checkpoint moved gets the tail of the log again.
        yield* projection.applyBatch(live.at(-1)!)
        for (const batch of live.slice(-3)) yield* projection.applyBatch(batch)
        const liveSnapshot = yield* store.snapshot(agent, kind)
        const rebuilt = yield* projection.rebuild(log)
        const rebuiltSnapshot = yield* store.snapshot(agent, kind)
        return { liveSnapshot, rebuilt, rebuiltSnapshot, table: (yield* store.rawTable(agent, kind)).name }
      }),
    )
    expect(outcome.table).toBe(`${agent}__${kind}__g2`)
    expect(outcome.rebuilt.events).toBe(log.length)
    expect(outcome.rebuiltSnapshot.rows).toEqual(outcome.liveSnapshot.rows)
    expect(outcome.rebuiltSnapshot.checksum).toBe(outcome.liveSnapshot.checksum)
    // The log exercises every path: fresh memories, stale ones of both reasons, memories drafted again after going stale.
    const rows = outcome.liveSnapshot.rows
    expect(rows.length).toBeGreaterThan(30)
    expect(rows.filter((r) => !r.stale).length).toBeGreaterThan(5)
    expect(rows.some((r) => r.staleReason?.startsWith("price changed"))).toBe(true)
    expect(rows.some((r) => r.staleReason?.startsWith("withdrawn"))).toBe(true)
    const redraftedAfterStale = log.some((e, i) => {
      if (e.event.type !== "ListingPriceChanged") return false
      const later = log.slice(i + 1).filter((l) => l.event.aggregateId === e.event.aggregateId)
      return later.length > 0 && later.every((l) => l.event.type === "ListingDrafted")
    })
    expect(redraftedAfterStale).toBe(true)
  })

  it("rebuilt in a new store from a streamed log equals the live one, row for row and vector for vector", async () => {
    using liveDir = tempMemoryDir()
    using rebuiltDir = tempMemoryDir()
    const live = await runWithStore(
      liveDir.dir,
      Effect.gen(function* () {
        for (const batch of batches(log, [64])) yield* projection.applyBatch(batch)
        return yield* MemoryStore.use((store) => store.snapshot(agent, kind))
      }),
    )
    const rebuilt = await runWithStore(
      rebuiltDir.dir,
      Effect.gen(function* () {
        yield* projection.rebuild(streamed(log))
        return yield* MemoryStore.use((store) => store.snapshot(agent, kind))
      }),
    )
    expect(rebuilt).toEqual(live)
  })

  it("keeps stale facts out of recall until the listing is drafted again", async () => {
    using tmp = tempMemoryDir()
    const embed = tokenHashEmbedder()
    const drafted = log.find((e) => e.event.type === "ListingDrafted")!
    const draft = drafted.event as EventOf<typeof ListingDrafted>
    const repriced: LoggedEvent<ListingEvent> = {
      stream: "MESH_CONTENT",
      sequence: 1001,
      event: {
        ...draft,
        eventId: "00000000-0000-7000-8000-000000001001",
        type: "ListingPriceChanged",
        payload: {
          sku: draft.payload.sku,
          from: draft.payload.price,
          to: { amountMinor: 1, currency: "EUR" },
          reason: "sale",
        },
      },
    }
    const search = (vector: Float32Array) =>
      MemoryStore.use((store) =>
        store.search({ agent, kind, tenantId: draft.payload.tenantId, queryVector: vector }),
      )
    const [vector] = await embed([`${draft.payload.title}: ${draft.payload.description}`])
    const [before, after, again] = await runWithStore(
      tmp.dir,
      Effect.gen(function* () {
        yield* projection.applyBatch([drafted])
        const before = yield* search(vector!)
        yield* projection.applyBatch([repriced])
        const after = yield* search(vector!)
        yield* projection.applyBatch([{ ...drafted, sequence: 1002 }])
        return [before, after, yield* search(vector!)] as const
      }),
    )
    const id = `${draft.aggregateId}:product_fact`
    expect(before.hits.map((h) => h.id)).toEqual([id])
    expect(after.hits).toEqual([])
    expect(again.hits.map((h) => [h.id, h.stale, h.source.sequence])).toEqual([[id, false, 1002]])
  })
})
