import { Cause, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { makeOfflineProvider } from "../offline/provider.ts"
import {
  catalogSkillEvals,
  type EvalRequest,
  EvalRunError,
  evaluateAllSkills,
  loadSkillBaselines,
  runEval,
} from "./cli.ts"
import { baselineKey, compareVersions, findRegressions, percentile } from "./evaluate.ts"

const offline = makeOfflineProvider()

describe("evals of the catalogue's skills on the offline model", () => {
  it("never fall below evals/baselines.json (the CI regression gate)", async () => {
    const [reports, baselines] = await Effect.runPromise(
      Effect.all([evaluateAllSkills(catalogSkillEvals, offline), loadSkillBaselines(catalogSkillEvals)]),
    )
    // Every baseline is still produced by some report, so a dropped skill or dataset cannot pass silently.
    const keys = new Set(reports.map(baselineKey))
    expect(Object.keys(baselines).filter((key) => !keys.has(key))).toEqual([])
    const regressions = reports.flatMap((report) => findRegressions(report, baselines))
    expect(regressions).toEqual([])
  })

  it("flags a metric below its baseline", () => {
    const report = {
      skill: "triageTicket",
      skillVersion: 2,
      promptVersion: "triage-2",
      dataset: "tickets",
      provider: "offline",
      model: "m",
      cases: 1,
      metrics: { intentAccuracy: 0.85, escalationRecall: 1 },
      latencyP50Ms: 0,
      latencyP95Ms: 0,
      totalCostUsd: 0,
      fellBack: 0,
      needsHuman: 0,
    }
    expect(
      findRegressions(report, { "triageTicket@2/tickets": { intentAccuracy: 0.9, escalationRecall: 1 } }),
    ).toEqual([{ key: "triageTicket@2/tickets", metric: "intentAccuracy", baseline: 0.9, actual: 0.85 }])
    expect(
      compareVersions(report, { ...report, metrics: { intentAccuracy: 0.9, escalationRecall: 1 } })[0],
    ).toEqual({
      metric: "intentAccuracy",
      a: 0.85,
      b: 0.9,
      delta: 0.05,
    })
  })

  it("takes nearest-rank percentiles", () => {
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3)
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBe(10)
    expect(percentile([], 0.5)).toBe(0)
  })
})

describe("mesh eval", () => {
  const request: EvalRequest = {
    skill: "chooseSupplier",
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
      runEval({ ...request, ...overrides }, catalogSkillEvals, (text) => {
        out += text
      }),
    )
    const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    return { out, failure: failure instanceof EvalRunError ? failure.reason : failure }
  }

  it("prints a table of a skill's scores and passes the baseline check", async () => {
    const { out, failure } = await run({ version: 1, dataset: "suppliers", check: true })
    expect(failure).toBeUndefined()
    expect(out).toContain("chooseSupplier@1 (prompt supplier-1) on suppliers:")
    expect(out).toMatch(/accuracy\s+1/)
    expect(out).toContain("no regressions")
  })

  it("refuses unknown versions, unknown skills, comparisons across skills and a file it cannot score", async () => {
    expect((await run({ skill: "draftListing", compare: [1, 7] })).failure).toEqual({
      _tag: "EvalBadRequest",
      message: "draftListing has no version 7",
    })
    expect((await run({ skill: "all", compare: [1, 2] })).failure).toMatchObject({ _tag: "EvalBadRequest" })
    expect((await run({ skill: "triageTicket" })).failure).toEqual({
      _tag: "EvalBadRequest",
      message: "no skill named triageTicket has evals",
    })
    expect((await run({ file: "listings.jsonl" })).failure).toMatchObject({ _tag: "EvalBadRequest" })
  })
})
