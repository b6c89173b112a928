import { assertSubjectToken, Subjects } from "@mesh/contracts"
import { type NatsHandles, natsAuthConfig, openNats } from "@mesh/eventlog"
import { findDevServer, projectDataDir } from "@mesh/stack"
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream"
import { Config, Effect, Option } from "effect"
import { describeCause, meshError, redactUrl } from "../errors.ts"

// A refused port fails at once; a silent host or a port that is not NATS would hold the default
// 20 s connect timeout. Three seconds is long enough for a loaded local server.
const CONNECT_TIMEOUT_MS = 3_000

/** Reads an optional setting, an empty value counting as unset. */
const setting = (name: string) =>
  Effect.map(
    Config.option(Config.String(name)),
    Option.filter((value) => value.trim() !== ""),
  )

/**
 * Where a command finds NATS: the flag, then MESH_NATS_URL, then the server a running `mesh dev`
 * (or the demo) keeps under the project's data folder. Never starts one: an empty new server
 * would only mislead.
 */
export const natsTarget = (flag: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isSome(flag)) return flag.value
    const env = yield* setting("MESH_NATS_URL")
    if (Option.isSome(env)) return env.value
    const dev = findDevServer(projectDataDir())
    if (dev._tag === "Running") return dev.url
    return yield* meshError({ _tag: "NoNatsTarget" })
  })

/** The namespace to act on: the flag, else MESH_NAMESPACE, else "mesh". */
export const namespaceOf = (flag: Option.Option<string>) =>
  Option.isSome(flag)
    ? Effect.succeed(flag.value)
    : Effect.map(
        setting("MESH_NAMESPACE"),
        Option.getOrElse(() => "mesh"),
      )

// A command is short-lived: after a lost connection it tries a few times (about 20 s), then says so.
const RECONNECT_ATTEMPTS = 10

/**
 * Connects to `url` with JetStream (and `MESH_NATS_TOKEN` or `MESH_NATS_CREDS` when set), or fails
 * within seconds naming the URL; drains the connection when the scope closes.
 */
export const scopedNats = (url: string, name = "mesh-cli") =>
  Effect.gen(function* () {
    const auth = yield* natsAuthConfig
    const nats = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          openNats(url, name, {
            ...auth,
            timeoutMs: CONNECT_TIMEOUT_MS,
            maxReconnectAttempts: RECONNECT_ATTEMPTS,
          }),
        catch: (cause) => meshError({ _tag: "NatsUnreachable", url, cause }),
      }),
      (h) => Effect.promise(() => h.connection.drain().catch(() => undefined)),
    )
    yield* Effect.logDebug("connected to NATS").pipe(
      Effect.annotateLogs({ url: redactUrl(url), server: nats.connection.info?.server_name ?? "?" }),
    )
    return nats
  })

/** Connects to the NATS named by the flag, MESH_NATS_URL or the running `mesh dev`. */
export const scopedNatsTarget = (flag: Option.Option<string>) =>
  Effect.flatMap(natsTarget(flag), (url) => Effect.map(scopedNats(url), (nats) => ({ url, nats })))

/** Fails when the connection closes under a command that would otherwise wait forever. */
export const connectionLost = (nats: NatsHandles, url: string) =>
  Effect.flatMap(
    Effect.promise(() => nats.connection.closed()),
    (cause) =>
      meshError({ _tag: "NatsUnreachable", url, cause: cause ?? new Error("the connection closed") }),
  )

/** Turns a failure of the command's own work into a {@link MeshCliError} that keeps the cause. */
export const failedTo =
  (what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.mapError(effect, (cause) => meshError({ _tag: "Failed", message: `could not ${what}`, cause }))

/** A name as a subject token, or a usage error saying why it cannot be one. */
export const subjectToken = (what: string, value: string) =>
  Effect.try({
    try: () => assertSubjectToken(what, value),
    catch: (cause) => meshError({ _tag: "BadInput", message: describeCause(cause) }),
  })

/**
 * Fails unless `stream` exists, saying `missing` when it does not, so that a command never creates
 * what it only meant to read (a namespace mistyped, say).
 */
export const streamExists = (nats: NatsHandles, stream: string, missing: string, unreadable: string) =>
  Effect.tryPromise({
    try: () => nats.jsm.streams.info(stream),
    catch: (cause) =>
      cause instanceof JetStreamApiError && cause.code === JetStreamApiCodes.StreamNotFound
        ? meshError({ _tag: "Failed", message: missing })
        : meshError({ _tag: "Failed", message: unreadable, cause }),
  })

/**
 * The person deciding (an approval, a conflict's answer): named by the flag or MESH_APPROVER, and
 * never defaulted to the OS user, so that the log never records a decision nobody meant to make.
 */
export const personDeciding = (flag: Option.Option<string>) =>
  Effect.gen(function* () {
    const person = Option.isSome(flag)
      ? flag.value
      : Option.getOrElse(yield* Config.option(Config.String("MESH_APPROVER")), () => "")
    return person.trim() === ""
      ? yield* meshError({ _tag: "Failed", message: "say who decides: --as <name> or MESH_APPROVER" })
      : person.trim()
  })

/** Whether a JetStream failure says the stream does not exist (a namespace never declared it). */
export const isStreamNotFound = (e: unknown): boolean =>
  e instanceof Error && (e.name === "StreamNotFoundError" || /stream not found/i.test(e.message))

/** A stream's last sequence, or 0 when it does not exist (a domain no agent wrote to). */
export const streamHead = (nats: NatsHandles, stream: string) =>
  Effect.tryPromise(() =>
    nats.jsm.streams
      .info(stream)
      .then((info) => info.state.last_seq)
      .catch((e) => (isStreamNotFound(e) ? 0 : Promise.reject(e))),
  ).pipe(failedTo(`read the head of ${stream}`))

const questionEncoder = new TextEncoder()
const answerDecoder = new TextDecoder()

/**
 * Asks every running instance of the namespace's agents one operator question, on the subject they
 * all answer (`Subjects.operatorQuestion`), and gives their answers as they came within a moment:
 * each instance answers once within its own bound (1.5 s), and the question waits that long and a
 * little more, however many there are. Fails, naming the subject, when none answers.
 */
export const askEveryInstance = <A>(
  nats: NatsHandles,
  namespace: string,
  question: "projections" | "reactors",
) =>
  Effect.gen(function* () {
    const subject = Subjects.operatorQuestion(namespace, question)
    const answers = yield* Effect.tryPromise(async () => {
      const replies: Array<A> = []
      try {
        const iterable = await nats.connection.requestMany(subject, questionEncoder.encode("{}"), {
          strategy: "timer",
          maxWait: 2_000,
        })
        for await (const m of iterable) {
          if (m.data.length === 0) continue
          replies.push(JSON.parse(answerDecoder.decode(m.data)) as A)
        }
      } catch (e) {
        // Nobody listens: no agent runs on the namespace.
        if (!/no responders|503/i.test(String((e as Error)?.message ?? e))) throw e
      }
      return replies
    }).pipe(failedTo(`ask the agents of namespace ${namespace} on ${subject}`))
    if (answers.length === 0)
      return yield* meshError({
        _tag: "Failed",
        message: `no agent answered on ${subject}: is any running on namespace ${namespace}?`,
      })
    return answers
  })

/**
 * Names a row by its agent, or by agent@instance when the rows hold several instances of that
 * agent: an operator sees the instance only where it tells rows apart.
 */
export const instanceNames = <R extends { readonly agent: string; readonly instance: string }>(
  rows: ReadonlyArray<R>,
): ((row: R) => string) => {
  const instances = new Map<string, Set<string>>()
  for (const r of rows) instances.set(r.agent, (instances.get(r.agent) ?? new Set()).add(r.instance))
  return (row) => ((instances.get(row.agent)?.size ?? 0) > 1 ? `${row.agent}@${row.instance}` : row.agent)
}
