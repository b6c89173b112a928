import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MemoryStore } from "@mesh/memory"
import { ModelProvider, makeOfflineProvider, OFFLINE_EMBED_DIMENSIONS } from "@mesh/models"
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { articlesFittingMessage } from "./articleScope.ts"
import { KnowledgeBase } from "./knowledgeBase.ts"

// The knowledge base on a real LanceDB folder and the offline encoder: a message recalls the
// articles approved before it came, wherever its reaction runs, and those approved since only
// when it asks for the present.

const dir = mkdtempSync(join(tmpdir(), "kb-"))
const runtime = ManagedRuntime.make(
  KnowledgeBase.layer("customer-ops").pipe(
    Layer.provide(MemoryStore.layer({ dir, dimensions: OFFLINE_EMBED_DIMENSIONS })),
    Layer.provide(Layer.succeed(ModelProvider, makeOfflineProvider())),
  ),
)
// The same, on a provider that notes each text it is asked to embed.
const countedDir = mkdtempSync(join(tmpdir(), "kb-counted-"))
const embedded: Array<string> = []
const offline = makeOfflineProvider()
const counted = ManagedRuntime.make(
  KnowledgeBase.layer("customer-ops").pipe(
    Layer.provide(MemoryStore.layer({ dir: countedDir, dimensions: OFFLINE_EMBED_DIMENSIONS })),
    Layer.provide(
      Layer.succeed(ModelProvider, {
        ...offline,
        embed: (request) => {
          embedded.push(...request.input)
          return offline.embed(request)
        },
      }),
    ),
  ),
)
afterAll(async () => {
  await runtime.dispose()
  await counted.dispose()
  rmSync(dir, { recursive: true, force: true })
  rmSync(countedDir, { recursive: true, force: true })
})

const approved = (articleId: string, title: string, body: string) => ({
  eventId: `approved-${articleId}`,
  type: "KnowledgeApproved" as const,
  schemaVersion: 1,
  aggregateType: "knowledge",
  aggregateId: articleId,
  aggregateVersion: 2,
  occurredAt: "2026-12-05T10:00:00.000Z",
  correlationId: articleId,
  causationId: null,
  actor: { kind: "person" as const, id: "owner" },
  payload: {
    tenantId: "shop",
    version: 1,
    title,
    body,
    intent: "product_question" as const,
    actionId: `publish-${articleId}`,
  },
})

describe("the knowledge base as a message found it", () => {
  it("recalls only the articles approved before the message's commit, and every approved one without it", async () => {
    const teapot = "How do I clean the charcoal teapot?"
    const lamp = "Which bulbs does the oak floor lamp take?"
    const articleIds = await runtime.runPromise(
      Effect.gen(function* () {
        const kb = yield* KnowledgeBase
        yield* kb.remember(
          approved("kb-lamp", lamp, "The oak floor lamp takes E27 bulbs up to 60 W.") as never,
          { stream: "MESH_CUSTOMER", sequence: 10 },
        )
        yield* kb.remember(
          approved("kb-teapot", teapot, "Rinse the charcoal teapot with warm water; no soap.") as never,
          { stream: "MESH_CUSTOMER", sequence: 30 },
        )
        const ids = (articles: ReadonlyArray<{ readonly articleId: string }>) =>
          articles.map((a) => a.articleId)
        return {
          lampAt20: ids(yield* kb.recall("shop", lamp, { approvedBefore: 20 })),
          teapotAt20: ids(yield* kb.recall("shop", teapot, { approvedBefore: 20 })),
          teapotAt30: ids(yield* kb.recall("shop", teapot, { approvedBefore: 30 })),
          teapotAt31: ids(yield* kb.recall("shop", teapot, { approvedBefore: 31 })),
          teapotNow: ids(yield* kb.recall("shop", teapot)),
        }
      }),
    )
    expect(articleIds).toEqual({
      lampAt20: ["kb-lamp"],
      // Approved at #30: a message at #20 or at #30 itself came before it.
      teapotAt20: [],
      teapotAt30: [],
      teapotAt31: ["kb-teapot"],
      teapotNow: ["kb-teapot"],
    })
  })

  it("leaves out an article about another product that the encoder finds alike, and keeps the one asked about", async () => {
    // Two articles and two questions as a shop's day made them: the owner's answers became the
    // articles, and each question was answered with the other product's article before the fix.
    const catalogue = [
      { sku: "KIT-001", name: "Charcoal earthenware teapot" },
      { sku: "KIT-002", name: "Slate stoneware serving bowl" },
      { sku: "HOM-001", name: "Charcoal wool cushion cover" },
    ]
    const article = (articleId: string, product: string, question: string, facts: string) => {
      const event = approved(
        articleId,
        `Hello, ${question}`,
        `Hello,\nthank you for asking about the ${product}. ${facts}\nBest wishes from the shop`,
      )
      return { ...event, payload: { ...event.payload, tenantId: "other-shop" } }
    }
    const cushion = article(
      "kb-cushion",
      "charcoal wool cushion cover",
      "Can I put the charcoal wool cushion cover in the tumble dryer?",
      "Its material is wool, Its colour is charcoal, Its dimensions is 140 x 240 cm.\nMachine washable at 40 °C. Pre-washed.",
    )
    const teapot = article(
      "kb-teapot",
      "charcoal earthenware teapot",
      "Is the charcoal earthenware teapot dishwasher safe?",
      "Its material is earthenware, Its colour is charcoal, Its capacity is 250 ml.\nDishwasher safe. Microwave safe.",
    )
    const teapotQuestion =
      "Charcoal earthenware teapot\nHello, Is the charcoal earthenware teapot dishwasher safe?\nRosa"
    const bowlQuestion =
      "Slate stoneware serving bowl\nHello, Is the glaze on the slate stoneware serving bowl food safe?\nMateo"
    const recalled = await runtime.runPromise(
      Effect.gen(function* () {
        const kb = yield* KnowledgeBase
        const ids = (articles: ReadonlyArray<{ readonly articleId: string }>) =>
          articles.map((a) => a.articleId)
        const recall = (text: string, scoped: boolean) =>
          Effect.map(kb.recall("other-shop", text), (articles) =>
            ids(
              scoped
                ? articlesFittingMessage(articles, { text, earlierCustomerTurns: [] }, catalogue)
                : articles,
            ),
          )
        yield* kb.remember(cushion as never, { stream: "MESH_CUSTOMER", sequence: 40 })
        const before = { teapotQuestion: yield* recall(teapotQuestion, false) }
        const scopedBefore = { teapotQuestion: yield* recall(teapotQuestion, true) }
        yield* kb.remember(teapot as never, { stream: "MESH_CUSTOMER", sequence: 41 })
        return {
          alike: { ...before, bowlQuestion: yield* recall(bowlQuestion, false) },
          scoped: {
            ...scopedBefore,
            teapotQuestionOnceAnswered: yield* recall(teapotQuestion, true),
            bowlQuestion: yield* recall(bowlQuestion, true),
          },
        }
      }),
    )
    // The sentence encoder alone finds another product's article close enough to cite.
    expect(recalled.alike).toEqual({ teapotQuestion: ["kb-cushion"], bowlQuestion: ["kb-teapot"] })
    expect(recalled.scoped).toEqual({
      teapotQuestion: [],
      teapotQuestionOnceAnswered: ["kb-teapot"],
      bowlQuestion: [],
    })
  })

  it("embeds no message when no article could be recalled for it: none of its tenant's, none approved before it, or only retired ones", async () => {
    const question = "How do I clean the charcoal teapot?"
    const answered = await counted.runPromise(
      Effect.gen(function* () {
        const kb = yield* KnowledgeBase
        const ids = (articles: ReadonlyArray<{ readonly articleId: string }>) =>
          articles.map((a) => a.articleId)
        const recallNoting = (tenantId: string, approvedBefore?: number) =>
          Effect.gen(function* () {
            embedded.length = 0
            const articles = yield* kb.recall(
              tenantId,
              question,
              approvedBefore === undefined ? {} : { approvedBefore },
            )
            return { articles: ids(articles), embedded: [...embedded] }
          })
        const emptyTable = yield* recallNoting("shop")
        yield* kb.remember(
          approved("kb-teapot", question, "Rinse the charcoal teapot with warm water; no soap.") as never,
          { stream: "MESH_CUSTOMER", sequence: 30 },
        )
        const otherTenant = yield* recallNoting("another-shop")
        const beforeApproval = yield* recallNoting("shop", 30)
        const afterApproval = yield* recallNoting("shop", 31)
        yield* kb.remember(
          {
            ...approved("kb-teapot", question, ""),
            eventId: "retired-kb-teapot",
            type: "KnowledgeRetired",
            aggregateVersion: 3,
            payload: { reason: "the teapot is no longer sold" },
          } as never,
          { stream: "MESH_CUSTOMER", sequence: 40 },
        )
        const retired = yield* recallNoting("shop")
        return { emptyTable, otherTenant, beforeApproval, afterApproval, retired }
      }),
    )
    expect(answered).toEqual({
      emptyTable: { articles: [], embedded: [] },
      otherTenant: { articles: [], embedded: [] },
      beforeApproval: { articles: [], embedded: [] },
      afterApproval: { articles: ["kb-teapot"], embedded: [question] },
      retired: { articles: [], embedded: [] },
    })
  })
})
