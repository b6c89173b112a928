import { Argument, Command, Flag } from "effect/cli"
import * as Option from "effect/Option"
import { lazily } from "./shared.ts"

/** The skills that have evals, as their packages name them (a unit test keeps the two equal). */
export const evaluatedSkillNames = ["triageTicket", "draftReply", "draftListing", "chooseSupplier"] as const
/** A skill that has evals. */
export type EvaluatedSkillName = (typeof evaluatedSkillNames)[number]

/** A skill version as typed: `2` or `v2`. */
export const versionOf = (text: string): number | undefined => {
  const match = /^v?(\d+)$/.exec(text.trim())
  return match === null ? undefined : Number(match[1])
}

const version = (name: string) =>
  Flag.String(name).pipe(
    Flag.filterMap(
      (text) => Option.fromUndefinedOr(versionOf(text)),
      (text) => `--${name} takes a version number such as 2 or v2, not ${text}`,
    ),
  )

/**
 * `mesh eval [<skill>|all] [--version N] [--compare vA vB] [--dataset NAME] [--provider offline|config]
 * [--check] [--write-baselines] [--json]`: scores skill versions on their labelled datasets.
 * `mesh eval triageTicket --file tickets.jsonl [--version N] [--provider …] [--json]`: scores triage on a
 * labelled JSON-lines file with the full triage report, skipping (and naming) the lines that do not parse.
 */
export const evalCommand = Command.make(
  "eval",
  {
    skill: Argument.Literals("skill", ["all", ...evaluatedSkillNames]).pipe(
      Argument.withDefault("all"),
      Argument.withDescription(`all (the default), or one of ${evaluatedSkillNames.join(", ")}`),
    ),
    // `--compare vA vB` reads as before: the flag takes the first version, the second follows it.
    versions: Argument.String("vB").pipe(
      Argument.variadic({ max: 1 }),
      Argument.withDescription("the second version of --compare"),
    ),
    version: version("version").pipe(
      Flag.optional,
      Flag.withDescription("score this version of the skill (default: the latest)"),
    ),
    compare: version("compare").pipe(
      Flag.optional,
      Flag.withDescription("score version vA beside vB (`--compare 1 2`): one skill only"),
    ),
    dataset: Flag.String("dataset").pipe(Flag.optional, Flag.withDescription("only this dataset")),
    provider: Flag.Literals("provider", ["offline", "config"]).pipe(
      Flag.withDefault("offline"),
      Flag.withDescription("offline model, or config: MESH_OLLAMA_HOST and the MESH_* model settings"),
    ),
    check: Flag.Boolean("check").pipe(
      Flag.withDefault(false),
      Flag.withDescription("exit 1 when a score is below evals/baselines.json"),
    ),
    writeBaselines: Flag.Boolean("write-baselines").pipe(
      Flag.withDefault(false),
      Flag.withDescription("record the scores as the new baselines"),
    ),
    json: Flag.Boolean("json").pipe(
      Flag.withDefault(false),
      Flag.withDescription("print the reports as JSON"),
    ),
    file: Flag.String("file").pipe(
      Flag.optional,
      Flag.withDescription(
        "triageTicket only: score a labelled JSON-lines file (services/customer-ops/corpus/triage/POLICY.md) with the full report",
      ),
    ),
  },
  (args) =>
    lazily(
      () => import("../handlers/eval.ts"),
      (h) => h.evaluate(args),
    ),
).pipe(
  Command.withDescription("Score a skill's versions on their labelled datasets (offline model by default)"),
)
