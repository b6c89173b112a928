import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { domains, Subjects } from "@mesh/contracts"
import { findRepoRoot, readmeQuote, sourceRegion } from "@mesh/stack"
import { describe, expect, it } from "vitest"

// One documented table of every setting: whatever the code reads, the README's table and
// .env.example name, and the other way round.

const root = findRepoRoot()
const readme = readFileSync(join(root, "README.md"), "utf8")
const envExample = readFileSync(join(root, ".env.example"), "utf8")

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (entry === "node_modules" || entry.startsWith(".")) return []
    if (statSync(path).isDirectory()) return sourceFiles(path)
    // Tests and test fixtures may set variables of their own processes; those are not settings.
    return path.endsWith(".ts") && !path.endsWith(".spec.ts") && !path.includes("/testing/") ? [path] : []
  })

// Names that look like settings but are not: the namespace "mesh"'s stream and bucket names.
const streamNames = new Set([
  ...domains.map((domain) => Subjects.streamName("mesh", domain)),
  Subjects.deadLetterStream("mesh"),
  Subjects.decisionContentBucket("mesh"),
])

const readByCode = new Set(
  ["contracts", "infra", "services", "tools"]
    .map((folder) => join(root, folder))
    .filter(existsSync)
    .flatMap(sourceFiles)
    .flatMap((file) => [...readFileSync(file, "utf8").matchAll(/\bMESH_[A-Z0-9_]+\b/g)].map((m) => m[0]))
    .filter((name) => !streamNames.has(name)),
)

const configurationTable = (() => {
  const section = readme.slice(readme.indexOf("## Configuration"))
  const table = section.slice(0, section.indexOf("\n## "))
  return new Set([...table.matchAll(/^\| `(MESH_[A-Z0-9_]+)`/gm)].map((m) => m[1]!))
})()

const inEnvExample = new Set([...envExample.matchAll(/^#?\s*(MESH_[A-Z0-9_]+)=/gm)].map((m) => m[1]!))

describe("the configuration table", () => {
  it("documents every variable the code reads", () => {
    expect(readByCode.size).toBeGreaterThan(20)
    expect([...readByCode].filter((name) => !configurationTable.has(name)).sort()).toEqual([])
  })

  it("documents no variable the code does not read", () => {
    expect([...configurationTable].filter((name) => !readByCode.has(name)).sort()).toEqual([])
  })

  it("matches .env.example", () => {
    expect([...inEnvExample].sort()).toEqual([...configurationTable].sort())
  })
})

describe("README.md, Running an agent", () => {
  it("quotes the reference agent's wiring as it is", () => {
    const source = readFileSync(join(dirname(import.meta.dirname), "testing", "taskBoardAgent.ts"), "utf8")
    expect(readmeQuote(readme, "agent-wiring")).toBe(sourceRegion(source, "agent-wiring"))
  })
})
