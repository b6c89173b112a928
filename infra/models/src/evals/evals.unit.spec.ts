import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { makeOfflineProvider } from "../offline/provider.ts"
import {
  type SampleMessage,
  type SampleSorting,
  SampleTopic,
  sortMessage,
  sortMessageV1,
} from "../testing/sampleSkill.ts"
import {
  alwaysDataset,
  type EvalRequest,
  EvalRunError,
  evaluateAllSkills,
  evaluatedSkill,
  loadSkillBaselines,
  runEval,
} from "./cli.ts"
import { type EvalDataset, type EvalRow, loadEvalDataset, ratio } from "./datasets.ts"
import { baselineKey, compareVersions, findRegressions, percentile } from "./evaluate.ts"

// The eval machinery on the sample skill: an agent's own skills, datasets and baselines are tested in its package.

const offline = makeOfflineProvider()

const scoreTopics = (rows: ReadonlyArray<EvalRow<SampleTopic, SampleSorting>>) => ({
  accuracy: ratio(rows.filter((r) => r.output?.topic === r.expected).length, rows.length),
})

// The offline sample skill reads keywords only: "never came" says nothing it knows of a delivery.
const messages: EvalDataset<SampleMessage, SampleSorting, SampleTopic> = {
  name: "messages",
  skill: "sortMessage",
  cases: [
    { id: "m1", input: { subject: "Refund", body: "Please refund my order." }, expected: "refund" },
    { id: "m2", input: { subject: "Parcel", body: "Where is my parcel?" }, expected: "delivery" },
    { id: "m3", input: { subject: "Hello", body: "Do you sell gift cards?" }, expected: "other" },
    { id: "m4", input: { subject: "Order", body: "My order never came." }, expected: "delivery" },
  ],
  score: scoreTopics,
}

const folder = mkdtempSync(join(tmpdir(), "mesh-sample-evals-"))
const baselines = join(folder, "baselines.json")
writeFileSync(baselines, "{}\n")

const sampleEvals = [
  evaluatedSkill({
    versions: [sortMessageV1, sortMessage],
    datasets: [alwaysDataset("messages", Effect.succeed(messages))],
    baselines,
  }),
]

describe("evals on the offline model", () => {
  it("score every version of every skill on its datasets", async () => {
    const reports = await Effect.runPromise(evaluateAllSkills(sampleEvals, offline))
    expect(reports.map((r) => [baselineKey(r), r.cases, r.metrics])).toEqual([
      ["sortMessage@1/messages", 4, { accuracy: 0.75 }],
      ["sortMessage@2/messages", 4, { accuracy: 0.75 }],
    ])
    expect(reports[0]).toMatchObject({ provider: "offline", totalCostUsd: 0, fellBack: 0, needsHuman: 0 })
  })

  it("load a labelled dataset file by the skill's input schema, named after the file", async () => {
    const file = join(folder, "topics.json")
    writeFileSync(file, JSON.stringify({ skill: "sortMessage", cases: messages.cases }))
    const load = (path: string) =>
      loadEvalDataset(path, "sortMessage", sortMessage.input, SampleTopic, scoreTopics)
    const loaded = await Effect.runPromise(load(file))
    expect(loaded).toMatchObject({ name: "topics", skill: "sortMessage", cases: messages.cases })

    writeFileSync(
      file,
      JSON.stringify({ skill: "sortMessage", cases: [{ ...messages.cases[0], expected: "x" }] }),
    )
    const wrong = await Effect.runPromise(Effect.flip(load(file)))
    expect(wrong).toMatchObject({ _tag: "EvalDatasetError", file: "topics.json" })
    const missing = await Effect.runPromise(Effect.flip(load(join(folder, "absent.json"))))
    expect(missing.message).toContain("cannot read")
  })

  it("flags a metric below its baseline", () => {
    const report = {
      skill: "sortMessage",
      skillVersion: 2,
      promptVersion: "sort-2",
      dataset: "messages",
      provider: "offline",
      model: "m",
      cases: 1,
      metrics: { accuracy: 0.85, urgentRecall: 1 },
      latencyP50Ms: 0,
      latencyP95Ms: 0,
      totalCostUsd: 0,
      fellBack: 0,
      needsHuman: 0,
    }
    expect(findRegressions(report, { "sortMessage@2/messages": { accuracy: 0.9, urgentRecall: 1 } })).toEqual(
      [{ key: "sortMessage@2/messages", metric: "accuracy", baseline: 0.9, actual: 0.85 }],
    )
    expect(compareVersions(report, { ...report, metrics: { accuracy: 0.9, urgentRecall: 1 } })[0]).toEqual({
      metric: "accuracy",
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
    skill: "sortMessage",
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
      runEval({ ...request, ...overrides }, sampleEvals, (text) => {
        out += text
      }),
    )
    const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    return { out, failure: failure instanceof EvalRunError ? failure.reason : failure }
  }

  it("prints a table of a skill's scores, writes them as its baselines and checks against them", async () => {
    const written = await run({ version: 2, writeBaselines: true })
    expect(written.failure).toBeUndefined()
    expect(written.out).toContain(
      "sortMessage@2 (prompt sort-2) on messages: 4 cases, offline mesh-offline-1",
    )
    expect(written.out).toMatch(/accuracy\s+0\.750/)
    expect(written.out).toContain("wrote 1 baselines")
    const accepted = JSON.parse(readFileSync(baselines, "utf8"))
    expect(accepted).toEqual({ "sortMessage@2/messages": { accuracy: 0.75 } })
    expect(await Effect.runPromise(loadSkillBaselines(sampleEvals))).toEqual(accepted)

    const checked = await run({ version: 2, check: true })
    expect(checked.failure).toBeUndefined()
    expect(checked.out).toContain("no regressions against evals/baselines.json")

    writeFileSync(baselines, JSON.stringify({ "sortMessage@2/messages": { accuracy: 0.8 } }))
    const regressed = await run({ version: 2, check: true })
    expect(regressed.failure).toEqual({ _tag: "EvalRegressed", regressions: 1 })
    expect(regressed.out).toContain("REGRESSION sortMessage@2/messages accuracy: 0.75 < baseline 0.8")
  })

  it("compares two versions side by side", async () => {
    const { out, failure } = await run({ compare: [1, 2] })
    expect(failure).toBeUndefined()
    expect(out).toContain("sortMessage on messages: v1 vs v2 (offline)")
    expect(out).toMatch(/accuracy\s+0\.750\s+0\.750\s+0/)
  })

  it("refuses unknown versions, unknown skills and a file it cannot score", async () => {
    expect((await run({ compare: [1, 7] })).failure).toEqual({
      _tag: "EvalBadRequest",
      message: "sortMessage has no version 7",
    })
    expect((await run({ skill: "triageTicket" })).failure).toEqual({
      _tag: "EvalBadRequest",
      message: "no skill named triageTicket has evals",
    })
    expect((await run({ file: "messages.jsonl" })).failure).toMatchObject({ _tag: "EvalBadRequest" })
  })
})
