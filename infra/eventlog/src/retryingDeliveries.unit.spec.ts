import { describe, expect, it } from "vitest"
import { RetryingDeliveries, retryingGraceMs } from "./retryingDeliveries.ts"

const at = (ms: number) => new Date(Date.parse("2026-12-06T03:00:00.000Z") + ms)

describe("RetryingDeliveries", () => {
  it("keeps a delivery from its first transient failure until it is settled, oldest first", () => {
    const retrying = new RetryingDeliveries()
    retrying.failed({ stream: "NS_CUSTOMER", sequence: 7, deliveries: 1, reason: "store away" }, at(0), 100)
    retrying.failed(
      { stream: "NS_CUSTOMER", sequence: 3, deliveries: 1, reason: "read model behind" },
      at(50),
      100,
    )
    retrying.failed(
      { stream: "NS_CUSTOMER", sequence: 7, deliveries: 2, reason: "store still away" },
      at(200),
      200,
    )
    expect(retrying.summary(at(300))).toEqual({
      count: 2,
      oldest: [
        // Since its first failure, with its latest delivery count and reason.
        {
          stream: "NS_CUSTOMER",
          sequence: 7,
          deliveries: 2,
          since: at(0).toISOString(),
          reason: "store still away",
        },
        {
          stream: "NS_CUSTOMER",
          sequence: 3,
          deliveries: 1,
          since: at(50).toISOString(),
          reason: "read model behind",
        },
      ],
    })
    expect(retrying.summary(at(300), 1).oldest.map((d) => d.sequence)).toEqual([7])
    retrying.settled("NS_CUSTOMER", 7)
    expect(retrying.summary(at(300)).oldest.map((d) => d.sequence)).toEqual([3])
  })

  it("forgets a delivery not tried here again by its next try and the grace: another replica took it", () => {
    const retrying = new RetryingDeliveries()
    retrying.failed({ stream: "NS_CUSTOMER", sequence: 9, deliveries: 4, reason: "store away" }, at(0), 1_000)
    expect(retrying.summary(at(1_000 + retryingGraceMs)).count).toBe(1)
    expect(retrying.summary(at(1_001 + retryingGraceMs))).toEqual({ count: 0, oldest: [] })
  })
})
