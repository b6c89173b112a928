import type { EventOf } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import type { listingEvents } from "../catalog.ts"
import { listingAt } from "../contentLedger.ts"
import { publicationOf, publishedStatusOf } from "./listings.ts"

// A listing's history as the content stream holds it. A reaction to one of its events decides on
// the listing as it stood at that event: a replay runs the reaction once the whole day is in the
// log, and a consumer that lags reads what came after.
type ListingRecord = EventOf<(typeof listingEvents)[number]>

const history = () => {
  const events: Array<ListingRecord> = []
  const add = <T extends ListingRecord["type"]>(
    type: T,
    payload: Extract<ListingRecord, { type: T }>["payload"],
  ) => {
    const event = {
      eventId: `e-${events.length + 1}`,
      type,
      schemaVersion: 1,
      aggregateType: "listing",
      aggregateId: "shop:lamp-1",
      aggregateVersion: events.length + 1,
      occurredAt: "2026-12-01T10:00:00.000Z",
      correlationId: "c-1",
      causationId: null,
      actor: { kind: "agent", id: "content-ops" },
      payload,
    } as ListingRecord
    events.push(event)
    return event
  }
  return { events, add }
}

const facts = (amountMinor: number) => ({
  tenantId: "shop",
  sku: "lamp-1",
  productName: "Desk lamp",
  category: "Lighting",
  attributes: [{ name: "Material", value: "Brass" }],
  highlights: ["Dimmable"],
  price: { amountMinor, currency: "EUR" },
})

const drafted = (version: number, amountMinor: number) => ({
  tenantId: "shop",
  sku: "lamp-1",
  title: `Desk lamp v${version}`,
  description: "A brass desk lamp.",
  price: { amountMinor, currency: "EUR" },
  decisionId: `d-${version}`,
  draftVersion: version,
})

describe("a listing as it stood at one of its events", () => {
  it("publishes the checked draft at the price it was checked with, though the price changed since", () => {
    const { events, add } = history()
    add("ProductFactsRecorded", { facts: facts(8900), version: 1 })
    add("ListingDrafted", drafted(1, 8900))
    const checked = add("ListingChecked", { draftVersion: 1, findings: [], actionId: "publish-1" })
    // Read by a reaction that lags, or by a replay: the price has changed, not yet drafted.
    add("ProductFactsRecorded", { facts: facts(12900), version: 2 })

    const at = listingAt(events, checked.aggregateVersion)
    expect(at.latest.status === "known" && at.latest.facts.price.amountMinor).toBe(12900)
    expect(publicationOf(at, 1)).toMatchObject({
      version: 1,
      title: "Desk lamp v1",
      sku: "lamp-1",
      price: { amountMinor: 8900, currency: "EUR" },
    })
    // The reaction that kept up saw the same.
    expect(publicationOf(listingAt(events.slice(0, 3), checked.aggregateVersion), 1)).toEqual(
      publicationOf(at, 1),
    )
  })

  it("publishes nothing for a check whose draft a newer one superseded, or whose facts moved on before it", () => {
    const { events, add } = history()
    add("ProductFactsRecorded", { facts: facts(8900), version: 1 })
    add("ListingDrafted", drafted(1, 8900))
    const first = add("ListingChecked", { draftVersion: 1, findings: [], actionId: "publish-1" })
    add("ProductFactsRecorded", { facts: facts(12900), version: 2 })
    add("ListingDrafted", drafted(2, 12900))
    const second = add("ListingChecked", { draftVersion: 2, findings: [], actionId: "publish-2" })
    expect(publicationOf(listingAt(events, first.aggregateVersion), 1)).toBeNull()
    expect(publicationOf(listingAt(events, second.aggregateVersion), 2)).toMatchObject({
      version: 2,
      price: { amountMinor: 12900 },
    })

    // Facts recorded between a draft and its check: the draft no longer says what the facts say.
    const raced = history()
    raced.add("ProductFactsRecorded", { facts: facts(8900), version: 1 })
    raced.add("ListingDrafted", drafted(1, 8900))
    raced.add("ProductFactsRecorded", { facts: facts(12900), version: 2 })
    const late = raced.add("ListingChecked", { draftVersion: 1, findings: [], actionId: "publish-1" })
    expect(publicationOf(listingAt(raced.events, late.aggregateVersion), 1)).toBeNull()
  })

  it("writes a publication's stock status as it stood when it was published, whatever flipped after", () => {
    const { events, add } = history()
    add("ProductFactsRecorded", { facts: facts(8900), version: 1 })
    add("ListingDrafted", drafted(1, 8900))
    add("ListingChecked", { draftVersion: 1, findings: [], actionId: "publish-1" })
    add("ListingMarkedOutOfStock", { sku: "lamp-1", available: 0, actionId: "stock-1", reason: "sold out" })
    const published = add("ListingPublished", { sku: "lamp-1", actionId: "publish-1", externalRef: "sf-1" })
    add("ListingBackInStock", { sku: "lamp-1", available: 3, actionId: "stock-2" })

    expect(publishedStatusOf(listingAt(events, published.aggregateVersion))).toBe("out-of-stock")
    expect(
      publishedStatusOf(listingAt(events.slice(0, published.aggregateVersion), published.aggregateVersion)),
    ).toBe("out-of-stock")
    // What the listing reads now is in stock: the flip after it writes the register itself.
    expect(listingAt(events, published.aggregateVersion).latest).toMatchObject({ inStock: true })
  })
})
