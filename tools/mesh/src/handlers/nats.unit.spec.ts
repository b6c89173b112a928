import { describe, expect, it } from "vitest"
import { instanceNames } from "./nats.ts"

describe("instanceNames", () => {
  it("names the instance only for an agent that runs on several", () => {
    const rows = [
      { agent: "customer-ops", instance: "customer-ops-1" },
      { agent: "customer-ops", instance: "customer-ops-2" },
      { agent: "procurement", instance: "procurement-1" },
      { agent: "procurement", instance: "procurement-1" },
    ]
    expect(rows.map(instanceNames(rows))).toEqual([
      "customer-ops@customer-ops-1",
      "customer-ops@customer-ops-2",
      "procurement",
      "procurement",
    ])
  })
})
