import { describe, expect, it } from "vitest"
import { type DayStep, fullDay, planDay } from "./plan.ts"

const ofTag = <T extends DayStep["_tag"]>(steps: ReadonlyArray<DayStep>, tag: T) =>
  steps.filter((s): s is Extract<DayStep, { _tag: T }> => s._tag === tag)

describe("planDay", () => {
  const plan = planDay(7, fullDay)

  it("plays the same day from the same seed, and another from another", () => {
    expect(planDay(7, fullDay)).toEqual(plan)
    expect(planDay(8, fullDay).steps).not.toEqual(plan.steps)
  })

  it("has the size asked for: products at opening, orders, and tickets opened", () => {
    const [opening] = plan.steps
    expect(opening?._tag).toBe("AddProducts")
    expect(plan.products).toHaveLength(fullDay.products)
    expect(new Set(plan.products.map((p) => p.sku)).size).toBe(fullDay.products)
    expect(ofTag(plan.steps, "PlaceOrder")).toHaveLength(fullDay.orders)
    const messages = ofTag(plan.steps, "CustomerMessage").map((s) => s.message)
    const firsts = messages.filter((m) => !m.redelivery && m.kind !== "follow-up")
    expect(firsts).toHaveLength(fullDay.tickets)
    expect(new Set(firsts.map((m) => m.threadId)).size).toBe(fullDay.tickets)
  })

  it("keeps time: steps in order, an order's steps after its placement, a question about it seconds later", () => {
    const times = plan.steps.map((s) => s.at)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    const placedAt = new Map(ofTag(plan.steps, "PlaceOrder").map((s) => [s.orderId, s.at]))
    for (const step of plan.steps)
      if (step._tag === "PayOrder" || step._tag === "ShipOrder" || step._tag === "ReturnOrder")
        expect(step.at).toBeGreaterThan(placedAt.get(step.orderId) as number)
    for (const { at, message } of ofTag(plan.steps, "CustomerMessage"))
      if (message.orderId !== null && message.kind !== "follow-up" && !message.redelivery)
        expect(at - (placedAt.get(message.orderId) as number)).toBeGreaterThanOrEqual(4_000)
  })

  it("asks for a refund of a return only after the return, and once per returned order", () => {
    const returnedAt = new Map(ofTag(plan.steps, "ReturnOrder").map((s) => [s.orderId, s.at]))
    const asks = ofTag(plan.steps, "CustomerMessage").filter(
      (s) => s.message.kind === "refund-with-return" && !s.message.redelivery,
    )
    expect(asks.length).toBeGreaterThan(0)
    for (const { at, message } of asks)
      expect(at).toBeGreaterThan(returnedAt.get(message.orderId ?? "") as number)
    expect(new Set(asks.map((s) => s.message.orderId)).size).toBe(asks.length)
  })

  it("mixes what customers write about, how, and in which language", () => {
    const messages = ofTag(plan.steps, "CustomerMessage").map((s) => s.message)
    const share = (p: (m: (typeof messages)[number]) => boolean) =>
      messages.filter(p).length / messages.length
    for (const kind of [
      "order-status",
      "product-question",
      "complaint",
      "manipulation",
      "sensitive",
      "follow-up",
    ])
      expect(
        share((m) => m.kind === kind),
        kind,
      ).toBeGreaterThan(0.01)
    for (const language of ["en", "de", "fr", "es"])
      expect(
        share((m) => m.language === language),
        language,
      ).toBeGreaterThan(0.02)
    expect(share((m) => m.tone === "angry")).toBeGreaterThan(0.05)
    expect(share((m) => m.redelivery)).toBeGreaterThan(0)
    // Most customers write once: a repeat contact is the exception it is in a shop.
    const perCustomer = new Map<string, number>()
    for (const m of messages.filter((m) => !m.redelivery && m.kind !== "follow-up"))
      perCustomer.set(m.customerId, (perCustomer.get(m.customerId) ?? 0) + 1)
    expect([...perCustomer.values()].filter((n) => n >= 3).length / perCustomer.size).toBeLessThan(0.1)
  })

  it("leaves some products short, so the day runs out and reorders, and one supplier late", () => {
    expect(plan.products.filter((p) => p.stock.opening <= 2).length).toBeGreaterThan(0)
    expect(
      plan.products.some((p) => p.stock.suppliers.some((s) => s.supplierId === plan.deliveries.lateSupplier)),
    ).toBe(true)
  })
})
