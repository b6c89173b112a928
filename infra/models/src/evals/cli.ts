import { Effect, Schema } from "effect"
import { ModelProvider, type ModelProviderShape } from "../modelProvider.ts"
import { makeOfflineProvider } from "../offline/provider.ts"
import type { Skill } from "../skills/skill.ts"
import type { EvalDataset, EvalDatasetError } from "./datasets.ts"
import {
  type Baselines,
  type EvalReport,
  evaluateSkill,
  findRegressions,
  formatComparison,
  formatReport,
  loadBaselines,
  writeBaselines,
} from "./evaluate.ts"

// `mesh eval`: the machinery that scores skills on their datasets, whoever owns them. Each package declares its
// evaluated skills (EvaluatedSkill: the versions, the datasets, its baselines file, and optionally how it scores a
// labelled file of the user's own), and the command line hands runEval the list.

/** A dataset by name, loaded only when it is evaluated; `required` when asked for by name (null: nothing to score yet). */
export interface DatasetSource<I, O> {
  readonly name: string
  readonly evaluate: (
    skill: Skill<I, O>,
    provider: ModelProviderShape,
    required: boolean,
  ) => Effect.Effect<EvalReport | null, unknown>
}

/** A dataset that may not exist yet: `load(required)` answers null when there is nothing to score. */
export const datasetSource = <I, O, X>(
  name: string,
  load: (required: boolean) => Effect.Effect<EvalDataset<I, O, X> | null, unknown>,
): DatasetSource<I, O> => ({
  name,
  evaluate: (skill, provider, required) =>
    Effect.flatMap(load(required), (dataset) =>
      dataset === null ? Effect.succeed(null) : evaluateSkill(skill, dataset, provider),
    ),
})

/** A dataset that always exists. */
export const alwaysDataset = <I, O, X>(name: string, load: Effect.Effect<EvalDataset<I, O, X>, unknown>) =>
  datasetSource(name, () => load)

/** How a skill scores a labelled file of the user's own (`mesh eval <skill> --file`), with its own report. */
export interface FileEvaluation<I, O, F, R> {
  /** Reads the file; one that cannot be read or holds nothing to score is an EvalDatasetError naming it. */
  readonly read: (path: string) => Effect.Effect<F, EvalDatasetError>
  /** Runs a version of the skill on what was read. */
  readonly evaluate: (
    skill: Skill<I, O>,
    path: string,
    read: F,
    provider: ModelProviderShape,
  ) => Effect.Effect<R, unknown>
  /** The result as text (`--json` prints it as JSON). */
  readonly format: (result: R) => string
}

/** A skill as `mesh eval` scores it; built by {@link evaluatedSkill}. */
export interface EvaluatedSkill {
  readonly name: string
  /** Its versions, oldest first. */
  readonly versions: ReadonlyArray<number>
  /** The file of its accepted scores (its package's evals/baselines.json). */
  readonly baselines: string
  /**
   * Scores one version on its datasets (or only the named one); no reports if the version is unknown. A dataset
   * that may not exist yet is scored once it does.
   */
  readonly evaluate: (
    version: number | "latest",
    provider: ModelProviderShape,
    dataset: string | null,
  ) => Effect.Effect<ReadonlyArray<EvalReport>, unknown>
  /** Scores one version on a labelled file of the user's own, when the skill takes one. */
  readonly file?: {
    readonly read: (
      path: string,
    ) => Effect.Effect<
      (
        version: number | "latest",
        provider: ModelProviderShape,
      ) => Effect.Effect<{ readonly text: string; readonly json: unknown } | null, unknown>,
      EvalDatasetError
    >
  }
}

const pick = <S extends { readonly version: number }>(
  versions: ReadonlyArray<S>,
  version: number | "latest",
) => (version === "latest" ? versions.at(-1) : versions.find((s) => s.version === version))

/** Declares a skill's evals: its versions, its datasets, its baselines file and, optionally, its `--file` report. */
export const evaluatedSkill = <I, O, F = never, R = never>(spec: {
  readonly versions: ReadonlyArray<Skill<I, O>>
  readonly datasets: ReadonlyArray<DatasetSource<I, O>>
  readonly baselines: string
  readonly file?: FileEvaluation<I, O, F, R>
}): EvaluatedSkill => {
  const name = spec.versions[0]?.name ?? "unnamed"
  const file = spec.file
  return {
    name,
    versions: spec.versions.map((skill) => skill.version),
    baselines: spec.baselines,
    evaluate: (version, provider, only) => {
      const skill = pick(spec.versions, version)
      return skill === undefined
        ? Effect.succeed([])
        : Effect.forEach(
            spec.datasets.filter((dataset) => only === null || dataset.name === only),
            (dataset) => dataset.evaluate(skill, provider, only !== null),
          ).pipe(Effect.map((reports) => reports.filter((r): r is EvalReport => r !== null)))
    },
    ...(file === undefined
      ? {}
      : {
          file: {
            read: (path: string) =>
              Effect.map(
                file.read(path),
                (read) => (version: number | "latest", provider: ModelProviderShape) => {
                  const skill = pick(spec.versions, version)
                  return skill === undefined
                    ? Effect.succeed(null)
                    : Effect.map(file.evaluate(skill, path, read, provider), (result) => ({
                        text: file.format(result),
                        json: result,
                      }))
                },
              ),
          },
        }),
  }
}

/** Evaluates every version of every given skill on every dataset: what the baselines cover. */
export const evaluateAllSkills = (skills: ReadonlyArray<EvaluatedSkill>, provider: ModelProviderShape) =>
  Effect.forEach(skills, (skill) =>
    Effect.forEach(skill.versions, (version) => skill.evaluate(version, provider, null)),
  ).pipe(Effect.map((nested) => nested.flat(2)))

/** The accepted scores of the given skills, read from each of their baselines files. */
export const loadSkillBaselines = (skills: ReadonlyArray<EvaluatedSkill>) =>
  Effect.forEach([...new Set(skills.map((skill) => skill.baselines))], loadBaselines).pipe(
    Effect.map((all): Baselines => Object.assign({}, ...all)),
  )

/** What `mesh eval` is asked to do. */
export interface EvalRequest {
  /** One skill by name, or every evaluated skill. */
  readonly skill: string
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
   * A labelled file of the user's own to score the skill on, with the skill's own report, instead of its
   * datasets (a skill that takes one says how it is read: triageTicket's is JSON lines, lines that do not parse
   * reported and skipped).
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

const fileRefusal = (request: EvalRequest, skills: ReadonlyArray<EvaluatedSkill>): string | null => {
  const taking = skills.filter((s) => s.file !== undefined).map((s) => s.name)
  const chosen = skills.find((s) => s.name === request.skill)
  if (chosen?.file === undefined)
    return `--file scores ${taking.join(" or ")} only, not ${request.skill === "all" ? "every skill" : request.skill}: run mesh eval ${taking[0] ?? "<skill>"} --file …`
  if (request.compare !== null) return "--file scores one version: use --version, not --compare"
  if (request.dataset !== null) return "--file replaces the datasets: use --file or --dataset, not both"
  if (request.check || request.writeBaselines)
    return "--file has no baselines: --check and --write-baselines apply to the datasets"
  return null
}

// `--file`: the file is read first (a file that cannot be read is the user's to fix), then scored.
const runFile = (
  request: EvalRequest,
  path: string,
  skills: ReadonlyArray<EvaluatedSkill>,
  write: CliWriter,
): Effect.Effect<void, EvalRunError> => {
  const refusal = fileRefusal(request, skills)
  const skill = skills.find((s) => s.name === request.skill)
  if (refusal !== null || skill?.file === undefined) return Effect.fail(badRequest(refusal ?? "--file"))
  if (request.version !== "latest" && !skill.versions.includes(request.version))
    return Effect.fail(badRequest(`${skill.name} has no version ${request.version}`))
  const read = skill.file
    .read(path)
    .pipe(Effect.mapError((error) => badRequest(`${error.file}: ${error.message}`)))
  return Effect.flatMap(read, (score) =>
    withProvider(request.provider, (provider) =>
      Effect.map(score(request.version, provider), (result) => {
        if (result !== null)
          write(request.json ? `${JSON.stringify(result.json, null, 2)}\n` : `${result.text}\n`)
      }),
    ).pipe(Effect.mapError(asEvalRunError)),
  )
}

/**
 * `mesh eval`: scores the given skills' versions on their datasets and prints tables (or JSON); with `check`,
 * fails with EvalRegressed when a score is below its baseline.
 */
export const runEval = (
  request: EvalRequest,
  evaluated: ReadonlyArray<EvaluatedSkill>,
  write: CliWriter = (text) => process.stdout.write(text),
): Effect.Effect<void, EvalRunError> => {
  if (request.file !== null) return runFile(request, request.file, evaluated, write)
  const skills = request.skill === "all" ? evaluated : evaluated.filter((s) => s.name === request.skill)
  if (skills.length === 0) return Effect.fail(badRequest(`no skill named ${request.skill} has evals`))
  if (request.compare !== null && skills.length !== 1)
    return Effect.fail(badRequest("--compare needs one skill"))
  const program = withProvider(request.provider, (provider) =>
    Effect.gen(function* () {
      if (request.compare !== null) {
        const skill = skills[0]!
        const [va, vb] = request.compare
        const a = yield* skill.evaluate(va, provider, request.dataset)
        const b = yield* skill.evaluate(vb, provider, request.dataset)
        if (a.length === 0 || b.length === 0)
          return yield* badRequest(`${skill.name} has no version ${a.length === 0 ? va : vb}`)
        if (request.json) write(`${JSON.stringify({ a, b }, null, 2)}\n`)
        else for (let i = 0; i < a.length; i++) write(`${formatComparison(a[i]!, b[i]!)}\n\n`)
        return
      }
      const bySkill = yield* Effect.forEach(skills, (skill) =>
        Effect.map(skill.evaluate(request.version, provider, request.dataset), (reports) => ({
          skill,
          reports,
        })),
      )
      const reports = bySkill.flatMap((s) => s.reports)
      if (request.json) write(`${JSON.stringify(reports, null, 2)}\n`)
      else for (const report of reports) write(`${formatReport(report)}\n\n`)
      if (request.writeBaselines) {
        // Each skill's scores go to its own package's file.
        for (const file of new Set(skills.map((s) => s.baselines))) {
          const previous = yield* loadBaselines(file)
          const written = bySkill.filter((s) => s.skill.baselines === file).flatMap((s) => s.reports)
          yield* writeBaselines(file, written, previous)
        }
        write(`wrote ${reports.length} baselines\n`)
      }
      if (request.check) {
        const baselines = yield* loadSkillBaselines(skills)
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
