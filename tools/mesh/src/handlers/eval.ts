import { resolve } from "node:path"
import { contentOpsSkillEvals } from "@mesh/content-ops/skills"
import { customerOpsSkillEvals } from "@mesh/customer-ops/skills"
import { type EvalRunError, type EvaluatedSkill, ModelError, runEval } from "@mesh/models"
import { procurementSkillEvals } from "@mesh/procurement/skills"
import { Effect, Option } from "effect"
import { type EvaluatedSkillName, versionOf } from "../commands/eval.ts"
import { meshError } from "../errors.ts"

/** The skills `mesh eval` scores: each agent's own, from its package. */
export const evaluatedSkills: ReadonlyArray<EvaluatedSkill> = [
  ...customerOpsSkillEvals,
  ...contentOpsSkillEvals,
  ...procurementSkillEvals,
]

/**
 * A path as the user typed it, from the folder they ran `mesh` in: `pnpm mesh` runs in the repository root and
 * passes the user's folder as INIT_CWD.
 */
const fromInvocationDirectory = (path: string): string =>
  resolve(
    process.env.npm_lifecycle_event === "mesh" ? (process.env.INIT_CWD ?? process.cwd()) : process.cwd(),
    path,
  )

/** `mesh eval`: runs the request through `@mesh/models`' evals and maps its failures to exit codes. */
export const evaluate = (args: {
  readonly skill: "all" | EvaluatedSkillName
  readonly versions: ReadonlyArray<string>
  readonly version: Option.Option<number>
  readonly compare: Option.Option<number>
  readonly dataset: Option.Option<string>
  readonly provider: "offline" | "config"
  readonly check: boolean
  readonly writeBaselines: boolean
  readonly json: boolean
  readonly file: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const second = args.versions[0]
    if (Option.isNone(args.compare) && second !== undefined)
      return yield* meshError({ _tag: "BadInput", message: `unexpected argument ${second}` })
    const vb = second === undefined ? undefined : versionOf(second)
    if (Option.isSome(args.compare) && vb === undefined)
      return yield* meshError({
        _tag: "BadInput",
        message: "--compare needs two versions, e.g. --compare 1 2",
      })
    yield* runEval(
      {
        skill: args.skill,
        version: Option.getOrElse(args.version, () => "latest" as const),
        compare: Option.isSome(args.compare) && vb !== undefined ? [args.compare.value, vb] : null,
        dataset: Option.getOrNull(args.dataset),
        provider: args.provider,
        check: args.check,
        writeBaselines: args.writeBaselines,
        json: args.json,
        file: Option.match(args.file, { onNone: () => null, onSome: fromInvocationDirectory }),
      },
      evaluatedSkills,
    ).pipe(
      Effect.mapError((error: EvalRunError) => {
        const r = error.reason
        switch (r._tag) {
          case "EvalBadRequest":
            return meshError({ _tag: "BadInput", message: r.message })
          case "EvalRegressed":
            return meshError({ _tag: "Failed", message: error.message })
          case "EvalFailed":
            return r.cause instanceof ModelError && r.cause.reason === "Unavailable"
              ? meshError({ _tag: "ModelUnreachable", cause: r.cause })
              : meshError({ _tag: "Failed", message: "mesh eval failed", cause: r.cause })
        }
      }),
    )
  })
