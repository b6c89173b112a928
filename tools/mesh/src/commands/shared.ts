import { Flag, GlobalFlag } from "effect/cli"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as References from "effect/References"
import { parseSince } from "../since.ts"

// Command definitions (names, flags, descriptions) live in these light modules; each handler
// loads its packages when it runs, so that `mesh --help` loads none of them.

/** `--nats-url`: where NATS is; else MESH_NATS_URL, else the running `mesh dev` server. */
export const natsUrlFlag = Flag.String("nats-url").pipe(
  Flag.optional,
  Flag.withDescription("NATS server (else MESH_NATS_URL, else the running `mesh dev` server)"),
)

/** `--namespace`: the subject and stream namespace; else MESH_NAMESPACE, else "mesh". */
export const namespaceFlag = Flag.String("namespace").pipe(
  Flag.optional,
  Flag.withDescription("subject/stream namespace (else MESH_NAMESPACE, else mesh)"),
)

/** `--json`: one JSON object per line on stdout, and nothing else there. */
export const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDefault(false),
  Flag.withDescription("print one JSON object per line (nothing else on stdout)"),
)

/**
 * Runs a handler from a module loaded only now, with the mesh logger (MESH_LOG_LEVEL,
 * MESH_LOG_FORMAT; lines on stderr) in place of Effect's default one. effect/cli's global
 * `--log-level` flag, when given, still wins over MESH_LOG_LEVEL.
 */
export const lazily = <M, A, E, R>(load: () => Promise<M>, run: (module: M) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const [module, { MeshLogger }] = yield* Effect.promise(() =>
      Promise.all([load(), import("@mesh/kernel")]),
    )
    const flagLevel = Option.flatten(yield* Effect.serviceOption(GlobalFlag.LogLevel))
    const handler = Option.match(flagLevel, {
      onNone: () => run(module),
      onSome: (level) => Effect.provideService(run(module), References.MinimumLogLevel, level),
    })
    return yield* Effect.provide(handler, MeshLogger.layerFromConfig)
  })

/** A flag naming an instant: an ISO time, or a duration back from now. */
export const instantFlag = (name: string, description: string) =>
  Flag.String(name).pipe(
    Flag.filterMap(
      (text) => Option.fromUndefinedOr(parseSince(text)),
      (text) =>
        `--${name} takes an ISO time (2026-11-25T10:00:00Z) or a duration ago (15m, 2h, 1d), not ${text}`,
    ),
    Flag.optional,
    Flag.withDescription(description),
  )

/**
 * `--as`: the person a decision or an operator's request is recorded as. Never defaulted to the OS
 * user, so that the log never names someone who did not act; the handler falls back to MESH_APPROVER.
 */
export const personFlag = (who: "decides" | "asks") =>
  Flag.String("as").pipe(
    Flag.optional,
    Flag.withDescription(`who ${who} (recorded in the log); defaults to MESH_APPROVER`),
  )

/** `--all`: a bulk operation over everything, which must be said when no filter narrows it. */
export const allFlag = (what: string) =>
  Flag.Boolean("all").pipe(
    Flag.withDefault(false),
    Flag.withDescription(`${what} (without a filter, one of them or --all must be said)`),
  )

/** `--dry-run`: what a bulk operation would do, doing nothing. */
export const dryRunFlag = Flag.Boolean("dry-run").pipe(
  Flag.withDefault(false),
  Flag.withDescription("show what would be done, do nothing"),
)
