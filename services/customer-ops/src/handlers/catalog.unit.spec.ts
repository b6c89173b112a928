import { meshCatalog } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import { customerOpsAgent } from "../agent.ts"
import { customerOpsCatalog } from "./catalog.ts"

describe("the customer-ops catalogue", () => {
  // A reactor reads every event of the aggregate types its event types belong to; one whose type the
  // catalogue lacks is taken for a newer writer's, warned about and counted on /status, forever.
  it("knows every event its reactors read, not only those they react to", () => {
    const read = customerOpsAgent.reactors.flatMap((reactor) => {
      const aggregates = new Set(
        reactor.eventTypes.flatMap((type) => {
          const definition = meshCatalog.get(type)
          return definition === undefined || definition.domain !== reactor.consumes.domain
            ? []
            : [`${definition.domain}.${definition.aggregateType}`]
        }),
      )
      return meshCatalog.definitions
        .filter((d) => aggregates.has(`${d.domain}.${d.aggregateType}`))
        .map((d) => d.type)
    })
    expect(read).toContain("FrequentQuestionFound")
    expect(read.filter((type) => customerOpsCatalog.get(type) === undefined)).toEqual([])
  })
})
