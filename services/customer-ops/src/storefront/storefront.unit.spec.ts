import { createHmac } from "node:crypto"
import { Redacted, Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { orderDecider } from "../order/order.ts"
import { tenantOfSignature } from "./signature.ts"
import { orderSnapshotOf, StorefrontEvent, storefrontRequestIdOf, syncCommandOf } from "./storefrontOrder.ts"

const event = {
  id: "evt_7",
  seq: 7,
  topic: "orders/shipped",
  occurredAt: "2026-11-29T09:00:00+01:00",
  order: {
    id: "O-1042",
    customerId: "c-17",
    email: "ana@example.com",
    status: "shipped",
    lines: [{ sku: "LAMP-1", name: "Desk lamp", quantity: 2, unitPriceMinor: 2_495 }],
    currency: "EUR",
    totalMinor: 4_990,
    placedAt: "2026-11-28T11:00:00+01:00",
    paidAt: "2026-11-28T10:05:00Z",
    shipment: { carrier: "DHL", trackingNumber: "JD0146000038", expectedDelivery: "2026-12-04T00:00:00Z" },
    cancelledAt: null,
    cancelReason: null,
    returnedAt: null,
    returnedLines: [],
    version: 3,
    updatedAt: "2026-11-29T09:00:00.123456+01:00",
  },
}

const decode = Schema.decodeUnknownResult(StorefrontEvent)

describe("the storefront's order events", () => {
  it("decode as they travel and become the decider's snapshot, in UTC and money", () => {
    const decoded = Result.getOrThrow(decode(event))
    expect(orderSnapshotOf(decoded.order)).toMatchObject({
      lines: [
        { sku: "LAMP-1", name: "Desk lamp", quantity: 2, unitPrice: { amountMinor: 2_495, currency: "EUR" } },
      ],
      total: { amountMinor: 4_990, currency: "EUR" },
      placedAt: "2026-11-28T10:00:00.000Z",
      paidAt: "2026-11-28T10:05:00.000Z",
      shipment: { carrier: "DHL", trackingNumber: "JD0146000038", expectedDelivery: "2026-12-04" },
      updatedAt: "2026-11-29T08:00:00.123Z",
    })
  })

  it("refuse a line whose SKU could not name a tenant's stock, naming it", () => {
    const sku = "S".repeat(64)
    const [line] = event.order.lines
    const decoded = decode({ ...event, order: { ...event.order, lines: [{ ...line, sku }] } })
    expect(Result.isFailure(decoded) && decoded.failure.message).toContain(
      `SKU "${sku}" must be 1-63 characters of letters, digits, '_' or '-'`,
    )
  })

  it("refuse an order id that cannot be a subject token, naming it", () => {
    const decoded = decode({ ...event, order: { ...event.order, id: "O.1042" } })
    expect(Result.isFailure(decoded) && decoded.failure.message).toContain(
      `order id "O.1042" must be 1-63 characters of letters, digits, '_' or '-'`,
    )
  })

  it("refuse an order id longer than a tenant's own id may be, naming it, and take one of 63 characters", () => {
    const tooLong = "L".repeat(64)
    const decoded = decode({ ...event, order: { ...event.order, id: tooLong } })
    expect(Result.isFailure(decoded) && decoded.failure.message).toContain(
      `order id "${tooLong}" must be 1-63 characters of letters, digits, '_' or '-'`,
    )
    const longest = Result.getOrThrow(decode({ ...event, order: { ...event.order, id: "L".repeat(63) } }))
    expect(syncCommandOf("shop", longest).aggregateId).toBe(`shop_${"L".repeat(63)}`)
  })

  it("of two shops that both have order 1001 sync two orders, each placed in its own tenant", () => {
    const decoded = Result.getOrThrow(decode({ ...event, order: { ...event.order, id: "1001" } }))
    const ours = syncCommandOf("shop", decoded)
    const theirs = syncCommandOf("corner", decoded)
    expect([ours.aggregateId, theirs.aggregateId]).toEqual(["shop_1001", "corner_1001"])
    for (const [sync, tenantId] of [
      [ours, "shop"],
      [theirs, "corner"],
    ] as const) {
      const [placed] = orderDecider.decide(sync.command, orderDecider.initialState())
      expect(placed).toMatchObject({ type: "OrderPlaced", payload: { tenantId, orderId: "1001" } })
    }
  })

  it("refuse a timestamp without its offset, and an unknown status", () => {
    expect(
      Result.isFailure(decode({ ...event, order: { ...event.order, paidAt: "2026-11-28 10:05" } })),
    ).toBe(true)
    expect(Result.isFailure(decode({ ...event, order: { ...event.order, status: "lost" } }))).toBe(true)
  })

  it("are one request per tenant and event id", () => {
    expect(storefrontRequestIdOf("shop", "evt_7")).toBe(storefrontRequestIdOf("shop", "evt_7"))
    expect(storefrontRequestIdOf("shop", "evt_7")).not.toBe(storefrontRequestIdOf("other-shop", "evt_7"))
    expect(storefrontRequestIdOf("shop", "evt_7")).toMatch(/^sf-[0-9a-f]{32}$/)
  })
})

describe("webhook signatures", () => {
  const secrets = [
    { tenantId: "shop", secret: Redacted.make("shop-secret-0123456789") },
    { tenantId: "other-shop", secret: Redacted.make("other-secret-0123456789") },
  ]
  const body = new TextEncoder().encode(JSON.stringify(event))
  const sign = (secret: string, bytes: Uint8Array = body) =>
    `sha256=${createHmac("sha256", secret).update(bytes).digest("hex")}`

  it("name the tenant whose secret signed the raw body", () => {
    expect(tenantOfSignature(secrets, body, sign("shop-secret-0123456789"))).toBe("shop")
    expect(tenantOfSignature(secrets, body, sign("other-secret-0123456789"))).toBe("other-shop")
    expect(
      tenantOfSignature(
        secrets,
        body,
        sign("shop-secret-0123456789").toUpperCase().replace("SHA256", "sha256"),
      ),
    ).toBe("shop")
  })

  it("name no tenant for a missing, malformed or wrong signature, or a changed body", () => {
    const signed = sign("shop-secret-0123456789")
    expect(tenantOfSignature(secrets, body, undefined)).toBeUndefined()
    expect(tenantOfSignature(secrets, body, "")).toBeUndefined()
    expect(tenantOfSignature(secrets, body, signed.slice(7))).toBeUndefined()
    expect(tenantOfSignature(secrets, body, `${signed}00`)).toBeUndefined()
    expect(tenantOfSignature(secrets, body, sign("someone-elses-secret-0123"))).toBeUndefined()
    expect(
      tenantOfSignature(secrets, new TextEncoder().encode(`${JSON.stringify(event)} `), signed),
    ).toBeUndefined()
    expect(tenantOfSignature([], body, signed)).toBeUndefined()
  })
})
