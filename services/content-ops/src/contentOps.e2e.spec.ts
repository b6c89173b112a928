import { type EventEnvelope, meshCatalog, Subjects } from "@mesh/contracts"
import { makeEventLog, openNats } from "@mesh/eventlog"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { contentOpsName } from "./config.ts"
import { noteResolvedQuestions } from "./handlers/knowledge.ts"
import { type ContentOpsProcess, startContentOps } from "./testing/contentOpsProcess.ts"

// The content-ops agent in its own process, over real NATS and Postgres, with the storefront
// simulator behind its connector, a server speaking Ollama's API as its model, and the conflict
// resolver beside it. Procurement's hand on the stock is played by the spec: its register writes
// and its events, as the procurement agent makes them.

// Each spec waits on several agents' steps in turn (a crash's lease alone is 30 s); under a full run's
// load one step can take tens of seconds.
vi.setConfig({ testTimeout: 180_000 })

const nats = useNatsServer()
let agent: ContentOpsProcess

beforeAll(async () => {
  agent = await startContentOps(nats.url, { prefix: "content" })
}, 180_000)

afterAll(async () => {
  await agent?.stop()
})

const facts = (name: string, extra: Record<string, unknown> = {}) => ({
  tenantId: "shop",
  productName: name,
  brand: "Lumo",
  category: "Lighting",
  attributes: [
    { name: "Material", value: "Brushed brass" },
    { name: "Height", value: "45 cm" },
  ],
  highlights: ["Adjustable arm", "Dimmable"],
  price: { amountMinor: 8900, currency: "EUR" },
  ...extra,
})

interface ListingView {
  readonly sku: string
  readonly status: string
  readonly title: string | null
  readonly decisionId: string | null
  readonly publishActionId: string | null
  readonly findings: ReadonlyArray<{ code: string; detail: string }> | null
  readonly inStock: boolean
  readonly stockReason: string | null
}

const listing = async (sku: string): Promise<ListingView | undefined> => {
  const response = await agent.call(`/listings/${sku}`)
  return response.ok ? ((await response.json()) as ListingView) : undefined
}

const listingWhere = (sku: string, what: string, test: (view: ListingView) => boolean, timeoutMs?: number) =>
  agent.until(
    `${sku} ${what}`,
    async () => {
      const view = await listing(sku)
      return view !== undefined && test(view) ? view : undefined
    },
    timeoutMs,
  )

const storefront = (sku: string) => agent.simulators.storefront.ledger().filter((e) => e.params.sku === sku)

const ofType = (events: ReadonlyArray<EventEnvelope>, type: string, aggregateId?: string) =>
  events.filter((e) => e.type === type && (aggregateId === undefined || e.aggregateId === aggregateId))

const record = async (sku: string, body: unknown) => {
  const response = await agent.call(`/products/${sku}`, { method: "PUT", body })
  expect(response.status).toBeLessThan(300)
}

describe("listings", () => {
  it("publishes a faithful draft once, through a duplicate request and a crash while it is being published", async () => {
    await agent.stock.restock("LAMP-1", 5)
    // The storefront answers slowly: the agent is killed while the publish is in flight.
    agent.simulators.storefront.injectFaults({ delayMs: 1_500, pathPrefix: "/v1/listings" })
    await Promise.all([record("LAMP-1", facts("Arc desk lamp")), record("LAMP-1", facts("Arc desk lamp"))])
    await agent.until("the publish is attempted", async () => {
      const events = await agent.everything()
      return ofType(events, "ActionAttemptStarted").some((e) =>
        e.aggregateId.startsWith("publish-shop_LAMP-1"),
      )
        ? true
        : undefined
    })
    await agent.restart()
    agent.simulators.storefront.injectFaults({})
    const published = await listingWhere("LAMP-1", "is published", (v) => v.status === "published", 60_000)
    expect(published).toMatchObject({ findings: [], inStock: true })
    expect(storefront("LAMP-1").filter((e) => e.operation === "listing.published")).toHaveLength(1)

    // It traces to its decision, the check, the policy's verdict and the connector's result.
    const events = await agent.everything()
    expect(ofType(events, "ListingDrafted", "shop_LAMP-1")).toHaveLength(1)
    expect(ofType(events, "ListingPublished", "shop_LAMP-1")).toHaveLength(1)
    const decision = ofType(events, "DecisionRecorded").find(
      (e) => (e.payload as { decisionId: string }).decisionId === published.decisionId,
    )
    expect(decision?.payload).toMatchObject({ skill: "draftListing" })
    expect(ofType(events, "ActionRequested", published.publishActionId ?? "")[0]?.payload).toMatchObject({
      kind: "storefront.publish-listing",
      cause: { decisionId: published.decisionId },
      policy: { verdict: { mode: "auto" } },
    })
    expect(await agent.stock.listingStatus("LAMP-1")).toBe("published")
  })

  it("holds a draft that invents a fact for a person, with what it invented, and publishes it only once approved", async () => {
    await record("INVENT-1", facts("Tall floor lamp"))
    const held = await listingWhere("INVENT-1", "waits for approval", (v) => v.status === "awaiting-approval")
    expect(held.findings?.map((f) => f.code).sort()).toEqual(["invented-material", "unsupported-claim"])
    expect(held.findings?.map((f) => f.detail).join(" ")).toMatch(/oak/)
    const queue = await agent.until("the publish waits in the approvals queue", async () => {
      const body = (await (await agent.call("/approvals")).json()) as {
        queue: ReadonlyArray<{ actionId: string; parametersHash: string; verdict?: unknown }>
      }
      return body.queue.find((a) => a.actionId === held.publishActionId)
    })
    expect(storefront("INVENT-1")).toHaveLength(0)
    const events = await agent.everything()
    expect(ofType(events, "ActionAwaitingApproval", held.publishActionId ?? "")).toHaveLength(1)
    expect(ofType(events, "ActionRequested", held.publishActionId ?? "")[0]?.payload).toMatchObject({
      policy: { verdict: { mode: "require-approval", rule: "agent:listing-fact-check" } },
    })

    const approve = await agent.call(`/approvals/${contentOpsName}/${queue.actionId}/approve`, {
      method: "POST",
      body: { parametersHash: queue.parametersHash },
    })
    expect(approve.status).toBeLessThan(300)
    await listingWhere("INVENT-1", "is published after approval", (v) => v.status === "published")
    expect(storefront("INVENT-1").filter((e) => e.operation === "listing.published")).toHaveLength(1)
  })
})

describe("model calls", () => {
  it("drafts facts seen before from the draft made for them, without asking the model again", async () => {
    const firstFacts = facts("Globe pendant")
    await record("GLOBE-1", firstFacts)
    const first = await listingWhere("GLOBE-1", "is drafted", (v) => v.decisionId !== null)
    await record("GLOBE-1", facts("Globe pendant", { highlights: ["Dimmable"] }))
    const second = await listingWhere("GLOBE-1", "is drafted again", (v) => v.decisionId !== first.decisionId)
    const callsBefore = agent.model.stats().chatRequests
    // Back to the first facts: a new facts version, whose input is the first one's.
    await agent.recordFactsVersion({ ...firstFacts, sku: "GLOBE-1" }, 3)
    const third = await listingWhere(
      "GLOBE-1",
      "is drafted a third time",
      (v) => v.decisionId !== first.decisionId && v.decisionId !== second.decisionId,
    )
    expect(agent.model.stats().chatRequests).toBe(callsBefore)
    expect(third.title).toBe(first.title)

    const decisions = ofType(await agent.everything(), "DecisionRecorded").map(
      (e) =>
        e.payload as { decisionId: string; provider: string; costUsd: number; reusedDecisionId?: string },
    )
    const byId = (id: string | null) => decisions.find((d) => d.decisionId === id)
    expect(byId(first.decisionId)).toMatchObject({ provider: "ollama" })
    expect(byId(third.decisionId)).toMatchObject({
      provider: "cache",
      costUsd: 0,
      reusedDecisionId: first.decisionId,
    })
  })
})

describe("frequent questions", () => {
  it("notes a resolved question once, with the embedding call that compared it; replayed, the note is sent again without asking the model", async () => {
    const nats_ = await openNats(nats.url)
    const log = makeEventLog({ nats: nats_, catalog: meshCatalog, namespace: agent.namespace })
    const ticketId = "shop_tk-faq-1"
    const question = "Does the globe pendant take an LED bulb?"
    const events = [
      {
        type: "TicketOpened",
        payload: {
          tenantId: "shop",
          customerId: "c-9",
          channel: "email",
          subject: "Globe pendant",
          body: question,
          orderId: null,
          messageId: "m-faq-1",
        },
      },
      {
        type: "TicketTriaged",
        payload: {
          intent: "product_question",
          sentiment: "neutral",
          priority: "normal",
          confidence: 0.9,
          decisionId: "d-faq-1",
          messageId: "m-faq-1",
        },
      },
      {
        type: "ReplyWrittenByPerson",
        payload: { draftId: "dr-faq-1", messageId: "m-faq-1", body: "Yes, any E27 LED bulb.", author: "sam" },
      },
      { type: "ReplySent", payload: { draftId: "dr-faq-1", actionId: "a-faq-1", externalRef: "mail-1" } },
      { type: "TicketResolved", payload: { resolution: "answered by a person" } },
    ]
    // Customer ops' ticket, played by the spec, one commit per step as the agent writes them.
    for (const [i, event] of events.entries())
      await Effect.runPromise(
        log.append({
          aggregate: { domain: "customer", type: "ticket", id: ticketId },
          expected: "any",
          events: [event] as never,
          metadata: {
            correlationId: "faq-1",
            causationId: null,
            commandId: `spec-faq-1-${i}`,
            actor: { kind: "agent", id: "customer-ops" },
          },
        }),
      )
    const notes = async () =>
      ofType(await agent.everything(), "ResolvedQuestionNoted").filter(
        (e) => (e.payload as { ticketId: string }).ticketId === ticketId,
      )
    const [note] = await agent.until("the question is noted", async () => {
      const found = await notes()
      return found.length > 0 ? found : undefined
    })
    expect(note?.payload).toMatchObject({
      ticketId,
      question: `Globe pendant\n${question}`,
      similarTo: [],
      embedding: { model: expect.any(String), latencyMs: expect.any(Number) },
    })
    const embedsOf = () =>
      agent.model
        .requests()
        .filter((r) => r.path === "/api/embed" && JSON.stringify(r.body).includes("globe pendant take"))
        .length
    expect(embedsOf()).toBe(1)

    // The agent killed and, while it is down, its reactor's consumer deleted: started again, it
    // meets the resolution anew.
    await agent.restart(() =>
      nats_.jsm.consumers.delete(
        Subjects.streamName(agent.namespace, "customer"),
        noteResolvedQuestions().name,
      ),
    )
    const reactor = await agent.until("the resolution is met again", async () => {
      const status = (await (await agent.call("/status")).json()) as {
        reactors: ReadonlyArray<{
          name: string
          pending: number | null
          unacknowledged: number | null
          decidedOtherwise: { count: number }
        }>
      }
      const found = status.reactors.find((r) => r.name === noteResolvedQuestions().name)
      const info = await nats_.jsm.consumers
        .info(Subjects.streamName(agent.namespace, "customer"), noteResolvedQuestions().name)
        .catch(() => null)
      return found?.pending === 0 && found.unacknowledged === 0 && (info?.delivered.stream_seq ?? 0) > 0
        ? found
        : undefined
    })
    // Sent again as it was noted: no model asked, nothing appended, nothing decided otherwise.
    expect(embedsOf()).toBe(1)
    expect(await notes()).toHaveLength(1)
    expect(reactor.decidedOtherwise.count).toBe(0)
    await nats_.connection.drain()
  })
})

describe("batched drafting", () => {
  it("drafts a backlog of products in one model call, each with its own decision and share of the cost", async () => {
    const skus = ["BATCH-1", "BATCH-2", "BATCH-3", "BATCH-4", "BATCH-5", "BATCH-6"]
    const callsBefore = agent.model.stats().chatRequests
    // A busy model: the first product's draft takes a while, and the rest are recorded meanwhile.
    agent.slowModel(2_000)
    await record(skus[0] as string, facts("Oak side table 1"))
    await agent.until("the first draft is asked of the model", async () =>
      agent.model.stats().chatRequests > callsBefore ? true : undefined,
    )
    for (const [n, sku] of skus.slice(1).entries()) await record(sku, facts(`Oak side table ${n + 2}`))
    agent.slowModel(0)
    const views = await Promise.all(
      skus.map((sku) => listingWhere(sku, "is drafted", (v) => v.decisionId !== null)),
    )

    // The first alone, the five that waited in one call.
    expect(agent.model.stats().chatRequests - callsBefore).toBe(2)
    const decisions = ofType(await agent.everything(), "DecisionRecorded").map(
      (e) =>
        e as EventEnvelope & {
          payload: {
            decisionId: string
            skill: string
            costUsd: number
            promptTokens: number
            batch?: { id: string; index: number; size: number }
          }
        },
    )
    const of = (view: ListingView) => decisions.find((d) => d.payload.decisionId === view.decisionId)
    const [first, ...rest] = views.map(of)
    expect(first?.payload.batch).toBeUndefined()
    const batchIds = new Set(rest.map((d) => d?.payload.batch?.id))
    expect(batchIds.size).toBe(1)
    expect(rest.map((d) => d?.payload.batch?.size)).toEqual([5, 5, 5, 5, 5])
    expect(rest.map((d) => d?.payload.batch?.index).sort()).toEqual([0, 1, 2, 3, 4])
    // Each is a draftListing decision of its own facts' event, with a share of the call's tokens.
    const recorded = ofType(await agent.everything(), "ProductFactsRecorded")
    for (const [index, decision] of rest.entries()) {
      expect(decision?.payload.skill).toBe("draftListing")
      const cause = recorded.find((e) => e.aggregateId === `shop_${skus[index + 1]}`)
      expect(decision?.causationId).toBe(cause?.eventId)
      expect(decision?.payload.promptTokens).toBeGreaterThan(0)
    }
    // And each draft is its own product's.
    expect(views.map((v) => v.title)).toEqual(
      skus.map((_, n) => expect.stringContaining(`Oak side table ${n + 1}`)),
    )
  })
})

describe("stock", () => {
  it("flips a published listing out of stock when no unit is free, and back when one is", async () => {
    await agent.stock.restock("MUG-1", 2)
    await record("MUG-1", facts("Stoneware mug", { attributes: [{ name: "Capacity", value: "350 ml" }] }))
    await listingWhere("MUG-1", "is published", (v) => v.status === "published")
    const reservation = await agent.stock.sell("MUG-1", 2)
    const out = await listingWhere("MUG-1", "is out of stock", (v) => !v.inStock)
    expect(out.stockReason).toMatch(/no unit is free/)
    await agent.stock.release("MUG-1", reservation, 2)
    await listingWhere("MUG-1", "is back in stock", (v) => v.inStock)
    // The storefront hears of each flip through its action, a moment after the listing records it.
    const changes = await agent.until("the storefront shows both flips", async () => {
      const flips = storefront("MUG-1")
        .map((e) => e.operation)
        .filter((operation) => operation === "listing.out-of-stock" || operation === "listing.in-stock")
      return flips.length === 2 ? flips : undefined
    })
    expect(changes).toEqual(["listing.out-of-stock", "listing.in-stock"])
    expect(await agent.stock.listingStatus("MUG-1")).toBe("published")
  })

  it("ends a publish that raced a stock-out marked out of stock, with the resolution recorded", async () => {
    await agent.stock.restock("RACE-1", 1)
    agent.simulators.storefront.injectFaults({ delayMs: 1_500, pathPrefix: "/v1/listings" })
    await record("RACE-1", facts("Brass wall hook"))
    await agent.until("the publish is in flight", async () => {
      const events = await agent.everything()
      return ofType(events, "ActionAttemptStarted").some((e) =>
        e.aggregateId.startsWith("publish-shop_RACE-1"),
      )
        ? true
        : undefined
    })
    // The last unit sells and ships while the listing is being published.
    await agent.stock.sell("RACE-1", 1, { ship: true })
    agent.simulators.storefront.injectFaults({})
    const ended = await listingWhere(
      "RACE-1",
      "ends marked out of stock",
      (v) => v.status === "published" && !v.inStock,
    )
    expect(ended.stockReason).toMatch(/no unit/)
    await agent.until("the storefront shows it out of stock", async () => {
      const listings = agent.simulators.storefront.state().listings as ReadonlyArray<{
        sku: string
        inStock: boolean
      }>
      return listings.some((l) => l.sku === "RACE-1" && !l.inStock) ? true : undefined
    })
    expect(await agent.stock.listingStatus("RACE-1")).toBe("out-of-stock")
    const events = await agent.everything()
    expect(ofType(events, "ListingMarkedOutOfStock", "shop_RACE-1")).toHaveLength(1)
  })
})

describe("tenants", () => {
  it("keeps two shops' listings of the same SKU apart, and their stock", async () => {
    // Only the spec's shop has units of VASE-1; the corner shop sells its own VASE-1 with none in stock.
    await agent.stock.restock("VASE-1", 3)
    await record("VASE-1", facts("Glass vase"))
    await record(
      "VASE-1",
      facts("Glass vase", { tenantId: "corner-shop", price: { amountMinor: 4500, currency: "EUR" } }),
    )
    const of = (tenantId: string) =>
      agent.until(`${tenantId}'s VASE-1 is published`, async () => {
        const response = await agent.call(`/listings/VASE-1?tenantId=${tenantId}`)
        const view = response.ok ? ((await response.json()) as ListingView & { tenantId: string }) : undefined
        return view?.status === "published" ? view : undefined
      })
    const ours = await of("shop")
    const theirs = await agent.until("the corner shop's VASE-1 is out of stock", async () => {
      const view = await of("corner-shop")
      return view.inStock ? undefined : view
    })
    expect(ours).toMatchObject({ tenantId: "shop", inStock: true, price: { amountMinor: 8900 } })
    expect(theirs).toMatchObject({ tenantId: "corner-shop", price: { amountMinor: 4500 } })

    // Without a tenant, the SKU names no one listing.
    const ambiguous = await agent.call("/listings/VASE-1")
    expect(ambiguous.status).toBe(409)
    expect(((await ambiguous.json()) as { field: string }).field).toBe("tenantId")
    const corner = (await (await agent.call("/listings?tenantId=corner-shop")).json()) as {
      listings: ReadonlyArray<{ sku: string; tenantId: string }>
    }
    expect(corner.listings.map((l) => `${l.tenantId}/${l.sku}`)).toEqual(["corner-shop/VASE-1"])
    const events = await agent.everything()
    expect(ofType(events, "ListingPublished", "shop_VASE-1")).toHaveLength(1)
    expect(ofType(events, "ListingPublished", "corner-shop_VASE-1")).toHaveLength(1)
  })
})

describe("operators", () => {
  it("answers only the shop's people, and names what is wrong with bad facts", async () => {
    expect((await fetch(`${agent.url}/listings`)).status).toBe(401)
    const bad = await agent.call("/products/DESK-9", {
      method: "PUT",
      body: { ...facts("Desk"), price: { amountMinor: -1 } },
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { field: string }).field).toMatch(/^price/)
    expect((await agent.call("/listings/DESK-9")).status).toBe(404)
    const tooLong = await agent.call(`/products/${"S".repeat(64)}`, { method: "PUT", body: facts("Desk") })
    expect(tooLong.status).toBe(400)
    expect(((await tooLong.json()) as { field: string }).field).toBe("sku")
    const badTenant = await agent.call("/products/DESK-9", {
      method: "PUT",
      body: facts("Desk", { tenantId: "Shop A" }),
    })
    expect(badTenant.status).toBe(400)
    expect(((await badTenant.json()) as { field: string }).field).toBe("tenantId")
  })
})
