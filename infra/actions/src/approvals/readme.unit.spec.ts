import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

// The README's "The approvals API" section quotes the test agent's wiring; this keeps the quote
// equal to the code.
const packageDir = join(import.meta.dirname, "..", "..")
const readme = readFileSync(join(packageDir, "README.md"), "utf8")
const source = readFileSync(join(packageDir, "src", "testing", "actionsAgent.ts"), "utf8").split("\n")

const region = (name: string): string => {
  const start = source.findIndex((line) => line.trim() === `// #region readme:${name}`)
  const end = source.findIndex((line, index) => index > start && line.trim() === "// #endregion")
  if (start === -1 || end === -1) throw new Error(`no "// #region readme:${name}" block`)
  return source.slice(start + 1, end).join("\n")
}

describe("README.md, The approvals API", () => {
  it("quotes the test agent's wiring as it is", () => {
    const name = "actions-agent"
    const match = new RegExp(
      `<!-- snippet:${name}:start -->\\n([\\s\\S]*?)\\n<!-- snippet:${name}:end -->`,
    ).exec(readme)
    expect(match?.[1]).toBe(["```ts", region(name), "```"].join("\n"))
  })
})
