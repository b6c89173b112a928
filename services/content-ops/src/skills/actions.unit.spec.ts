import { storefrontApi } from "@mesh/actions"
import { describe, expect, it } from "vitest"
import { contentOpsSkillActions } from "./actions.ts"
import { draftListingVersions } from "./draftListing.ts"

const skills = [...draftListingVersions]

describe("the actions of the agent's skills", () => {
  it("each map to one action kind the storefront's connector executes", () => {
    const named = skills.flatMap((skill) =>
      skill.allowedActions.map((action) => [skill.id, action, contentOpsSkillActions[action]]),
    )
    // draftListing only drafts; publishing a listing is the agent's one action so far.
    expect(named).toEqual([])
    const executed = storefrontApi.actions.map((action) => action.execute.kind)
    expect(Object.values(contentOpsSkillActions)).toEqual(["storefront.publish-listing"])
    expect(Object.values(contentOpsSkillActions).filter((kind) => !executed.includes(kind))).toEqual([])
  })
})
