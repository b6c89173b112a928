import type { ProductFacts } from "@mesh/contracts"
import { DeciderSpecification } from "@mesh/kernel/testing"
import { describe, expect, it } from "vitest"
import { availabilityActionId, listingDecider, listingIdOf, publishActionId } from "./listing.ts"

const listing = DeciderSpecification.for(listingDecider)

const facts: ProductFacts = {
  tenantId: "shop",
  sku: "LAMP-1",
  productName: "Arc desk lamp",
  category: "Lighting",
  attributes: [{ name: "Material", value: "Brass" }],
  highlights: ["Dimmable"],
  price: { amountMinor: 8900, currency: "EUR" },
}
const recorded = (version: number, f: ProductFacts = facts) => ({
  type: "ProductFactsRecorded" as const,
  payload: { facts: f, version },
})
const draft = {
  version: 1,
  title: "Arc desk lamp",
  description: "Brass.",
  bullets: ["Dimmable"],
  tags: [],
  decisionId: "d-1",
}
const drafted = {
  type: "ListingDrafted" as const,
  payload: {
    tenantId: "shop",
    sku: "LAMP-1",
    title: "Arc desk lamp",
    description: "Brass.",
    price: facts.price,
    decisionId: "d-1",
    bullets: ["Dimmable"],
    tags: [],
    draftVersion: 1,
  },
}
const checked = {
  type: "ListingChecked" as const,
  payload: { draftVersion: 1, findings: [], actionId: publishActionId("shop_LAMP-1", 1) },
}
const published = {
  type: "ListingPublished" as const,
  payload: { sku: "LAMP-1", actionId: publishActionId("shop_LAMP-1", 1), externalRef: "lst_1" },
}

describe("a listing", () => {
  it("records facts as a new version only when they change, and only for their tenant", () => {
    listing
      .given([])
      .when({ _tag: "RecordProductFacts", facts })
      .thenEmits([recorded(1)])
    listing
      .given([recorded(1)])
      .when({ _tag: "RecordProductFacts", facts })
      .thenNothingHappens()
    const cheaper = { ...facts, price: { amountMinor: 7900, currency: "EUR" } }
    listing
      .given([recorded(1)])
      .when({ _tag: "RecordProductFacts", facts: cheaper })
      .thenEmits([recorded(2, cheaper)])
    listing
      .given([recorded(1)])
      .when({ _tag: "RecordProductFacts", facts: { ...facts, tenantId: "other" } })
      .thenThrows()
  })

  it("names a listing by its tenant and SKU, so two shops' same SKU are two listings", () => {
    expect(listingIdOf(facts)).toBe("shop_LAMP-1")
    expect(listingIdOf({ ...facts, tenantId: "other" })).not.toBe(listingIdOf(facts))
    expect(publishActionId(listingIdOf(facts), 12)).toBe("publish-shop_LAMP-1-v12")
    // The longest tenant and SKU still give action ids that are subject tokens.
    const longest = listingIdOf({ tenantId: "t".repeat(32), sku: "S".repeat(63) })
    expect(publishActionId(longest, 999_999)).toMatch(/^[A-Za-z0-9_-]{1,128}$/)
    expect(availabilityActionId(longest, 999_999)).toMatch(/^[A-Za-z0-9_-]{1,128}$/)
  })

  it("drafts and checks each facts version once, and ignores a draft of facts since replaced", () => {
    listing
      .given([recorded(1)])
      .when({ _tag: "RecordDraft", ...draft })
      .thenEmits([drafted])
    listing
      .given([recorded(1), drafted])
      .when({ _tag: "RecordDraft", ...draft })
      .thenNothingHappens()
    listing
      .given([recorded(1), recorded(2)])
      .when({ _tag: "RecordDraft", ...draft })
      .thenNothingHappens()
    listing
      .given([recorded(1), drafted])
      .when({ _tag: "RecordCheck", draftVersion: 1, findings: [] })
      .thenEmits([checked])
    listing
      .given([recorded(1), drafted, checked])
      .when({ _tag: "RecordCheck", draftVersion: 1, findings: [] })
      .thenNothingHappens()
  })

  it("is published once, for the action its check named", () => {
    const publish = {
      _tag: "RecordPublished" as const,
      actionId: publishActionId("shop_LAMP-1", 1),
      externalRef: "lst_1",
    }
    listing
      .given([recorded(1), drafted, checked])
      .when(publish)
      .thenEmits([published])
    listing
      .given([recorded(1), drafted, checked, published])
      .when(publish)
      .thenNothingHappens()
    listing
      .given([recorded(1), drafted, checked])
      .when({ ...publish, actionId: "publish-LAMP-1-v9" })
      .thenNothingHappens()
  })

  it("keeps flipping a live listing while a newer version waits for approval, and ignores a stale check", () => {
    const v2 = { ...facts, highlights: ["Dimmable", "Solid oak base"] }
    const history = [
      recorded(1),
      drafted,
      checked,
      published,
      recorded(2, v2),
      { ...drafted, payload: { ...drafted.payload, draftVersion: 2 } },
      {
        type: "ListingChecked" as const,
        payload: {
          draftVersion: 2,
          findings: [{ code: "invented-material" as const, detail: "names oak" }],
          actionId: publishActionId("shop_LAMP-1", 2),
        },
      },
    ]
    listing
      .given(history)
      .when({ _tag: "UpdateAvailability", available: 0, reason: "sold out" })
      .thenEmits([
        {
          type: "ListingMarkedOutOfStock",
          payload: {
            sku: "LAMP-1",
            available: 0,
            actionId: availabilityActionId("shop_LAMP-1", 1),
            reason: "sold out",
          },
        },
      ])
    listing
      .given([recorded(1), recorded(2)])
      .when({ _tag: "RecordCheck", draftVersion: 1, findings: [] })
      .thenNothingHappens()
  })

  it("flips out of stock when no unit is free and back when one is, only once published", () => {
    const history = [recorded(1), drafted, checked, published]
    const out = {
      type: "ListingMarkedOutOfStock" as const,
      payload: {
        sku: "LAMP-1",
        available: 0,
        actionId: availabilityActionId("shop_LAMP-1", 1),
        reason: "sold out",
      },
    }
    listing
      .given([recorded(1), drafted, checked])
      .when({ _tag: "UpdateAvailability", available: 0, reason: "sold out" })
      .thenNothingHappens()
    listing
      .given(history)
      .when({ _tag: "UpdateAvailability", available: 0, reason: "sold out" })
      .thenEmits([out])
    listing
      .given([...history, out])
      .when({ _tag: "UpdateAvailability", available: 0, reason: "sold out" })
      .thenNothingHappens()
    listing
      .given([...history, out])
      .when({ _tag: "UpdateAvailability", available: 3, reason: "restocked" })
      .thenEmits([
        {
          type: "ListingBackInStock",
          payload: { sku: "LAMP-1", available: 3, actionId: availabilityActionId("shop_LAMP-1", 2) },
        },
      ])
  })
})
