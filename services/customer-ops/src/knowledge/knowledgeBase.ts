import type { EventOf, TicketIntent } from "@mesh/contracts"
import { type MemoryError, MemoryStore, memoryProjection } from "@mesh/memory"
import { type ModelError, ModelProvider } from "@mesh/models"
import { Context, Effect, Layer } from "effect"
import type { knowledgeEvents } from "./knowledge.ts"

/** An approved article recalled for a message. */
export interface RecalledArticle {
  readonly articleId: string
  readonly version: number
  readonly title: string
  readonly body: string
  readonly intent: typeof TicketIntent.Type
  readonly similarity: number
}

/**
 * How similar an article must be to a message to be cited (cosine, offline sentence encoder).
 * Unrelated shop questions score about 0.2 to 0.45 against each other; a paraphrase of an
 * article's question, 0.6 and above.
 */
export const MIN_ARTICLE_SIMILARITY = 0.55

type KnowledgeRecord = EventOf<(typeof knowledgeEvents)[number]>

/** What the knowledge base offers the agent. */
export interface KnowledgeBaseShape {
  /**
   * The approved articles of the tenant most like the text, best first (retired and draft ones
   * never). With `approvedBefore` (a customer stream sequence, a message's commit), only those
   * approved before it: a message is answered with what the shop knew when it came, however late
   * its reaction runs. An article whose newer version (or retirement) came after is left out then,
   * since memory keeps only its latest.
   */
  readonly recall: (
    tenantId: string,
    text: string,
    options?: { readonly limit?: number; readonly approvedBefore?: number },
  ) => Effect.Effect<ReadonlyArray<RecalledArticle>, MemoryError | ModelError>
  /**
   * Takes an article's event into long-term memory, at its place in the log: an approved version
   * replaces the one before; a retired article goes stale.
   */
  readonly remember: (
    event: KnowledgeRecord,
    position: { readonly stream: string; readonly sequence: number },
  ) => Effect.Effect<void, MemoryError>
}

const embedWith = (provider: ModelProvider["Service"]) => (texts: ReadonlyArray<string>) =>
  Effect.runPromise(
    Effect.map(provider.embed({ model: provider.embedModel, input: texts }), (result) =>
      result.embeddings.map((vector) => Float32Array.from(vector)),
    ),
  )

/**
 * The agent's knowledge base in long-term memory (LanceDB, `<agent>__kb_article`): only versions a
 * person approved are in it, and only they are recalled, always within the tenant. Drafts live in
 * the log until approved.
 */
export class KnowledgeBase extends Context.Service<KnowledgeBase, KnowledgeBaseShape>()(
  "customer-ops/KnowledgeBase",
) {
  /** On the process's memory store and model. */
  static readonly layer = (agent: string) =>
    Layer.effect(
      KnowledgeBase,
      Effect.gen(function* () {
        const store = yield* MemoryStore
        const provider = yield* ModelProvider
        const projection = memoryProjection<KnowledgeRecord>({
          agent,
          kind: "kb_article",
          embed: embedWith(provider),
          toMemory: (event) => {
            switch (event.type) {
              case "KnowledgeApproved":
                return {
                  id: event.aggregateId,
                  tenantId: event.payload.tenantId,
                  text: `${event.payload.title}\n${event.payload.body}`,
                  metadata: {
                    version: event.payload.version,
                    title: event.payload.title,
                    body: event.payload.body,
                    intent: event.payload.intent,
                  },
                  updatedAt: event.occurredAt,
                }
              case "KnowledgeRetired":
                return { stale: event.aggregateId, reason: `retired: ${event.payload.reason}` }
              case "KnowledgeDrafted":
              case "KnowledgeRefused":
                return undefined
            }
          },
        })
        const recall: KnowledgeBaseShape["recall"] = (tenantId, text, options = {}) =>
          Effect.gen(function* () {
            const { limit = 3, approvedBefore } = options
            // No article the search could return (none of the tenant's approved, or none before the
            // message): the answer is empty, and the message is not embedded. Embedding is most of
            // a ticket's work with the offline model, and on the shop's day most messages come
            // before their tenant's first article; the count is one read of a small table.
            const recallable = yield* store.count(
              agent,
              "kb_article",
              tenantId,
              approvedBefore === undefined ? {} : { sourceBefore: approvedBefore },
            )
            if (recallable === 0) return []
            const embedded = yield* provider.embed({
              model: provider.embedModel,
              input: [text],
              purpose: "query",
            })
            const result = yield* store.search({
              agent,
              kind: "kb_article",
              tenantId,
              queryVector: embedded.embeddings[0] ?? [],
              // Room for the articles approved too late to count.
              limit: limit + (approvedBefore === undefined ? 0 : 5),
            })
            return result.hits
              .filter(
                (hit) =>
                  !hit.stale &&
                  hit.similarity >= MIN_ARTICLE_SIMILARITY &&
                  (approvedBefore === undefined || hit.source.sequence < approvedBefore),
              )
              .slice(0, limit)
              .map((hit) => ({
                articleId: hit.id,
                version: Number(hit.metadata.version),
                title: String(hit.metadata.title),
                body: String(hit.metadata.body),
                intent: hit.metadata.intent as typeof TicketIntent.Type,
                similarity: hit.similarity,
              }))
          })
        return {
          recall,
          remember: (event, { stream, sequence }) =>
            Effect.asVoid(
              Effect.provideService(projection.applyBatch([{ stream, sequence, event }]), MemoryStore, store),
            ),
        }
      }),
    )
}
