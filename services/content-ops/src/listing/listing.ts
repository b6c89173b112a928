import { canonicalJson, type ListingFinding, type ProductFacts, tenantScopedId } from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel"
import type { listingEvents } from "../catalog.ts"

type ListingEvent = DecidedEvent<(typeof listingEvents)[number]>

/** A drafted listing's copy. */
export interface ListingDraft {
  readonly version: number
  readonly title: string
  readonly description: string
  readonly bullets: ReadonlyArray<string>
  readonly tags: ReadonlyArray<string>
  readonly decisionId: string | null
}

/** Where a listing stands on the storefront. */
export type Publication = "unpublished" | "publishing" | "published" | "refused" | "withdrawn"

/** A SKU's listing: its facts, the latest draft and its check, and where it stands on the storefront. */
export type ListingState =
  | { readonly status: "absent" }
  | {
      readonly status: "known"
      readonly facts: ProductFacts
      readonly factsVersion: number
      readonly draft: ListingDraft | null
      readonly findings: ReadonlyArray<ListingFinding> | null
      readonly publication: Publication
      readonly publishAction: string | null
      readonly externalRef: string | null
      /** Whether a version of it is on the storefront (a newer one may be waiting to replace it). */
      readonly live: boolean
      /** Whether the storefront shows it as available to order. */
      readonly inStock: boolean
      /** Availability changes so far, to name the next one's action. */
      readonly flips: number
    }

/** Commands of a listing. */
export type ListingCommand =
  | { readonly _tag: "RecordProductFacts"; readonly facts: ProductFacts }
  | ({ readonly _tag: "RecordDraft" } & ListingDraft)
  | {
      readonly _tag: "RecordCheck"
      readonly draftVersion: number
      readonly findings: ReadonlyArray<ListingFinding>
    }
  | { readonly _tag: "RecordPublished"; readonly actionId: string; readonly externalRef: string }
  | { readonly _tag: "RecordPublishRefused"; readonly actionId: string; readonly reason: string }
  | { readonly _tag: "UpdateAvailability"; readonly available: number; readonly reason: string }

/**
 * A listing's aggregate id: its tenant's and SKU's, the same id procurement gives the SKU's stock
 * item and registers, so a stock event or an invariant names the listing it concerns.
 */
export const listingIdOf = (facts: { readonly tenantId: string; readonly sku: string }): string =>
  tenantScopedId(facts.tenantId, facts.sku)

/** The publish action of a listing's draft: one per listing and draft version, so a redelivery publishes once. */
export const publishActionId = (listingId: string, draftVersion: number): string =>
  `publish-${listingId}-v${draftVersion}`

/** The action of a listing's n-th availability change. */
export const availabilityActionId = (listingId: string, flip: number): string => `stock-${listingId}-${flip}`

// Canonical JSON: the same facts in another key order are the same facts.
const sameFacts = (a: ProductFacts, b: ProductFacts) => canonicalJson(a) === canonicalJson(b)

/**
 * A SKU's listing. New facts are drafted (by the `draftListing` skill) and each draft is checked
 * against them; the checked draft is published once through the storefront connector, by policy or
 * after a person's approval. A published listing flips to out of stock when no unit is free to
 * promise and back when units are, one availability change at a time.
 */
export const listingDecider: Decider<ListingCommand, ListingEvent, ListingState> = {
  initialState: () => ({ status: "absent" }),
  evolve: (state, event) => {
    switch (event.type) {
      case "ProductFactsRecorded":
        return state.status === "absent"
          ? {
              status: "known",
              facts: event.payload.facts,
              factsVersion: event.payload.version,
              draft: null,
              findings: null,
              publication: "unpublished",
              publishAction: null,
              externalRef: null,
              live: false,
              inStock: true,
              flips: 0,
            }
          : { ...state, facts: event.payload.facts, factsVersion: event.payload.version }
      case "ListingDrafted":
        return state.status === "absent"
          ? state
          : {
              ...state,
              draft: {
                version: event.payload.draftVersion ?? state.factsVersion,
                title: event.payload.title,
                description: event.payload.description,
                bullets: event.payload.bullets ?? [],
                tags: event.payload.tags ?? [],
                decisionId: event.payload.decisionId,
              },
              findings: null,
            }
      case "ListingChecked":
        return state.status === "absent"
          ? state
          : {
              ...state,
              findings: event.payload.findings,
              publication: "publishing",
              publishAction: event.payload.actionId,
            }
      case "ListingPublished":
        return state.status === "absent"
          ? state
          : { ...state, publication: "published", live: true, externalRef: event.payload.externalRef }
      case "ListingPublishRefused":
        return state.status === "absent" || state.publishAction !== event.payload.actionId
          ? state
          : { ...state, publication: "refused" }
      case "ListingMarkedOutOfStock":
        return state.status === "absent" ? state : { ...state, inStock: false, flips: state.flips + 1 }
      case "ListingBackInStock":
        return state.status === "absent" ? state : { ...state, inStock: true, flips: state.flips + 1 }
      case "ListingWithdrawn":
        return state.status === "absent" ? state : { ...state, publication: "withdrawn", live: false }
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "RecordProductFacts": {
        if (state.status === "known") {
          // A listing's id is its tenant's and SKU's: facts of another are sent to the wrong listing.
          if (listingIdOf(state.facts) !== listingIdOf(command.facts))
            throw new Error(
              `the facts of ${command.facts.tenantId}'s ${command.facts.sku} were sent to ${state.facts.tenantId}'s ${state.facts.sku}`,
            )
          if (sameFacts(state.facts, command.facts)) return []
        }
        const version = state.status === "known" ? state.factsVersion + 1 : 1
        return [{ type: "ProductFactsRecorded", payload: { facts: command.facts, version } }]
      }
      case "RecordDraft": {
        if (state.status === "absent") throw new Error("a listing is drafted from facts it has not recorded")
        // A draft of older facts is stale; one of these facts already drafted is a redelivery.
        if (command.version !== state.factsVersion || state.draft?.version === command.version) return []
        return [
          {
            type: "ListingDrafted",
            payload: {
              tenantId: state.facts.tenantId,
              sku: state.facts.sku,
              title: command.title,
              description: command.description,
              price: state.facts.price,
              decisionId: command.decisionId,
              bullets: command.bullets,
              tags: command.tags,
              draftVersion: command.version,
            },
          },
        ]
      }
      case "RecordCheck": {
        if (state.status === "absent") throw new Error("no such listing")
        // A check of a draft since replaced (the facts changed before it was drafted) decides nothing.
        if (state.draft === null || command.draftVersion !== state.draft.version || state.findings !== null)
          return []
        return [
          {
            type: "ListingChecked",
            payload: {
              draftVersion: command.draftVersion,
              findings: command.findings,
              actionId: publishActionId(listingIdOf(state.facts), command.draftVersion),
            },
          },
        ]
      }
      case "RecordPublished":
        if (state.status === "absent") throw new Error("no such listing")
        return state.publishAction === command.actionId && state.publication === "publishing"
          ? [
              {
                type: "ListingPublished",
                payload: {
                  sku: state.facts.sku,
                  actionId: command.actionId,
                  externalRef: command.externalRef,
                },
              },
            ]
          : []
      case "RecordPublishRefused":
        if (state.status === "absent") throw new Error("no such listing")
        return state.publishAction === command.actionId && state.publication === "publishing"
          ? [
              {
                type: "ListingPublishRefused",
                payload: { actionId: command.actionId, reason: command.reason },
              },
            ]
          : []
      case "UpdateAvailability": {
        // A live listing flips whatever a newer version waiting for approval is doing.
        if (state.status === "absent" || !state.live) return []
        const sku = state.facts.sku
        const actionId = availabilityActionId(listingIdOf(state.facts), state.flips + 1)
        if (state.inStock && command.available === 0)
          return [
            {
              type: "ListingMarkedOutOfStock",
              payload: { sku, available: 0, actionId, reason: command.reason },
            },
          ]
        if (!state.inStock && command.available > 0)
          return [{ type: "ListingBackInStock", payload: { sku, available: command.available, actionId } }]
        return []
      }
    }
  },
}
