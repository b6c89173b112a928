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

const onDatasets = <I, O, X>(
  skill: Skill<I, O> | undefined,
  datasets: ReadonlyArray<Effect.Effect<EvalDataset<I, O, X>, unknown>>,
  provider: ModelProviderShape,
  only: string | null,
) =>
  skill === undefined
    ? Effect.succeed([] as ReadonlyArray<EvalReport>)
    : Effect.forEach(datasets, (load) =>
        Effect.flatMap(load, (dataset) =>
          only !== null && dataset.name !== only
            ? Effect.succeed(null)
            : evaluateSkill(skill, dataset, provider),
        ),
      ).pipe(Effect.map((reports) => reports.filter((r): r is EvalReport => r !== null)))

/** Evaluates one version of a skill on its datasets (or only the named one); no reports if the version is unknown. */
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
        [loadTicketsDataset(), loadTicketsDataset("tickets-holdout.json")],
        provider,
        dataset,
      )
    case "draftReply":
      return onDatasets(pick(skillVersions.draftReply, version), [loadRepliesDataset()], provider, dataset)
    case "draftListing":
      return onDatasets(pick(skillVersions.draftListing, version), [loadListingsDataset()], provider, dataset)
    case "chooseSupplier":
      return onDatasets(
        pick(skillVersions.chooseSupplier, version),
        [loadSuppliersDataset()],
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

/**
 * `mesh eval`: scores skill versions on their datasets and prints tables (or JSON); with `check`,
 * fails with EvalRegressed when a score is below its baseline.
 */
export const runEval = (
  request: EvalRequest,
  write: CliWriter = (text) => process.stdout.write(text),
): Effect.Effect<void, EvalRunError> => {
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
  return Effect.mapError(program, (cause) =>
    cause instanceof EvalRunError ? cause : new EvalRunError({ reason: { _tag: "EvalFailed", cause } }),
  )
}
