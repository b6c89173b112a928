import { readFileSync } from "node:fs"
import { join } from "node:path"
import { readmeQuote, sourceRegion } from "@mesh/stack"
import { describe, expect, it } from "vitest"

// The README's "The approvals API" section quotes the test agent's wiring; this keeps the quote
// equal to the code.
const packageDir = join(import.meta.dirname, "..", "..")
const readme = readFileSync(join(packageDir, "README.md"), "utf8")
const source = readFileSync(join(packageDir, "src", "testing", "actionsAgent.ts"), "utf8")

describe("README.md, The approvals API", () => {
  it("quotes the test agent's wiring as it is", () => {
    expect(readmeQuote(readme, "actions-agent")).toBe(sourceRegion(source, "actions-agent"))
  })
})
