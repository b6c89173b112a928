import { readFile, writeFile } from "node:fs/promises"
import { basename } from "node:path"
import { Effect, Result, Schema } from "effect"
import type { ModelProviderShape } from "../modelProvider.ts"
import { runSkillWith, type Skill, validateSkillOutput } from "../skills/skill.ts"
import { type EvalDataset, EvalDatasetError, type EvalRow } from "./datasets.ts"
import { renderTable } from "./table.ts"

export { renderTable } from "./table.ts"

/** The scores of one skill version on one dataset with one provider. */
export const EvalReport = Schema.Struct({
  skill: Schema.String,
  skillVersion: Schema.Int,
  promptVersion: Schema.String,
  dataset: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  cases: Schema.Int,
  /** Quality metrics, each in 0..1, higher is better. */
  metrics: Schema.Record(Schema.String, Schema.Finite),
  latencyP50Ms: Schema.Finite,
  latencyP95Ms: Schema.Finite,
  totalCostUsd: Schema.Finite,
  fellBack: Schema.Int,
  needsHuman: Schema.Int,
})
/** The scores of one skill version on one dataset. */
export type EvalReport = typeof EvalReport.Type

/** The value below which `fraction` of the sorted values lie (nearest rank). */
export const percentile = (values: ReadonlyArray<number>, fraction: number): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))
  return sorted[rank]!
}

/** How a run of a skill over many cases went, apart from its answers. */
export interface CasesRun {
  readonly cases: number
  readonly latencies: ReadonlyArray<number>
  readonly costUsd: number
  readonly models: ReadonlySet<string>
  readonly fellBack: number
  readonly needsHuman: number
}

// An answer that abstained is not acted on (the run goes to a human), but an eval scores it as what it is: an
// abstention, with the model's best guess beside it, not a missing answer.
const abstainedAnswer = <I, O>(skill: Skill<I, O>, input: I, rawOutput: string | null): O | null => {
  if (rawOutput === null || skill.abstention === undefined) return null
  const answer = validateSkillOutput(skill, input, rawOutput)
  return Result.isSuccess(answer) && skill.abstention(answer.success) !== null ? answer.success : null
}

/**
 * Runs a skill on each case in turn with the given provider and hands every answer (null: a human must) to
 * `onAnswer`; it keeps only latencies, cost and outcome counts, so the caller decides what of the answers to hold.
 */
export const runSkillOnCases = Effect.fn("Eval.runSkillOnCases")(function* <I, O, C>(
  skill: Skill<I, O>,
  cases: ReadonlyArray<C>,
  inputOf: (testCase: C) => I,
  provider: ModelProviderShape,
  onAnswer: (testCase: C, output: O | null) => void,
) {
  const latencies: Array<number> = []
  const models = new Set<string>()
  let costUsd = 0
  let fellBack = 0
  let needsHuman = 0
  for (const testCase of cases) {
    const input = inputOf(testCase)
    const run = yield* runSkillWith(provider, skill, input)
    onAnswer(testCase, run.output ?? abstainedAnswer(skill, input, run.invocation.rawOutput))
    latencies.push(run.invocation.latencyMs)
    costUsd += run.invocation.costUsd
    if (run.invocation.model !== null) models.add(run.invocation.model)
    if (run.invocation.outcome === "fell-back") fellBack++
    if (run.invocation.outcome === "needs-human") needsHuman++
  }
  const done: CasesRun = { cases: cases.length, latencies, costUsd, models, fellBack, needsHuman }
  return done
})

/** The report of a run of a skill version over a named set of cases, with the metrics it scored. */
export const reportOfRun = (
  skill: Pick<Skill<unknown, unknown>, "name" | "version" | "promptVersion">,
  dataset: string,
  provider: ModelProviderShape,
  run: CasesRun,
  metrics: Readonly<Record<string, number>>,
): EvalReport => ({
  skill: skill.name,
  skillVersion: skill.version,
  promptVersion: skill.promptVersion,
  dataset,
  provider: provider.provider,
  model: [...run.models].sort().join("+") || "none",
  cases: run.cases,
  metrics,
  latencyP50Ms: percentile(run.latencies, 0.5),
  latencyP95Ms: percentile(run.latencies, 0.95),
  totalCostUsd: Math.round(run.costUsd * 1e9) / 1e9,
  fellBack: run.fellBack,
  needsHuman: run.needsHuman,
})

/** Runs a skill on every case of a dataset with the given provider and scores the answers. */
export const evaluateSkill = Effect.fn("Eval.evaluateSkill")(function* <I, O, X>(
  skill: Skill<I, O>,
  dataset: EvalDataset<I, O, X>,
  provider: ModelProviderShape,
) {
  const rows: Array<EvalRow<X, O>> = []
  const run = yield* runSkillOnCases(
    skill,
    dataset.cases,
    (testCase) => testCase.input,
    provider,
    (testCase, output) => rows.push({ id: testCase.id, expected: testCase.expected, output }),
  )
  return reportOfRun(skill, dataset.name, provider, run, dataset.score(rows))
})

/** One metric of two reports side by side. */
export interface MetricComparison {
  readonly metric: string
  readonly a: number
  readonly b: number
  readonly delta: number
}

/** Compares two reports metric by metric (quality metrics, then latency and cost). */
export const compareVersions = (a: EvalReport, b: EvalReport): ReadonlyArray<MetricComparison> => {
  const names = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])]
  const row = (metric: string, x: number, y: number): MetricComparison => ({
    metric,
    a: x,
    b: y,
    delta: Math.round((y - x) * 10_000) / 10_000,
  })
  return [
    ...names.map((name) => row(name, a.metrics[name] ?? 0, b.metrics[name] ?? 0)),
    row("latencyP50Ms", a.latencyP50Ms, b.latencyP50Ms),
    row("latencyP95Ms", a.latencyP95Ms, b.latencyP95Ms),
    row("totalCostUsd", a.totalCostUsd, b.totalCostUsd),
  ]
}

/** The key of a report in the baselines file: skill@version/dataset. */
export const baselineKey = (report: Pick<EvalReport, "skill" | "skillVersion" | "dataset">): string =>
  `${report.skill}@${report.skillVersion}/${report.dataset}`

/** The offline model's accepted scores, by baselineKey. */
export const Baselines = Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.Finite))
/** The offline model's accepted scores. */
export type Baselines = typeof Baselines.Type

/** A metric that fell below its baseline. */
export interface Regression {
  readonly key: string
  readonly metric: string
  readonly baseline: number
  readonly actual: number
}

/** The metrics of a report that fell below the baseline (a missing metric counts as 0). */
export const findRegressions = (report: EvalReport, baselines: Baselines): ReadonlyArray<Regression> => {
  const key = baselineKey(report)
  const baseline = baselines[key] ?? {}
  return Object.entries(baseline)
    .filter(([metric, value]) => (report.metrics[metric] ?? 0) < value - 1e-9)
    .map(([metric, value]) => ({ key, metric, baseline: value, actual: report.metrics[metric] ?? 0 }))
}

const baselinesError = (file: string, message: string) =>
  new EvalDatasetError({ file: basename(file), message })

/** Reads a baselines file (each package's evals/baselines.json). */
export const loadBaselines = (file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (cause) => baselinesError(file, `cannot read: ${String(cause)}`),
  }).pipe(
    Effect.flatMap((text) => Schema.decodeUnknownEffect(Schema.fromJsonString(Baselines))(text)),
    Effect.mapError((error) =>
      error instanceof EvalDatasetError ? error : baselinesError(file, error.message),
    ),
  )

/** Writes the reports' quality metrics as the new baselines of a file (keeping entries of other reports). */
export const writeBaselines = (file: string, reports: ReadonlyArray<EvalReport>, previous: Baselines) => {
  const next: Record<string, Record<string, number>> = { ...previous }
  for (const report of reports) next[baselineKey(report)] = { ...report.metrics }
  const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => a.localeCompare(b)))
  return Effect.tryPromise({
    try: () => writeFile(file, `${JSON.stringify(sorted, null, 2)}\n`),
    catch: (cause) => baselinesError(file, `cannot write: ${String(cause)}`),
  })
}

const formatNumber = (value: number): string =>
  Number.isInteger(value)
    ? String(value)
    : value < 0.01 && value > -0.01
      ? value.toExponential(1)
      : value.toFixed(3)

/** Renders one report as a table of its metrics. */
export const formatReport = (report: EvalReport): string => {
  const title = `${report.skill}@${report.skillVersion} (prompt ${report.promptVersion}) on ${report.dataset}: ${report.cases} cases, ${report.provider} ${report.model}`
  const rows: Array<Array<string>> = [
    ...Object.entries(report.metrics).map(([metric, value]) => [metric, formatNumber(value)]),
    ["latencyP50Ms", formatNumber(report.latencyP50Ms)],
    ["latencyP95Ms", formatNumber(report.latencyP95Ms)],
    ["totalCostUsd", formatNumber(report.totalCostUsd)],
    ["fellBack", String(report.fellBack)],
    ["needsHuman", String(report.needsHuman)],
  ]
  return `${title}\n${renderTable(["metric", "value"], rows)}`
}

/** Renders a side-by-side comparison of two reports. */
export const formatComparison = (a: EvalReport, b: EvalReport): string => {
  const title = `${a.skill} on ${a.dataset}: v${a.skillVersion} vs v${b.skillVersion} (${a.provider})`
  const rows = compareVersions(a, b).map((c) => [
    c.metric,
    formatNumber(c.a),
    formatNumber(c.b),
    `${c.delta > 0 ? "+" : ""}${formatNumber(c.delta)}`,
  ])
  return `${title}\n${renderTable(["metric", `v${a.skillVersion}`, `v${b.skillVersion}`, "delta"], rows)}`
}
