import {
  baselineKey,
  type EvalRequest,
  EvalRunError,
  evaluateAllSkills,
  findRegressions,
  loadSkillBaselines,
  makeOfflineProvider,
  runEval,
} from "@mesh/models"
import { Cause, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { contentOpsSkillEvals } from "./evaluated.ts"

const offline = makeOfflineProvider()

describe("evals of the agent's skills on the offline model", () => {
  it("never fall below evals/baselines.json (the CI regression gate)", async () => {
    const [reports, baselines] = await Effect.runPromise(
      Effect.all([
        evaluateAllSkills(contentOpsSkillEvals, offline),
        loadSkillBaselines(contentOpsSkillEvals),
      ]),
    )
    // Every baseline is still produced by some report, so a dropped skill or dataset cannot pass silently.
    const keys = new Set(reports.map(baselineKey))
    expect(Object.keys(baselines).filter((key) => !keys.has(key))).toEqual([])
    const regressions = reports.flatMap((report) => findRegressions(report, baselines))
    expect(regressions).toEqual([])
  })
})

describe("mesh eval", () => {
  const request: EvalRequest = {
    skill: "draftListing",
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
      runEval({ ...request, ...overrides }, contentOpsSkillEvals, (text) => {
        out += text
      }),
    )
    const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    return { out, failure: failure instanceof EvalRunError ? failure.reason : failure }
  }

  it("prints a table of draftListing's scores and passes the baseline check", async () => {
    const { out, failure } = await run({ version: 1, dataset: "listings", check: true })
    expect(failure).toBeUndefined()
    expect(out).toContain("draftListing@1 (prompt listing-1) on listings:")
    expect(out).toMatch(/factCoverage\s+1/)
    expect(out).toContain("no regressions")
  })

  it("refuses an unknown version, and a labelled file of the user's own", async () => {
    expect((await run({ compare: [1, 7] })).failure).toEqual({
      _tag: "EvalBadRequest",
      message: "draftListing has no version 7",
    })
    expect((await run({ file: "listings.jsonl" })).failure).toMatchObject({ _tag: "EvalBadRequest" })
  })
})
