import { describe, expect, it } from "vitest"
import { Subjects } from "../subjects.ts"
import { sagaAggregateType } from "./actions.ts"

describe("sagaAggregateType", () => {
  it("puts an agent's sagas apart from its actions, under a subject that still names the agent", () => {
    expect(sagaAggregateType("customer-ops")).toBe("saga-customer-ops")
    expect(Subjects.aggregate("mesh", "actions", sagaAggregateType("customer-ops"), "S-1")).toBe(
      "mesh.actions.saga-customer-ops.S-1",
    )
    expect(Subjects.aggregateTypeWildcard("mesh", "actions", "customer-ops")).not.toContain("saga-")
  })

  it("refuses an agent that is no subject token, or too long to make one", () => {
    expect(() => sagaAggregateType("a.b")).toThrow(/agent/)
    expect(() => sagaAggregateType("a".repeat(124))).toThrow(/saga aggregate type/)
  })
})
