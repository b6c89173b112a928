import { Effect } from "effect"
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

const USAGE = `usage: mesh eval [<skill>|all] [--version N] [--compare vA vB] [--dataset NAME]
                 [--provider offline|config] [--check] [--write-baselines] [--json]
skills: ${evaluatedSkills.join(", ")}
  --compare vA vB     score two versions of the skill side by side
  --provider config   use OLLAMA_HOST and the MESH_* settings instead of the offline model
  --check             exit 1 when a score is below evals/baselines.json
  --write-baselines   record the scores as the new baselines`

interface CliOptions {
  readonly skills: ReadonlyArray<SkillName>
  readonly version: number | "latest"
  readonly compare: readonly [number, number] | null
  readonly dataset: string | null
  readonly provider: "offline" | "config"
  readonly check: boolean
  readonly writeBaselines: boolean
  readonly json: boolean
}

const versionOf = (text: string | undefined): number | null => {
  const match = /^v?(\d+)$/.exec(text ?? "")
  return match === null ? null : Number(match[1])
}

const parseArgs = (args: ReadonlyArray<string>): CliOptions | string => {
  const rest = args[0] === "eval" ? args.slice(1) : [...args]
  let skills: ReadonlyArray<SkillName> = evaluatedSkills
  let version: number | "latest" = "latest"
  let compare: readonly [number, number] | null = null
  let dataset: string | null = null
  let provider: "offline" | "config" = "offline"
  let check = false
  let write = false
  let json = false
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (arg === "--help" || arg === "-h") return USAGE
    if (arg === "--check") check = true
    else if (arg === "--write-baselines") write = true
    else if (arg === "--json") json = true
    else if (arg === "--version") {
      const v = versionOf(rest[++i])
      if (v === null) return `--version needs a number\n${USAGE}`
      version = v
    } else if (arg === "--compare") {
      const a = versionOf(rest[++i])
      const b = versionOf(rest[++i])
      if (a === null || b === null) return `--compare needs two versions, e.g. --compare 1 2\n${USAGE}`
      compare = [a, b]
    } else if (arg === "--dataset") {
      dataset = rest[++i] ?? null
      if (dataset === null) return `--dataset needs a name\n${USAGE}`
    } else if (arg === "--provider") {
      const p = rest[++i]
      if (p !== "offline" && p !== "config") return `--provider is offline or config\n${USAGE}`
      provider = p
    } else if (arg.startsWith("-")) return `unknown option ${arg}\n${USAGE}`
    else if (arg === "all") skills = evaluatedSkills
    else if ((evaluatedSkills as ReadonlyArray<string>).includes(arg)) skills = [arg as SkillName]
    else return `unknown skill ${arg}\n${USAGE}`
  }
  if (compare !== null && skills.length !== 1) return `--compare needs one skill\n${USAGE}`
  return { skills, version, compare, dataset, provider, check, writeBaselines: write, json }
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

/**
 * `mesh eval <skill> [--compare vA vB]`: scores skill versions on their datasets and prints tables; returns the exit
 * code (0 fine, 1 a score fell below its baseline with --check, 2 bad usage or a failure).
 */
export const runEvalCli = async (
  args: ReadonlyArray<string>,
  write: CliWriter = (text) => process.stdout.write(text),
): Promise<number> => {
  const options = parseArgs(args)
  if (typeof options === "string") {
    write(`${options}\n`)
    return options === USAGE ? 0 : 2
  }
  const program = withProvider(options.provider, (provider) =>
    Effect.gen(function* () {
      if (options.compare !== null) {
        const name = options.skills[0]!
        const [va, vb] = options.compare
        const a = yield* evaluateSkillVersion(name, va, provider, options.dataset)
        const b = yield* evaluateSkillVersion(name, vb, provider, options.dataset)
        if (a.length === 0 || b.length === 0) {
          write(`${name} has no version ${a.length === 0 ? va : vb}\n`)
          return 2
        }
        if (options.json) write(`${JSON.stringify({ a, b }, null, 2)}\n`)
        else for (let i = 0; i < a.length; i++) write(`${formatComparison(a[i]!, b[i]!)}\n\n`)
        return 0
      }
      const reports = (yield* Effect.forEach(options.skills, (name) =>
        evaluateSkillVersion(name, options.version, provider, options.dataset),
      )).flat()
      if (options.json) write(`${JSON.stringify(reports, null, 2)}\n`)
      else for (const report of reports) write(`${formatReport(report)}\n\n`)
      const baselines = yield* loadBaselines
      if (options.writeBaselines) {
        yield* writeBaselines(reports, baselines)
        write(`wrote ${reports.length} baselines\n`)
      }
      if (options.check) {
        const regressions = reports.flatMap((report) => findRegressions(report, baselines))
        for (const r of regressions)
          write(`REGRESSION ${r.key} ${r.metric}: ${r.actual} < baseline ${r.baseline}\n`)
        if (regressions.length > 0) return 1
        write("no regressions against evals/baselines.json\n")
      }
      return 0
    }),
  )
  const exit = await Effect.runPromiseExit(program)
  if (exit._tag === "Success") return exit.value
  write(`mesh eval failed: ${String(exit.cause)}\n`)
  return 2
}
