import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import {
  extractSnippet,
  generatedSections,
  readmePath,
  readSection,
  regenerateCommand,
  renderCatalogue,
  writeSection,
} from "../scripts/catalogue.ts"
import { meshEventDefinitions } from "./index.ts"

const readme = readFileSync(readmePath, "utf8")
const outOfDate = `contracts/README.md is out of date: run \`${regenerateCommand}\``

describe("contracts/README.md", () => {
  it("contains exactly the generated catalogue between its markers", () => {
    expect(readSection(readme, "catalogue"), outOfDate).toBe(renderCatalogue())
  })

  it.each([...generatedSections().keys()].filter((name) => name !== "catalogue"))(
    "contains exactly the generated %s between its markers",
    (name) => {
      expect(readSection(readme, name), outOfDate).toBe(generatedSections().get(name))
    },
  )
})

describe("the catalogue generator", () => {
  it("renders one row per event with its subject pattern, producer, consumers and version", () => {
    const rows = renderCatalogue()
      .split("\n")
      .map((line) => line.split(" | ").map((cell) => cell.replace(/^\|/, "").replace(/\|$/, "").trim()))
    expect(rows[0]).toStrictEqual(["Event", "Subject", "Producer", "Consumers", "Version", "Summary"])
    expect(rows).toHaveLength(meshEventDefinitions.length + 2)
    expect(rows).toContainEqual([
      "`TicketOpened`",
      "`mesh.customer.ticket.<id>`",
      "customer-ops",
      "customer-ops",
      "2",
      "A customer opened a support ticket.",
    ])
    expect(rows).toContainEqual([
      "`ReplySent`",
      "`mesh.customer.ticket.<id>`",
      "customer-ops",
      "—",
      "1",
      "A drafted reply was sent to the customer.",
    ])
  })

  it("pads every column to one width, as biome formats markdown tables", () => {
    const lengths = new Set(
      renderCatalogue()
        .split("\n")
        .map((line) => [...line].length),
    )
    expect(lengths.size).toBe(1)
  })

  it("rewrites only the content between a section's markers", () => {
    const before = "# T\n<!-- catalogue:start -->\nold\n<!-- catalogue:end -->\ntail\n"
    const after = writeSection(before, "catalogue", "new")
    expect(after).toBe("# T\n<!-- catalogue:start -->\nnew\n<!-- catalogue:end -->\ntail\n")
    expect(readSection(after, "catalogue")).toBe("new")
    expect(() => writeSection("# T\n", "catalogue", "new")).toThrow("<!-- catalogue:start -->")
  })

  it("extracts a dedented region as a TypeScript block", () => {
    const source =
      "it('x', () => {\n    // #region readme:demo\n    const a = 1\n      + 2\n    // #endregion\n})\n"
    expect(extractSnippet(source, "demo")).toBe("```ts\nconst a = 1\n  + 2\n```")
    expect(() => extractSnippet(source, "missing")).toThrow("readme:missing")
  })
})
