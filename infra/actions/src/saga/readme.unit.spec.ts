import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

// The README's "Sagas" section quotes a test of this folder; this keeps the quote equal to the test.
const packageDir = join(import.meta.dirname, "..", "..")
const readme = readFileSync(join(packageDir, "README.md"), "utf8")
const spec = readFileSync(join(import.meta.dirname, "sagaDecider.unit.spec.ts"), "utf8").split("\n")

const region = (name: string): string => {
  const start = spec.findIndex((line) => line.trim() === `// #region readme:${name}`)
  const end = spec.findIndex((line, index) => index > start && line.trim() === "// #endregion")
  if (start === -1 || end === -1) throw new Error(`no "// #region readme:${name}" block`)
  const lines = spec.slice(start + 1, end)
  const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length))
  return lines.map((line) => line.slice(indent)).join("\n")
}

describe("README.md, Sagas", () => {
  it("quotes the saga test it says it quotes", () => {
    const name = "saga-third-step-fails"
    const match = new RegExp(
      `<!-- snippet:${name}:start -->\\n([\\s\\S]*?)\\n<!-- snippet:${name}:end -->`,
    ).exec(readme)
    expect(match?.[1]).toBe(["```ts", region(name), "```"].join("\n"))
  })
})
