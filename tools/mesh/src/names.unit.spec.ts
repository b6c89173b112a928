import { domains } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import { evaluatedSkillNames, versionOf } from "./commands/eval.ts"
import { domainNames } from "./commands/inspect.ts"
import { evaluatedSkills } from "./handlers/eval.ts"

// The command definitions spell these lists out so that `mesh --help` need not load the packages
// that own them; these tests keep the copies equal to the originals.
describe("the names the mesh command line offers", () => {
  it("are the domains of @mesh/contracts", () => {
    expect([...domainNames]).toEqual([...domains])
  })

  it("are the evaluated skills of the agents", () => {
    expect([...evaluatedSkillNames]).toEqual(evaluatedSkills.map((skill) => skill.name))
  })

  it("read a skill version as 2 or v2", () => {
    expect([versionOf("2"), versionOf("v12"), versionOf("two"), versionOf("v")]).toEqual([
      2,
      12,
      undefined,
      undefined,
    ])
  })
})
