import { readFileSync } from "node:fs"
import { join } from "node:path"
import { readmeQuote } from "@mesh/stack"
import { describe, expect, it } from "vitest"

// The README's "Connectors" section quotes the payment connector's contract test; this keeps the quote true.
const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8")
const spec = readFileSync(join(import.meta.dirname, "payment.int.spec.ts"), "utf8")

describe("README.md, Connectors", () => {
  it("quotes the contract test it says it quotes", () => {
    const quoted = readmeQuote(readme, "connector-contract")
    expect(quoted).toBeDefined()
    expect(spec).toContain(quoted)
  })
})
