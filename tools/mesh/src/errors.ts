import * as Config from "effect/Config"
import { CliError } from "effect/cli"
import * as Schema from "effect/Schema"

/** The exit codes of `mesh`; README.md and `mesh --help` document the same table. */
export const ExitCode = {
  /** The command did what it was asked. */
  ok: 0,
  /** The command ran and failed or refused (a refused decision, a regression under `eval --check`). */
  failed: 1,
  /** Bad arguments or settings: nothing was attempted. */
  usage: 2,
  /** `mesh streams` found streams that differ from their declaration. */
  drift: 3,
  /** Infrastructure was unreachable or unavailable: NATS, nats-server, its store, Postgres, a model server, an agent's HTTP API. */
  unreachable: 4,
} as const

/** One of {@link ExitCode}'s values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** NATS did not answer at `url` (refused, timed out, no JetStream). */
const NatsUnreachable = Schema.TaggedStruct("NatsUnreachable", { url: Schema.String, cause: Schema.Defect() })
/** An inspection command found no NATS: no flag, no MESH_NATS_URL, no running `mesh dev`. */
const NoNatsTarget = Schema.TaggedStruct("NoNatsTarget", {})
/** `mesh dev` found no nats-server binary (and no MESH_NATS_URL, no Docker engine). */
const NatsServerMissing = Schema.TaggedStruct("NatsServerMissing", { cause: Schema.Defect() })
/** `mesh dev` could not start its private nats-server. */
const NatsServerFailed = Schema.TaggedStruct("NatsServerFailed", { cause: Schema.Defect() })
/** The project's JetStream store is held by a process whose server is not up (yet). */
const StoreInUse = Schema.TaggedStruct("StoreInUse", { storeDir: Schema.String, ownerPid: Schema.Number })
/** Postgres did not answer at `url`. */
const PostgresUnreachable = Schema.TaggedStruct("PostgresUnreachable", {
  url: Schema.String,
  cause: Schema.Defect(),
})
/** `mesh eval --provider config` could not reach its model server. */
const ModelUnreachable = Schema.TaggedStruct("ModelUnreachable", { cause: Schema.Defect() })
/** An agent's HTTP API did not answer at `url`, or answered that it cannot serve now (503). */
const AgentUnreachable = Schema.TaggedStruct("AgentUnreachable", {
  agent: Schema.String,
  url: Schema.String,
  cause: Schema.Defect(),
})
/** Arguments the parser accepted but the command cannot use. */
const BadInput = Schema.TaggedStruct("BadInput", { message: Schema.String })
/** The command ran and failed, or refused what it was asked. */
const Failed = Schema.TaggedStruct("Failed", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
})

/** Why a `mesh` command failed. */
export const MeshCliErrorReason = Schema.Union([
  NatsUnreachable,
  NoNatsTarget,
  NatsServerMissing,
  NatsServerFailed,
  StoreInUse,
  PostgresUnreachable,
  ModelUnreachable,
  AgentUnreachable,
  BadInput,
  Failed,
])
/** Why a `mesh` command failed. */
export type MeshCliErrorReason = typeof MeshCliErrorReason.Type

// Printed once, on one line, when `mesh dev` has no nats-server to start.
const NATS_INSTALL =
  "install nats-server >= 2.10.23: Debian/Ubuntu `sudo apt-get install nats-server` (on bookworm take trixie's package " +
  "with an apt pin, see shared/notes/nats-server.md); macOS `brew install nats-server`; or a container " +
  "`docker run -d -p 4222:4222 nats:2.10-alpine -js` and then MESH_NATS_URL=nats://127.0.0.1:4222 pnpm mesh dev"

/** One line saying what failed, with its cause. */
export const describeReason = (r: MeshCliErrorReason): string => {
  switch (r._tag) {
    case "NatsUnreachable":
      return `cannot reach NATS at ${redactUrl(r.url)}: ${describeCause(r.cause)}`
    case "NoNatsTarget":
      return "no NATS server to talk to: pass --nats-url, set MESH_NATS_URL, or start the local one with `pnpm mesh dev`"
    case "NatsServerMissing":
      return `no nats-server on PATH and MESH_NATS_URL is not set; ${NATS_INSTALL}`
    case "NatsServerFailed":
      return `could not start a private nats-server: ${describeCause(r.cause)}`
    case "StoreInUse":
      return `the JetStream store ${r.storeDir} is in use by process ${r.ownerPid}, whose nats-server is not up yet; wait for it, or set MESH_DATA_DIR to use another store`
    case "PostgresUnreachable":
      return `cannot reach Postgres at ${redactUrl(r.url)}: ${describeCause(r.cause)}`
    case "ModelUnreachable":
      return `cannot reach the model server: ${describeCause(r.cause)}`
    case "AgentUnreachable":
      return `cannot reach ${r.agent} at ${redactUrl(r.url)}: ${describeCause(r.cause)}`
    case "BadInput":
      return r.message
    case "Failed":
      return r.cause === undefined ? r.message : `${r.message}: ${describeCause(r.cause)}`
  }
}

/** The exit code a failure ends `mesh` with. */
export const exitCodeOf = (r: MeshCliErrorReason): ExitCode => {
  switch (r._tag) {
    case "NatsUnreachable":
    case "NoNatsTarget":
    case "NatsServerMissing":
    case "NatsServerFailed":
    case "StoreInUse":
    case "PostgresUnreachable":
    case "ModelUnreachable":
    case "AgentUnreachable":
      return ExitCode.unreachable
    case "BadInput":
      return ExitCode.usage
    case "Failed":
      return ExitCode.failed
  }
}

/** The one error of the `mesh` command line; `reason` says which failure it is and keeps the cause. */
export class MeshCliError extends Schema.TaggedError<MeshCliError>()("MeshCliError", {
  reason: MeshCliErrorReason,
}) {
  override get message(): string {
    return describeReason(this.reason)
  }
}

/** Builds a {@link MeshCliError} from its reason. */
export const meshError = (reason: MeshCliErrorReason): MeshCliError => new MeshCliError({ reason })

/**
 * Anything thrown or failed with, as one line: its message (or the value as text), lines joined,
 * so that a stack trace or a multi-line message never reaches the terminal whole. (As
 * `messageOf` of @mesh/eventlog, which `mesh --help` must not load.)
 */
export const describeCause = (cause: unknown): string => {
  const message =
    typeof cause === "object" && cause !== null ? (cause as { message?: unknown }).message : undefined
  const text = typeof message === "string" && message !== "" ? message : safeString(cause)
  return text.replace(/\s*\n\s*/g, " ").trim() || "unknown error"
}

const safeString = (value: unknown): string => {
  try {
    return String(value)
  } catch {
    return "an unprintable value"
  }
}

/** A server URL without its password, for messages. */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password === "") return url
    parsed.password = "***"
    return parsed.toString()
  } catch {
    return url
  }
}

/**
 * What `mesh` prints and exits with for a failure: one line for stderr (undefined when effect/cli
 * already printed the usage error with the help) and its exit code.
 */
export const failureReport = (
  error: unknown,
): { readonly line: string | undefined; readonly code: ExitCode } => {
  if (error instanceof MeshCliError) return { line: error.message, code: exitCodeOf(error.reason) }
  // effect/cli printed it with the help; `mesh` alone (help, no command) is one for a script too.
  if (CliError.isCliError(error)) return { line: undefined, code: ExitCode.usage }
  if (error instanceof Config.ConfigError)
    return { line: `bad setting: ${describeCause(error.cause)}`, code: ExitCode.usage }
  return { line: describeCause(error), code: ExitCode.failed }
}
