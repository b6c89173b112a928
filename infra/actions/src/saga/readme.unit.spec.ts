import { readFileSync } from "node:fs"
import { join } from "node:path"
import { readmeQuote, sourceRegion } from "@mesh/stack"
import { describe, expect, it } from "vitest"

// The README's "Sagas" section quotes a test of this folder; this keeps the quote equal to the test.
const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8")
const spec = readFileSync(join(import.meta.dirname, "sagaDecider.unit.spec.ts"), "utf8")

describe("README.md, Sagas", () => {
  it("quotes the saga test it says it quotes", () => {
    const name = "saga-third-step-fails"
    expect(readmeQuote(readme, name)).toBe(sourceRegion(spec, name))
  })
})
