import { describe, expect, it } from "vitest"
import { draftArticle } from "./draftArticle.ts"
import { draftListing } from "./draftListing.ts"

describe("content-ops skills' workload", () => {
  it("is background: nobody waits on a listing or an article draft", () => {
    expect([draftListing.workload, draftArticle.workload]).toEqual(["background", "background"])
  })
})
