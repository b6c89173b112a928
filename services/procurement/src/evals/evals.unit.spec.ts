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
import { procurementSkillEvals } from "./evaluated.ts"

const offline = makeOfflineProvider()

describe("evals of the agent's skills on the offline model", () => {
  it("never fall below evals/baselines.json (the CI regression gate)", async () => {
    const [reports, baselines] = await Effect.runPromise(
      Effect.all([
        evaluateAllSkills(procurementSkillEvals, offline),
        loadSkillBaselines(procurementSkillEvals),
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
      runEval({ ...request, ...overrides }, procurementSkillEvals, (text) => {
        out += text
      }),
    )
    const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    return { out, failure: failure instanceof EvalRunError ? failure.reason : failure }
  }

  it("prints a table of chooseSupplier's scores and passes the baseline check", async () => {
    const { out, failure } = await run({ version: 1, dataset: "suppliers", check: true })
    expect(failure).toBeUndefined()
    expect(out).toContain("chooseSupplier@1 (prompt supplier-1) on suppliers:")
    expect(out).toMatch(/accuracy\s+1/)
    expect(out).toMatch(/handOverRecall\s+1/)
    expect(out).toContain("no regressions")
  })

  it("refuses an unknown version", async () => {
    expect((await run({ compare: [1, 7] })).failure).toEqual({
      _tag: "EvalBadRequest",
      message: "chooseSupplier has no version 7",
    })
  })
})
