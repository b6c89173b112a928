import { Effect, Schema } from "effect"
import { ModelProvider, type ModelProviderShape } from "../modelProvider.ts"
import { makeOfflineProvider } from "../offline/provider.ts"
import { type SkillName, skillVersions } from "../skills/catalog.ts"
import type { Skill } from "../skills/skill.ts"
import {
  type EvalDataset,
  loadListingsDataset,
  loadRepliesDataset,
  loadSuppliersDataset,
  loadTicketsDataset,
  loadTriageHoldoutDataset,
} from "./datasets.ts"
import {
  type EvalReport,
  evaluateSkill,
  findRegressions,
  formatComparison,
  formatReport,
  loadBaselines,
  writeBaselines,
} from "./evaluate.ts"
import { evaluateTriageFile, formatTriageFileResult, readLabelledFile } from "./triageFile.ts"

/** Every skill name that has evals. */
export const evaluatedSkills: ReadonlyArray<SkillName> = [
  "triageTicket",
  "draftReply",
  "draftListing",
  "chooseSupplier",
]

const pick = <S extends { readonly version: number }>(
  versions: ReadonlyArray<S>,
  version: number | "latest",
) => (version === "latest" ? versions.at(-1) : versions.find((s) => s.version === version))

/** A dataset by name, loaded only when it is evaluated; `required` when asked for by name (null: nothing to score yet). */
interface DatasetSource<I, O> {
  readonly name: string
  readonly evaluate: (
    skill: Skill<I, O>,
    provider: ModelProviderShape,
    required: boolean,
  ) => Effect.Effect<EvalReport | null, unknown>
}

const source = <I, O, X>(
  name: string,
  load: (required: boolean) => Effect.Effect<EvalDataset<I, O, X> | null, unknown>,
): DatasetSource<I, O> => ({
  name,
  evaluate: (skill, provider, required) =>
    Effect.flatMap(load(required), (dataset) =>
      dataset === null ? Effect.succeed(null) : evaluateSkill(skill, dataset, provider),
    ),
})

const always = <I, O, X>(name: string, load: Effect.Effect<EvalDataset<I, O, X>, unknown>) =>
  source(name, () => load)

const onDatasets = <I, O>(
  skill: Skill<I, O> | undefined,
  datasets: ReadonlyArray<DatasetSource<I, O>>,
  provider: ModelProviderShape,
  only: string | null,
) =>
  skill === undefined
    ? Effect.succeed([] as ReadonlyArray<EvalReport>)
    : Effect.forEach(
        datasets.filter((dataset) => only === null || dataset.name === only),
        (dataset) => dataset.evaluate(skill, provider, only !== null),
      ).pipe(Effect.map((reports) => reports.filter((r): r is EvalReport => r !== null)))

/**
 * Evaluates one version of a skill on its datasets (or only the named one); no reports if the version is unknown.
 * triageTicket's `holdout` is scored once corpus/triage/holdout/holdout.jsonl exists.
 */
export const evaluateSkillVersion = (
  name: SkillName,
  version: number | "latest",
  provider: ModelProviderShape,
  dataset: string | null = null,
) => {
  switch (name) {
    case "triageTicket":
      return onDatasets(
        pick(skillVersions.triageTicket, version),
        [
          always("tickets", loadTicketsDataset()),
          always("tickets-holdout", loadTicketsDataset("tickets-holdout.json")),
          source("holdout", loadTriageHoldoutDataset),
        ],
        provider,
        dataset,
      )
    case "draftReply":
      return onDatasets(
        pick(skillVersions.draftReply, version),
        [always("replies", loadRepliesDataset())],
        provider,
        dataset,
      )
    case "draftListing":
      return onDatasets(
        pick(skillVersions.draftListing, version),
        [always("listings", loadListingsDataset())],
        provider,
        dataset,
      )
    case "chooseSupplier":
      return onDatasets(
        pick(skillVersions.chooseSupplier, version),
        [always("suppliers", loadSuppliersDataset())],
        provider,
        dataset,
      )
  }
}

/** Evaluates every version of every skill on every dataset: what the baselines cover. */
export const evaluateAllSkills = (provider: ModelProviderShape) =>
  Effect.forEach(evaluatedSkills, (name) =>
    Effect.forEach(skillVersions[name], (skill: { readonly version: number }) =>
      evaluateSkillVersion(name, skill.version, provider),
    ),
  ).pipe(Effect.map((nested) => nested.flat(2)))

/** What `mesh eval` is asked to do. */
export interface EvalRequest {
  /** One skill, or every evaluated skill. */
  readonly skill: SkillName | "all"
  readonly version: number | "latest"
  /** Two versions of the one skill to score side by side, instead of scoring `version`. */
  readonly compare: readonly [number, number] | null
  /** Only this dataset of the skill's (all of them when null). */
  readonly dataset: string | null
  /** The offline model, or the provider MESH_OLLAMA_HOST and the MESH_* settings configure. */
  readonly provider: "offline" | "config"
  /** Fail when a score is below evals/baselines.json. */
  readonly check: boolean
  /** Record the scores as the new baselines. */
  readonly writeBaselines: boolean
  /** Print the reports as JSON instead of tables. */
  readonly json: boolean
  /**
   * A labelled JSON-lines file (infra/models/corpus/triage/POLICY.md) to score triageTicket on, with the full
   * triage report, instead of the skill's datasets; lines that do not parse are reported and skipped.
   */
  readonly file: string | null
}

/** The request cannot be run as asked (a version the skill does not have, a comparison of many skills). */
export const EvalBadRequest = Schema.TaggedStruct("EvalBadRequest", { message: Schema.String })
/** Scores fell below their baselines under `check`. */
export const EvalRegressed = Schema.TaggedStruct("EvalRegressed", { regressions: Schema.Number })
/** The model, a dataset or the baselines file failed; `cause` is what failed. */
export const EvalFailed = Schema.TaggedStruct("EvalFailed", { cause: Schema.Defect() })

/** Why {@link runEval} failed. */
export const EvalRunErrorReason = Schema.Union([EvalBadRequest, EvalRegressed, EvalFailed])
/** Why {@link runEval} failed. */
export type EvalRunErrorReason = typeof EvalRunErrorReason.Type

const describeEvalFailure = (r: EvalRunErrorReason): string => {
  switch (r._tag) {
    case "EvalBadRequest":
      return r.message
    case "EvalRegressed":
      return `${r.regressions} scores fell below evals/baselines.json`
    case "EvalFailed":
      return `mesh eval failed: ${String(r.cause)}`
  }
}

/** The one error of {@link runEval}; `reason` says which. */
export class EvalRunError extends Schema.TaggedError<EvalRunError>()("EvalRunError", {
  reason: EvalRunErrorReason,
}) {
  override get message(): string {
    return describeEvalFailure(this.reason)
  }
}

const withProvider = <A, E>(
  kind: "offline" | "config",
  use: (provider: ModelProviderShape) => Effect.Effect<A, E>,
): Effect.Effect<A, unknown> =>
  kind === "offline"
    ? use(makeOfflineProvider())
    : Effect.flatMap(ModelProvider, use).pipe(Effect.provide(ModelProvider.layerFromConfig))

/** Writes text somewhere; stdout by default. */
export type CliWriter = (text: string) => void

const badRequest = (message: string) => new EvalRunError({ reason: { _tag: "EvalBadRequest", message } })

const asEvalRunError = (cause: unknown): EvalRunError =>
  cause instanceof EvalRunError ? cause : new EvalRunError({ reason: { _tag: "EvalFailed", cause } })

const fileRefusal = (request: EvalRequest): string | null => {
  if (request.skill !== "triageTicket")
    return `--file scores triageTicket only, not ${request.skill === "all" ? "every skill" : request.skill}: run mesh eval triageTicket --file …`
  if (request.compare !== null) return "--file scores one version: use --version, not --compare"
  if (request.dataset !== null) return "--file replaces the datasets: use --file or --dataset, not both"
  if (request.check || request.writeBaselines)
    return "--file has no baselines: --check and --write-baselines apply to the datasets"
  return null
}

// `--file`: the rows are read once and each answer is folded into the report as it comes.
const runTriageFile = (
  request: EvalRequest,
  file: string,
  write: CliWriter,
): Effect.Effect<void, EvalRunError> => {
  const refusal = fileRefusal(request)
  if (refusal !== null) return Effect.fail(badRequest(refusal))
  const skill = pick(skillVersions.triageTicket, request.version)
  if (skill === undefined) return Effect.fail(badRequest(`triageTicket has no version ${request.version}`))
  const read = readLabelledFile(file).pipe(
    Effect.mapError((error) => badRequest(`${error.file}: ${error.message}`)),
  )
  return Effect.flatMap(read, (labelled) =>
    withProvider(request.provider, (provider) =>
      Effect.map(evaluateTriageFile(skill, file, labelled, provider), (result) =>
        write(request.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatTriageFileResult(result)}\n`),
      ),
    ).pipe(Effect.mapError(asEvalRunError)),
  )
}

/**
 * `mesh eval`: scores skill versions on their datasets and prints tables (or JSON); with `check`,
 * fails with EvalRegressed when a score is below its baseline.
 */
export const runEval = (
  request: EvalRequest,
  write: CliWriter = (text) => process.stdout.write(text),
): Effect.Effect<void, EvalRunError> => {
  if (request.file !== null) return runTriageFile(request, request.file, write)
  const skills = request.skill === "all" ? evaluatedSkills : [request.skill]
  if (request.compare !== null && skills.length !== 1)
    return Effect.fail(badRequest("--compare needs one skill"))
  const program = withProvider(request.provider, (provider) =>
    Effect.gen(function* () {
      if (request.compare !== null) {
        const name = skills[0]!
        const [va, vb] = request.compare
        const a = yield* evaluateSkillVersion(name, va, provider, request.dataset)
        const b = yield* evaluateSkillVersion(name, vb, provider, request.dataset)
        if (a.length === 0 || b.length === 0)
          return yield* badRequest(`${name} has no version ${a.length === 0 ? va : vb}`)
        if (request.json) write(`${JSON.stringify({ a, b }, null, 2)}\n`)
        else for (let i = 0; i < a.length; i++) write(`${formatComparison(a[i]!, b[i]!)}\n\n`)
        return
      }
      const reports = (yield* Effect.forEach(skills, (name) =>
        evaluateSkillVersion(name, request.version, provider, request.dataset),
      )).flat()
      if (request.json) write(`${JSON.stringify(reports, null, 2)}\n`)
      else for (const report of reports) write(`${formatReport(report)}\n\n`)
      const baselines = yield* loadBaselines
      if (request.writeBaselines) {
        yield* writeBaselines(reports, baselines)
        write(`wrote ${reports.length} baselines\n`)
      }
      if (request.check) {
        const regressions = reports.flatMap((report) => findRegressions(report, baselines))
        for (const r of regressions)
          write(`REGRESSION ${r.key} ${r.metric}: ${r.actual} < baseline ${r.baseline}\n`)
        if (regressions.length > 0)
          return yield* new EvalRunError({
            reason: { _tag: "EvalRegressed", regressions: regressions.length },
          })
        write("no regressions against evals/baselines.json\n")
      }
    }),
  )
  return Effect.mapError(program, asEvalRunError)
}
