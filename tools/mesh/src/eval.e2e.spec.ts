import { describe, expect, it } from "vitest"
import { linesOf, runMesh } from "./testing/runMesh.ts"

describe("mesh eval", () => {
  it("scores a skill on a dataset and passes the baseline check", async () => {
    const run = await runMesh(["eval", "triageTicket", "--dataset", "tickets", "--check"])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain(
      "triageTicket@2 (prompt triage-2) on tickets: 96 cases, offline mesh-offline-1",
    )
    expect(run.stdout).toContain("no regressions against evals/baselines.json")
  })

  it("compares two versions side by side, written as before: --compare v1 v2", async () => {
    const run = await runMesh(["eval", "triageTicket", "--compare", "v1", "v2", "--dataset", "tickets"])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain("triageTicket on tickets: v1 vs v2 (offline)")
    expect(run.stdout).toMatch(/escalationPrecision\s+0\.895\s+1\s+\+0\.105/)
  })

  it("exits 2 on an unknown skill, version or comparison, naming it", async () => {
    const unknownSkill = await runMesh(["eval", "writePoem"])
    expect(unknownSkill.code).toBe(2)
    expect(unknownSkill.stderr).toContain('Invalid value for argument <skill>: "writePoem"')
    for (const [args, message] of [
      [["eval", "draftReply", "--compare", "1", "7"], "draftReply has no version 7"],
      [["eval", "triageTicket", "--compare", "1"], "--compare needs two versions"],
    ] as const) {
      const run = await runMesh(args)
      expect(run.code, run.stderr).toBe(2)
      expect(linesOf(run.stderr)).toEqual([expect.stringContaining(message)])
    }
    const badVersion = await runMesh(["eval", "triageTicket", "--version", "latest-ish"])
    expect(badVersion.code).toBe(2)
    expect(badVersion.stderr).toContain("--version takes a version number")
  })
})
