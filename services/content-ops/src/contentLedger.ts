import {
  customerEvents,
  type EventOf,
  makeCatalog,
  ReplyDrafted,
  ReplySent,
  ReplyWrittenByPerson,
  TicketOpened,
  TicketResolved,
  TicketTriaged,
} from "@mesh/contracts"
import { type EventLogError, MeshNamespace, makeEventLog, NatsClient } from "@mesh/eventlog"
import { type DecidedEvent, fold } from "@mesh/kernel"
import { Context, Effect, Layer } from "effect"
import { faqEvents, listingEvents } from "./catalog.ts"
import { type FaqState, faqDecider } from "./faq/faq.ts"
import { type ListingState, listingDecider } from "./listing/listing.ts"

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

/** What ContentLedger offers. */
export interface ContentLedgerShape {
  /** A SKU's listing, as the log holds it. */
  readonly listing: (sku: string) => Effect.Effect<ListingState, EventLogError>
  /** A tenant's frequent questions of one intent, as the log holds them. */
  readonly faq: (faqId: string) => Effect.Effect<FaqState, EventLogError>
  /** A ticket's question, triage and answers, from the customer stream (customer ops owns it; content ops reads it). */
  readonly ticket: (ticketId: string) => Effect.Effect<ReadonlyArray<TicketRecord>, EventLogError>
}

/** The agent's own aggregates, and the tickets it learns from, read from the log itself rather than a read model. */
export class ContentLedger extends Context.Service<ContentLedger, ContentLedgerShape>()(
  "content-ops/ContentLedger",
) {
  /** On the process's NATS connection and namespace. */
  static readonly layer = Layer.effect(
    ContentLedger,
    Effect.gen(function* () {
      const nats = yield* NatsClient
      const namespace = (yield* MeshNamespace).name
      const listings = makeEventLog({ nats, catalog: makeCatalog(listingEvents), namespace })
      const faqs = makeEventLog({ nats, catalog: makeCatalog(faqEvents), namespace })
      // The whole customer catalogue: a ticket's history holds events content ops does not use, and a
      // load refuses a history with types it does not know.
      const tickets = makeEventLog({ nats, catalog: makeCatalog(customerEvents), namespace })
      const wanted = new Set<string>(ticketEvents.map((e) => e.type))
      return {
        listing: (sku: string) =>
          Effect.map(listings.load({ domain: "content", type: "listing", id: sku }), (loaded) =>
            fold(
              listingDecider,
              listingDecider.initialState(),
              loaded.events as unknown as ReadonlyArray<DecidedEvent<(typeof listingEvents)[number]>>,
            ),
          ),
        faq: (faqId: string) =>
          Effect.map(faqs.load({ domain: "content", type: "faq", id: faqId }), (loaded) =>
            fold(
              faqDecider,
              faqDecider.initialState(),
              loaded.events as unknown as ReadonlyArray<DecidedEvent<(typeof faqEvents)[number]>>,
            ),
          ),
        ticket: (ticketId: string) =>
          Effect.map(tickets.load({ domain: "customer", type: "ticket", id: ticketId }), (loaded) =>
            loaded.events.filter((e): e is TicketRecord => wanted.has(e.type)),
          ),
      }
    }),
  )
}
