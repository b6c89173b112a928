import type { ProductFacts } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import { draftListingOffline } from "../skills/offline/listing.ts"
import { checkListing } from "./factCheck.ts"

const lamp: ProductFacts = {
  tenantId: "shop",
  sku: "LAMP-1",
  productName: "Arc desk lamp",
  brand: "Lumo",
  category: "Lighting",
  attributes: [
    { name: "Material", value: "Brushed brass" },
    { name: "Height", value: "45 cm" },
    { name: "Bulb", value: "E27, up to 60 W" },
  ],
  highlights: ["Adjustable arm", "Dimmable"],
  price: { amountMinor: 8900, currency: "EUR" },
}

const draft = (
  description: string,
  extra: Partial<{ title: string; bullets: string[]; tags: string[] }> = {},
) => ({
  title: extra.title ?? "Lumo Arc desk lamp",
  description,
  bullets: extra.bullets ?? [],
  tags: extra.tags ?? [],
})

describe("the listing fact check", () => {
  it("passes the offline draft, which says only what the facts say", () => {
    const { sku: _sku, tenantId: _tenant, ...input } = lamp
    expect(checkListing(lamp, draftListingOffline({ sku: lamp.sku, ...input }))).toEqual([])
  })

  it("names an invented material, measure or claim", () => {
    const findings = checkListing(
      lamp,
      draft("A brass lamp with a solid oak base, 50 cm tall, eco-friendly and dimmable.", {
        tags: ["handmade"],
      }),
    )
    expect(findings.map((f) => f.code).sort()).toEqual([
      "invented-material",
      "invented-measure",
      "unsupported-claim",
      "unsupported-claim",
    ])
    expect(findings.map((f) => f.detail).join(" ")).toMatch(/oak.*50|50.*oak/s)
  })

  it("accepts what the facts hold, whatever the case, accents or word order", () => {
    expect(
      checkListing(lamp, draft("Brushed BRASS, 45 cm high, takes E27 bulbs up to 60 W. Dimmable; 89 EUR.")),
    ).toEqual([])
  })

  it("does not mistake a word inside another for a material", () => {
    expect(checkListing(lamp, draft("Download the manual; soak up the light."))).toEqual([])
  })

  it("reads a denied attribute as no fact, and a number in another unit as a measure the facts do not hold", () => {
    const mug = { ...lamp, attributes: [...lamp.attributes, { name: "Waterproof", value: "No" }] }
    expect(checkListing(mug, draft("A waterproof lamp.")).map((f) => f.code)).toEqual(["unsupported-claim"])
    expect(checkListing(lamp, draft("It stands 45 inches tall.")).map((f) => f.code)).toEqual([
      "invented-measure",
    ])
    expect(checkListing(lamp, draft("It stands 45 cm tall."))).toEqual([])
  })

  it("refuses an empty draft", () => {
    expect(checkListing(lamp, draft(""))).toMatchObject([{ code: "empty" }])
  })
})
