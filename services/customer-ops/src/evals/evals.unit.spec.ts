import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  baselineKey,
  type EvalRequest,
  EvalRunError,
  evaluateAllSkills,
  evaluateSkill,
  findRegressions,
  loadSkillBaselines,
  makeOfflineProvider,
  runEval,
} from "@mesh/models"
import { Cause, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { triageTicket } from "../skills/triageTicket.ts"
import { loadTicketsDataset, loadTriageHoldoutDataset } from "./datasets.ts"
import { customerOpsSkillEvals } from "./evaluated.ts"

const offline = makeOfflineProvider()

describe("evals of the agent's skills on the offline model", () => {
  it("never fall below evals/baselines.json (the CI regression gate)", async () => {
    const [reports, baselines] = await Effect.runPromise(
      Effect.all([
        evaluateAllSkills(customerOpsSkillEvals, offline),
        loadSkillBaselines(customerOpsSkillEvals),
      ]),
    )
    // Every baseline is still produced by some report, so a dropped skill or dataset cannot pass silently;
    // a new dataset (the triage holdout) is scored before it has a baseline.
    const keys = new Set(reports.map(baselineKey))
    expect(Object.keys(baselines).filter((key) => !keys.has(key))).toEqual([])
    const regressions = reports.flatMap((report) => findRegressions(report, baselines))
    expect(regressions).toEqual([])
  })

  it("triage reaches 90% intent accuracy and 90% recall of tickets that must be escalated", async () => {
    const report = await Effect.runPromise(
      Effect.flatMap(loadTicketsDataset(), (dataset) => evaluateSkill(triageTicket, dataset, offline)),
    )
    expect(report.cases).toBeGreaterThanOrEqual(80)
    expect(report.metrics.intentAccuracy).toBeGreaterThanOrEqual(0.9)
    expect(report.metrics.escalationRecall).toBeGreaterThanOrEqual(0.9)
    expect(report.totalCostUsd).toBe(0)
  })

  it("scores triage on a labelled holdout by the report's metrics, once the file exists", async () => {
    const folder = mkdtempSync(join(tmpdir(), "mesh-holdout-"))
    const file = join(folder, "holdout.jsonl")
    const line = (id: string, intent: string, text: string, mustEscalate = false) =>
      JSON.stringify({ id, channel: "email", text, intent, sentiment: "neutral", mustEscalate })
    writeFileSync(
      file,
      [
        line("h1", "refund", "Please refund order 77120, I ordered the wrong colour."),
        line("h2", "order_status", "Where is my parcel? Tracking has not moved in a week."),
        line("h3", "complaint", "My lawyer will hear about this: the heater caught fire.", true),
      ].join("\n"),
    )
    const dataset = await Effect.runPromise(loadTriageHoldoutDataset(true, file))
    expect(dataset?.name).toBe("holdout")
    expect(dataset?.cases.map((c) => c.id)).toEqual(["h1", "h2", "h3"])
    const report = await Effect.runPromise(evaluateSkill(triageTicket, dataset!, offline))
    expect(Object.keys(report.metrics)).toEqual([
      "intentAccuracy",
      "sentimentAccuracy",
      "escalationRecall",
      "escalationPrecision",
      "answeredRate",
    ])

    const missing = join(folder, "absent.jsonl")
    expect(await Effect.runPromise(loadTriageHoldoutDataset(false, missing))).toBeNull()
    const asked = await Effect.runPromiseExit(loadTriageHoldoutDataset(true, missing))
    expect(Exit.isFailure(asked) && Cause.squash(asked.cause)).toMatchObject({
      message: expect.stringContaining("absent.jsonl does not exist yet"),
    })
    writeFileSync(file, `${line("h1", "refund", "ok")}\nnot json\n`)
    const broken = await Effect.runPromiseExit(loadTriageHoldoutDataset(false, file))
    expect(Exit.isFailure(broken) && Cause.squash(broken.cause)).toMatchObject({
      message: expect.stringContaining("line 2 is not valid JSON"),
    })
  })
})

describe("mesh eval", () => {
  const request: EvalRequest = {
    skill: "triageTicket",
    version: "latest",
    compare: null,
    dataset: null,
    provider: "offline",
    check: false,
    writeBaselines: false,
    json: false,
    file: null,
  }
  const run = async (overrides: Partial<EvalRequest>) => {
    let out = ""
    const exit = await Effect.runPromiseExit(
      runEval({ ...request, ...overrides }, customerOpsSkillEvals, (text) => {
        out += text
      }),
    )
    const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    return { out, failure: failure instanceof EvalRunError ? failure.reason : failure }
  }

  it("prints a table of a skill's scores and passes the baseline check", async () => {
    const { out, failure } = await run({ version: 2, dataset: "tickets", check: true })
    expect(failure).toBeUndefined()
    expect(out).toContain("triageTicket@2 (prompt triage-2) on tickets: 96 cases, offline mesh-offline-1")
    expect(out).toMatch(/intentAccuracy\s+1/)
    expect(out).toContain("no regressions")
  })

  it("compares two versions side by side", async () => {
    const { out, failure } = await run({ compare: [1, 2], dataset: "tickets" })
    expect(failure).toBeUndefined()
    expect(out).toContain("triageTicket on tickets: v1 vs v2 (offline)")
    expect(out).toMatch(/escalationPrecision\s+0\.895\s+1\s+\+0\.105/)
  })

  it("refuses unknown versions and comparisons across skills", async () => {
    expect((await run({ skill: "draftReply", compare: [1, 7] })).failure).toEqual({
      _tag: "EvalBadRequest",
      message: "draftReply has no version 7",
    })
    expect((await run({ skill: "all", compare: [1, 2] })).failure).toMatchObject({ _tag: "EvalBadRequest" })
  })
})
