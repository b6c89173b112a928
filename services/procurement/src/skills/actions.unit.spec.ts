import { supplierApi } from "@mesh/actions"
import { describe, expect, it } from "vitest"
import { procurementSkillActions } from "./actions.ts"
import { chooseSupplierVersions } from "./chooseSupplier.ts"

const skills = [...chooseSupplierVersions]

describe("the actions of the agent's skills", () => {
  it("each map to one action kind the supplier's connector executes", () => {
    const named = skills.flatMap((skill) =>
      skill.allowedActions.map((action) => [skill.id, action, procurementSkillActions[action]]),
    )
    expect(named).toEqual([["chooseSupplier@1", "request-purchase-order", "supplier.place-order"]])
    const executed = supplierApi.actions.map((action) => action.execute.kind)
    expect(Object.values(procurementSkillActions).filter((kind) => !executed.includes(kind))).toEqual([])
  })
})
