import {
  customerEvents,
  type EventOf,
  makeCatalog,
  type ProductFacts,
  ReplyDrafted,
  ReplySent,
  ReplyWrittenByPerson,
  TicketOpened,
  TicketResolved,
  TicketTriaged,
} from "@mesh/contracts"
import {
  type EventLogError,
  historyForReaction,
  MeshNamespace,
  makeEventLog,
  NatsClient,
} from "@mesh/eventlog"
import { type DecidedEvent, fold, stateForReaction } from "@mesh/kernel"
import { ReadModelDb } from "@mesh/sql"
import { Context, Effect, Layer, Schema } from "effect"
import { sql } from "kysely"
import { faqEvents, listingEvents } from "./catalog.ts"
import { type FaqState, faqDecider } from "./faq/faq.ts"
import { type ListingState, listingDecider, listingIdOf } from "./listing/listing.ts"
import { listingsReadModel } from "./projections/listingsReadModel.ts"

const ticketEvents = [
  TicketOpened,
  TicketTriaged,
  ReplyDrafted,
  ReplyWrittenByPerson,
  ReplySent,
  TicketResolved,
] as const
/** A ticket's event as content ops reads it: what was asked, how it was triaged, what was answered. */
export type TicketRecord = EventOf<(typeof ticketEvents)[number]>

/** The listings read model could not answer; the cause is kept. */
export class ListingsQueryError extends Schema.TaggedError<ListingsQueryError>()("ListingsQueryError", {
  query: Schema.String,
  cause: Schema.Defect(),
}) {}

/** A listing whose latest facts have no draft yet, with the event that recorded them (what its draft answers). */
export interface AwaitingDraft {
  readonly listingId: string
  readonly facts: ProductFacts
  readonly recorded: EventOf<(typeof listingEvents)[number]>
}

/**
 * A listing folded twice from one read: `asOf`, as it stood at an event of its own (every event up
 * to that version), and `latest`, as the log holds it now.
 */
export interface ListingAt {
  readonly asOf: ListingState
  readonly latest: ListingState
}

/**
 * A listing's state as it stood at `version` and as it stands after all of `events` (its history,
 * in order). A reaction decides on what its event saw: a replay runs it once the whole day is in
 * the log, and a consumer that lags reads events written after its cause.
 */
export const listingAt = (
  events: ReadonlyArray<EventOf<(typeof listingEvents)[number]>>,
  version: number,
): ListingAt => {
  let state = listingDecider.initialState()
  let asOf = state
  for (const event of events) {
    state = listingDecider.evolve(state, event as unknown as DecidedEvent<(typeof listingEvents)[number]>)
    if (event.aggregateVersion <= version) asOf = state
  }
  return { asOf, latest: state }
}

/** What ContentLedger offers. */
export interface ContentLedgerShape {
  /** A listing (a tenant's SKU), as the log holds it (in a replayed reaction, as its cause found it). */
  readonly listing: (listingId: string) => Effect.Effect<ListingState, EventLogError>
  /**
   * A listing as it stood at one of its events (`version`), and as it stands now (in a replayed
   * reaction, as its cause found it): see {@link listingAt}.
   */
  readonly listingAt: (listingId: string, version: number) => Effect.Effect<ListingAt, EventLogError>
  /**
   * Up to `limit` listings whose latest facts have no draft yet, oldest first, besides `except`:
   * the read model names candidates (it may lag), the log confirms each.
   */
  readonly awaitingDraft: (
    limit: number,
    except: string,
  ) => Effect.Effect<ReadonlyArray<AwaitingDraft>, EventLogError | ListingsQueryError>
  /** A tenant's frequent questions of one intent, as the log holds them (replayed, as the cause found them). */
  readonly faq: (faqId: string) => Effect.Effect<FaqState, EventLogError>
  /**
   * A ticket's question, triage and answers, from the customer stream (customer ops owns it;
   * content ops reads it); replayed, as the cause found them.
   */
  readonly ticket: (ticketId: string) => Effect.Effect<ReadonlyArray<TicketRecord>, EventLogError>
}

/** The agent's own aggregates, and the tickets it learns from, read from the log itself rather than a read model. */
export class ContentLedger extends Context.Service<ContentLedger, ContentLedgerShape>()(
  "content-ops/ContentLedger",
) {
  /** On the process's NATS connection, namespace and read models (of `agent`). */
  static readonly layer = (agent: string) =>
    Layer.effect(
      ContentLedger,
      Effect.gen(function* () {
        const nats = yield* NatsClient
        const namespace = (yield* MeshNamespace).name
        const model = listingsReadModel((yield* ReadModelDb).db, namespace, agent)
        const listings = makeEventLog({ nats, catalog: makeCatalog(listingEvents), namespace })
        const faqs = makeEventLog({ nats, catalog: makeCatalog(faqEvents), namespace })
        // The whole customer catalogue: a ticket's history holds events content ops does not use, and a
        // load refuses a history with types it does not know.
        const tickets = makeEventLog({ nats, catalog: makeCatalog(customerEvents), namespace })
        const wanted = new Set<string>(ticketEvents.map((e) => e.type))
        // Each history is read whole, or, in a replayed reaction, as its cause found it
        // (`historyForReaction`): a replay runs on a log that already holds the rest of the day.
        const listingHistory = (listingId: string) =>
          Effect.flatMap(listings.load({ domain: "content", type: "listing", id: listingId }), (loaded) =>
            historyForReaction(loaded.events),
          )
        const listing = (listingId: string) =>
          Effect.map(listingHistory(listingId), (events) => ({
            events,
            state: fold(
              listingDecider,
              listingDecider.initialState(),
              events as unknown as ReadonlyArray<DecidedEvent<(typeof listingEvents)[number]>>,
            ),
          }))
        return {
          listing: (listingId: string) => Effect.map(listing(listingId), (loaded) => loaded.state),
          listingAt: (listingId: string, version: number) =>
            Effect.map(listingHistory(listingId), (events) => listingAt(events, version)),
          awaitingDraft: (limit: number, except: string) =>
            Effect.gen(function* () {
              if (limit <= 0) return []
              const rows = yield* Effect.tryPromise({
                try: () =>
                  model
                    .selectFrom("listings")
                    .select(["tenant_id", "sku"])
                    .where(sql<boolean>`coalesce(draft_version, 0) < facts_version`)
                    .orderBy("updated_at")
                    .limit(limit + 1)
                    .execute(),
                catch: (cause) => new ListingsQueryError({ query: "listings awaiting a draft", cause }),
              })
              const found: Array<AwaitingDraft> = []
              for (const row of rows) {
                const listingId = listingIdOf({ tenantId: row.tenant_id, sku: row.sku })
                if (listingId === except || found.length >= limit) continue
                const { events, state } = yield* listing(listingId)
                if (state.status !== "known" || state.draft?.version === state.factsVersion) continue
                const recorded = events.findLast(
                  (e) => e.type === "ProductFactsRecorded" && e.payload.version === state.factsVersion,
                )
                if (recorded !== undefined) found.push({ listingId, facts: state.facts, recorded })
              }
              return found
            }),
          faq: (faqId: string) =>
            stateForReaction(faqs, { domain: "content", type: "faq", id: faqId }, faqDecider),
          ticket: (ticketId: string) =>
            tickets.load({ domain: "customer", type: "ticket", id: ticketId }).pipe(
              Effect.flatMap((loaded) => historyForReaction(loaded.events)),
              Effect.map((events) => events.filter((e): e is TicketRecord => wanted.has(e.type))),
            ),
        }
      }),
    )
}
