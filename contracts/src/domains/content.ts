import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { measurement } from "../measurement.ts"
import { personal } from "../personal.ts"
import { Money, NonEmpty, Quantity, TenantId, TenantOwnId } from "./common.ts"
import { TicketIntent } from "./customer.ts"

const domain = "content" as const
const aggregateType = "listing"
const producer = "content-ops"

/** A customer's question, or the reply that answered them (which greets them by name): redacted on export. */
const personalText = personal("text")

/** A product's facts, as the merchandiser's product feed gives them: what a listing may say. */
export const ProductFacts = Schema.Struct({
  tenantId: TenantId,
  /** The shop's own SKU; with the tenant it names the listing (`tenantScopedId`). */
  sku: TenantOwnId,
  productName: NonEmpty,
  brand: Schema.optionalKey(NonEmpty),
  category: NonEmpty,
  attributes: Schema.Array(Schema.Struct({ name: NonEmpty, value: NonEmpty })),
  highlights: Schema.Array(NonEmpty),
  price: Money,
})
/** A product's facts. */
export type ProductFacts = typeof ProductFacts.Type

/** A product's facts were recorded (new, or changed): its listing is drafted from them. */
export const ProductFactsRecorded = defineEvent({
  type: "ProductFactsRecorded",
  domain,
  aggregateType,
  payload: Schema.Struct({
    facts: ProductFacts,
    version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  }),
  summary: "A product's facts were recorded; its listing is drafted from them.",
  producer,
  consumers: ["content-ops", "customer-ops"],
})

/** What the fact check found in a drafted listing: a word or number the facts do not hold. */
export const ListingFinding = Schema.Struct({
  code: Schema.Literals([
    "invented-material",
    "invented-measure",
    "unsupported-claim",
    "wrong-price",
    "empty",
  ]),
  detail: NonEmpty,
})
/** What the fact check found. */
export type ListingFinding = typeof ListingFinding.Type

/** A drafted listing was checked against its product's facts: clean, or held for a person with what it invented. */
export const ListingChecked = defineEvent({
  type: "ListingChecked",
  domain,
  aggregateType,
  payload: Schema.Struct({
    draftVersion: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    findings: Schema.Array(ListingFinding),
    /** The publish action, which the policy runs on its own or holds for approval. */
    actionId: NonEmpty,
  }),
  summary: "A drafted listing was checked against the product's facts.",
  producer,
  consumers: ["content-ops"],
})

/** A person or the policy refused to publish a listing. */
export const ListingPublishRefused = defineEvent({
  type: "ListingPublishRefused",
  domain,
  aggregateType,
  payload: Schema.Struct({ actionId: NonEmpty, reason: NonEmpty }),
  summary: "Publishing the listing was refused, by a person or by policy.",
  producer,
  consumers: ["content-ops"],
})

/** A published listing was marked out of stock on the storefront (no unit free to promise). */
export const ListingMarkedOutOfStock = defineEvent({
  type: "ListingMarkedOutOfStock",
  domain,
  aggregateType,
  payload: Schema.Struct({ sku: NonEmpty, available: Quantity, actionId: NonEmpty, reason: NonEmpty }),
  summary: "A listing was marked out of stock.",
  producer,
  consumers: ["customer-ops"],
})

/** An out-of-stock listing has stock again and was marked available on the storefront. */
export const ListingBackInStock = defineEvent({
  type: "ListingBackInStock",
  domain,
  aggregateType,
  payload: Schema.Struct({ sku: NonEmpty, available: Quantity, actionId: NonEmpty }),
  summary: "A listing was marked in stock again.",
  producer,
  consumers: ["customer-ops"],
})

const faqType = "faq"

/** A resolved ticket's question and the answer that resolved it, noted beside the similar ones before it. */
export const ResolvedQuestionNoted = defineEvent({
  type: "ResolvedQuestionNoted",
  domain,
  aggregateType: faqType,
  payload: Schema.Struct({
    tenantId: TenantId,
    intent: TicketIntent,
    ticketId: NonEmpty,
    question: personalText(NonEmpty),
    answer: personalText(NonEmpty),
    /** Earlier noted questions (their tickets) that ask the same, by meaning. */
    similarTo: Schema.Array(NonEmpty),
    /**
     * The embedding call that compared the question with the waiting ones: its model and how long
     * it took, the model's time in the reaction (absent when every vector was at hand, and in
     * events noted before it was kept).
     */
    embedding: Schema.optionalKey(
      // How the note was made, not what it found: made again (a replay, a note aged out of the
      // window), the call may take another time or not be needed at all.
      measurement(
        Schema.Struct({ model: NonEmpty, latencyMs: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)) }),
      ),
    ),
  }),
  summary: "A resolved ticket's question and answer were noted, with the earlier ones like it.",
  producer,
  consumers: ["content-ops"],
})

/** Enough resolved tickets asked the same question for it to deserve an article. */
export const FrequentQuestionFound = defineEvent({
  type: "FrequentQuestionFound",
  domain,
  aggregateType: faqType,
  payload: Schema.Struct({
    tenantId: TenantId,
    intent: TicketIntent,
    proposalId: NonEmpty,
    ticketIds: Schema.Array(NonEmpty).check(Schema.isMinLength(1)),
    questions: Schema.Array(personalText(NonEmpty)),
    answers: Schema.Array(personalText(NonEmpty)),
  }),
  summary: "A question asked in several resolved tickets was found; an article is drafted for it.",
  producer,
  consumers: ["content-ops"],
})

/** Content ops proposed a knowledge-base article for a frequent question; customer ops drafts it for a person's approval. */
export const KnowledgeArticleProposed = defineEvent({
  type: "KnowledgeArticleProposed",
  domain,
  aggregateType: faqType,
  payload: Schema.Struct({
    tenantId: TenantId,
    intent: TicketIntent,
    proposalId: NonEmpty,
    title: NonEmpty,
    body: NonEmpty,
    ticketIds: Schema.Array(NonEmpty),
    decisionId: NonEmpty,
  }),
  summary:
    "A knowledge-base article was proposed from a frequent question; a person approves it before it is used.",
  producer,
  consumers: ["customer-ops"],
})

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
    bullets: Schema.optionalKey(Schema.Array(NonEmpty)),
    tags: Schema.optionalKey(Schema.Array(NonEmpty)),
    /** The facts version it was drafted from (1, 2, …). */
    draftVersion: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
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
  ResolvedQuestionNoted,
  FrequentQuestionFound,
  KnowledgeArticleProposed,
  ProductFactsRecorded,
  ListingDrafted,
  ListingChecked,
  ListingPublishRefused,
  ListingMarkedOutOfStock,
  ListingBackInStock,
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
