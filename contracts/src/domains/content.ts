import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Money, NonEmpty, TenantId } from "./common.ts"

const domain = "content" as const
const aggregateType = "listing"
const producer = "content-ops"

/** A product listing was drafted. */
export const ListingDrafted = defineEvent({
  type: "ListingDrafted",
  domain,
  aggregateType,
  payload: Schema.Struct({
    tenantId: TenantId,
    sku: NonEmpty,
    title: NonEmpty,
    description: Schema.String,
    price: Money,
    decisionId: Schema.NullOr(NonEmpty),
  }),
  summary: "A product listing was drafted.",
  producer,
  consumers: ["content-ops"],
})

/** A listing went live on the storefront. */
export const ListingPublished = defineEvent({
  type: "ListingPublished",
  domain,
  aggregateType,
  payload: Schema.Struct({ sku: NonEmpty, actionId: NonEmpty, externalRef: NonEmpty }),
  summary: "The listing went live on the storefront.",
  producer,
  consumers: ["procurement", "customer-ops"],
})

/** A listing's price changed. */
export const ListingPriceChanged = defineEvent({
  type: "ListingPriceChanged",
  domain,
  aggregateType,
  payload: Schema.Struct({ sku: NonEmpty, from: Money, to: Money, reason: NonEmpty }),
  summary: "The listing's price changed.",
  producer,
  consumers: ["customer-ops"],
})

/** A listing was taken off the storefront. */
export const ListingWithdrawn = defineEvent({
  type: "ListingWithdrawn",
  domain,
  aggregateType,
  payload: Schema.Struct({ sku: NonEmpty, reason: NonEmpty }),
  summary: "The listing was taken off the storefront.",
  producer,
  consumers: ["procurement", "customer-ops"],
})

/** Every public event of the content domain. */
export const contentEvents = [
  ListingDrafted,
  ListingPublished,
  ListingPriceChanged,
  ListingWithdrawn,
] as const

/** Commands the content-ops agent accepts. */
export const ContentCommand = Schema.Union([
  Schema.TaggedStruct("DraftListing", {
    listingId: NonEmpty,
    tenantId: TenantId,
    sku: NonEmpty,
    title: NonEmpty,
    description: Schema.String,
    price: Money,
  }),
  Schema.TaggedStruct("PublishListing", { listingId: NonEmpty }),
  Schema.TaggedStruct("ChangeListingPrice", { listingId: NonEmpty, to: Money, reason: NonEmpty }),
  Schema.TaggedStruct("WithdrawListing", { listingId: NonEmpty, reason: NonEmpty }),
])
/** A command for the content-ops agent. */
export type ContentCommand = typeof ContentCommand.Type
