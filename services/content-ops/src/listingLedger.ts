import { makeCatalog } from "@mesh/contracts"
import { type EventLogError, MeshNamespace, makeEventLog, NatsClient } from "@mesh/eventlog"
import { type DecidedEvent, fold } from "@mesh/kernel"
import { Context, Effect, Layer } from "effect"
import { listingEvents } from "./catalog.ts"
import { type ListingState, listingDecider } from "./listing/listing.ts"

/** What ListingLedger offers. */
export interface ListingLedgerShape {
  /** A SKU's listing, as the log holds it. */
  readonly listing: (sku: string) => Effect.Effect<ListingState, EventLogError>
}

/** The agent's listings read from the log itself, not the read model, so a reaction sees the draft it follows. */
export class ListingLedger extends Context.Service<ListingLedger, ListingLedgerShape>()(
  "content-ops/ListingLedger",
) {
  /** On the process's NATS connection and namespace. */
  static readonly layer = Layer.effect(
    ListingLedger,
    Effect.gen(function* () {
      const log = makeEventLog({
        nats: yield* NatsClient,
        catalog: makeCatalog(listingEvents),
        namespace: (yield* MeshNamespace).name,
      })
      return {
        listing: (sku: string) =>
          Effect.map(log.load({ domain: "content", type: "listing", id: sku }), (loaded) =>
            fold(
              listingDecider,
              listingDecider.initialState(),
              loaded.events as unknown as ReadonlyArray<DecidedEvent<(typeof listingEvents)[number]>>,
            ),
          ),
      }
    }),
  )
}
