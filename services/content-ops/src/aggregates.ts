import type { AggregateDefinition, DecidedEvent, Decider } from "@mesh/kernel"
import type { ContentOpsDefs } from "./catalog.ts"
import { type FaqCommand, type FaqState, faqDecider } from "./faq/faq.ts"
import { type ListingCommand, type ListingState, listingDecider } from "./listing/listing.ts"

// The content-ops agent's aggregates: pure deciders, light to load, for the agent and for tools
// that fold its history (`mesh replay`).

export const listingAggregate: AggregateDefinition<ContentOpsDefs, ListingCommand, ListingState> = {
  domain: "content",
  type: "listing",
  // The decider folds only the listing's events; the kernel hands it the agent's catalogue type.
  decider: listingDecider as unknown as Decider<ListingCommand, DecidedEvent<ContentOpsDefs>, ListingState>,
  // A product's first facts open its listing.
  opensWith: (command) => command._tag === "RecordProductFacts",
}

export const faqAggregate: AggregateDefinition<ContentOpsDefs, FaqCommand, FaqState> = {
  domain: "content",
  type: "faq",
  decider: faqDecider as unknown as Decider<FaqCommand, DecidedEvent<ContentOpsDefs>, FaqState>,
  opensWith: (command) => command._tag === "NoteResolvedQuestion",
}

/** Every aggregate the content-ops agent decides, as the kernel and replay take them. */
export const contentOpsAggregates = [listingAggregate, faqAggregate] as const
