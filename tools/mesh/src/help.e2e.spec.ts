import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { linesOf, runMesh } from "./testing/runMesh.ts"

const commands = [
  "dev",
  "streams",
  "tail",
  "history",
  "dead-letters",
  "projections",
  "reactors",
  "trace",
  "replay",
  "export",
  "import",
  "diff",
  "sandbox",
  "fork",
  "approvals",
  "approve",
  "reject",
  "cost",
  "registers",
  "conflicts",
  "eval",
  "tickets",
  "stock",
  "purchase-orders",
]

/** Runs `mesh <args>` and returns the modules it loaded, as file paths. */
const modulesLoadedBy = async (args: ReadonlyArray<string>) => {
  const out = join(mkdtempSync(join(tmpdir(), "mesh-modules-")), "loaded.txt")
  const run = await runMesh(
    args,
    { MESH_TEST_LOADED_MODULES: out },
    {
      nodeArgs: ["--import", join(import.meta.dirname, "testing", "recordModules.ts")],
    },
  )
  return { run, modules: linesOf(readFileSync(out, "utf8")) }
}

// The handlers' packages and the indexes that would load everything beneath them.
const heavy = /\/(infra|contracts)\/|@effect\/platform-node\/dist\/index\.js|\/effect\/dist\/index\.js/

describe("mesh --help", () => {
  it("lists every command, eval included, and loads none of their packages", async () => {
    const { run, modules } = await modulesLoadedBy(["--help"])
    expect(run.code, run.stderr).toBe(0)
    for (const command of commands) expect(run.stdout).toMatch(new RegExp(`^ {2}${command} +\\S`, "m"))
    expect(modules.some((m) => m.endsWith("/tools/mesh/src/commands/eval.ts"))).toBe(true)
    expect(modules.filter((m) => heavy.test(m))).toEqual([])
  })

  it("shows a command's flags without loading its packages", async () => {
    const { run, modules } = await modulesLoadedBy(["eval", "--help"])
    expect(run.code, run.stderr).toBe(0)
    for (const flag of [
      "--version",
      "--compare",
      "--dataset",
      "--provider",
      "--check",
      "--write-baselines",
      "--json",
    ])
      expect(run.stdout).toContain(flag)
    expect(modules.filter((m) => heavy.test(m))).toEqual([])
  })

  it("loads a command's packages when it runs (the check above can see them)", async () => {
    const { modules } = await modulesLoadedBy(["approvals", "--nats-url", "nats://127.0.0.1:1"])
    expect(modules.some((m) => m.includes("/infra/actions/src/"))).toBe(true)
  })
})
