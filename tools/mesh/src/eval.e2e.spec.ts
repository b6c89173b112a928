import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { linesOf, runMesh } from "./testing/runMesh.ts"

// A support lead's labelled file: good rows, then a blank line (3), a line that is not JSON (5), a row with an
// intent the policy does not have (6) and a repeated id (7).
const good = (id: string, intent: string, text: string, more: Record<string, unknown> = {}) =>
  JSON.stringify({ id, channel: "email", text, intent, sentiment: "neutral", mustEscalate: false, ...more })
const labelledLines = [
  good("t1", "refund", "I'd like to return the jacket and get my money back please.", { lang: "en" }),
  good("t2", "order_status", "Where is my parcel? The tracking has not moved for a week.", { lang: "en" }),
  "",
  good("t3", "refund", "The lamp sparks when plugged in and could start a fire. I want a full refund.", {
    sentiment: "negative",
    mustEscalate: true,
    reasons: ["safety"],
  }),
  "{ this is not json",
  good("t4", "shipping", "When will it ship?"),
  good("t1", "refund", "Same id again."),
  good("t5", "product_question", "Is the blender's jug dishwasher safe?", { subject: "Blender jug" }),
]
const labelledFile = join(mkdtempSync(join(tmpdir(), "mesh-eval-file-")), "tickets.jsonl")
writeFileSync(labelledFile, `${labelledLines.join("\n")}\n`)

describe("mesh eval", () => {
  it("scores a skill on a dataset and passes the baseline check", async () => {
    const run = await runMesh(["eval", "triageTicket", "--version", "2", "--dataset", "tickets", "--check"])
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

  it("scores triage on a labelled file, naming and skipping the lines that do not parse", async () => {
    const run = await runMesh(["eval", "triageTicket", "--file", labelledFile])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(
      /^triageTicket@\d+ \(prompt triage-\d+\) on .*tickets\.jsonl: 4 rows, offline /,
    )
    expect(run.stdout).toContain("skipped 3 lines that are not labelled messages:")
    expect(run.stdout).toContain("  line 5: is not valid JSON")
    expect(run.stdout).toMatch(/ {2}line 6: .*intent/)
    expect(run.stdout).toContain('  line 7: repeats the id "t1"')
    expect(run.stdout).not.toMatch(/line 3:/)
    expect(run.stdout).toContain("4 rows: ")
    expect(run.stdout).toMatch(/intent accuracy\s+\d\.\d{3}\s+\[\d\.\d{3}, \d\.\d{3}\]\s+\d\/4/)
    expect(run.stdout).toContain("intent accuracy by language")
    expect(run.stdout).toMatch(/\nunknown\s+/)
    expect(run.stdout).toMatch(/escalation recall by reason\n.*\n.*\nsafety\s+/)
    expect(run.stdout).toContain("intent confusion")
  })

  it("prints the report and every skipped line as JSON with --json", async () => {
    const run = await runMesh(["eval", "triageTicket", "--file", labelledFile, "--json", "--version", "2"])
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.evaluation).toMatchObject({ skill: "triageTicket", skillVersion: 2, cases: 4 })
    expect(result.report.counts.rows).toBe(4)
    expect(result.report.intentAccuracy).toMatchObject({ n: 4 })
    expect(result.rejected.map((r: { line: number }) => r.line)).toEqual([5, 6, 7])
  })

  it("exits 2 naming the file when it is missing or has no valid row, and refuses --file for other skills", async () => {
    const missing = join(tmpdir(), "mesh-eval-no-such-file.jsonl")
    const run = await runMesh(["eval", "triageTicket", "--file", missing])
    expect(run.code).toBe(2)
    expect(linesOf(run.stderr)).toEqual([expect.stringContaining(`${missing}: no such file`)])
    const empty = join(mkdtempSync(join(tmpdir(), "mesh-eval-file-")), "junk.jsonl")
    writeFileSync(empty, "not json\n\n")
    const junk = await runMesh(["eval", "triageTicket", "--file", empty])
    expect(junk.code).toBe(2)
    expect(junk.stderr).toContain(
      `${empty}: has no valid labelled row (1 line rejected, the first: line 1 is not valid JSON)`,
    )
    const other = await runMesh(["eval", "draftReply", "--file", labelledFile])
    expect(other.code).toBe(2)
    expect(other.stderr).toContain("--file scores triageTicket only, not draftReply")
  })
})
