import { readFileSync } from "node:fs"
import { gunzipSync } from "node:zlib"
import { assertNamespace, type Domain, domains, meshCatalog, Subjects } from "@mesh/contracts"
import { makeEventLog, type NatsHandles } from "@mesh/eventlog"
import type { ReactionDecidedOtherwise } from "@mesh/kernel"
import { Clock, Console, Effect, Option, Result, Stream } from "effect"
import { meshError } from "../errors.ts"
import { type HistoryCommit, parseHistoryFile } from "../history/historyFile.ts"
import { storedContentHashes } from "../history/selection.ts"
import { fetchObjects, readHistory } from "./history.ts"
import { failedTo, isStreamNotFound, namespaceOf, streamHead } from "./nats.ts"

// The whole mesh run on a namespace that history was played into: every agent and the conflict
// resolver start on it as they would in production, each with read models and memory of its own,
// against simulators of the outside world and with no model server, and run until they have caught
// up and the log has stopped growing. `mesh sandbox` and `mesh fork` are both this, read
// differently: a sandbox expects nothing new, a fork reports what its branch did.

/** The namespace a run plays history into: `--into`, else a new `<prefix><time>`; checked by the one rule. */
export const intoNamespace = (flag: Option.Option<string>, prefix: string) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const into = Option.getOrElse(flag, () => `${prefix}${now.toString(36)}`)
    yield* Effect.try({
      try: () => assertNamespace(into),
      catch: (e) => meshError({ _tag: "BadInput", message: `--into: ${(e as Error).message}` }),
    })
    return into
  })

/**
 * Recorded history to run again: a history file as it was exported, or a namespace's whole log,
 * read only; `objectsFor` gives the decision content the chosen commits reference.
 */
export const recordedHistory = (
  nats: NatsHandles,
  file: Option.Option<string>,
  namespaceFlag: Option.Option<string>,
  into: string,
) =>
  Option.match(file, {
    onSome: (file) =>
      Effect.gen(function* () {
        const text = yield* Effect.try({
          try: () => {
            const bytes = readFileSync(file)
            return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8")
          },
          catch: (cause) => meshError({ _tag: "BadInput", message: `cannot read ${file}: ${String(cause)}` }),
        })
        const parsed = parseHistoryFile(text)
        if (Result.isFailure(parsed))
          return yield* meshError({ _tag: "BadInput", message: `${file}: ${parsed.failure}` })
        const objects = parsed.success.objects
        return {
          source: `${file} (namespace ${parsed.success.header.namespace})`,
          commits: parsed.success.commits,
          objectsFor: (_: ReadonlyArray<HistoryCommit>) => Effect.succeed(objects),
        }
      }),
    onNone: () =>
      Effect.gen(function* () {
        const source = yield* namespaceOf(namespaceFlag)
        if (source === into)
          return yield* meshError({
            _tag: "BadInput",
            message: "--into must name another namespace than the one read",
          })
        const { commits } = yield* readHistory(nats, source, domains)
        return {
          source: `namespace ${source}`,
          commits,
          objectsFor: (chosen: ReadonlyArray<HistoryCommit>) =>
            Effect.map(
              fetchObjects(nats, source, new Set(chosen.flatMap(storedContentHashes))),
              (objects) =>
                new Map<string, Uint8Array>(
                  objects.map((o) => [o.sha256, Buffer.from(o.base64, "base64")] as const),
                ),
            ),
        }
      }),
  })

/**
 * Where the namespace's log stands: each domain stream's last sequence; for registers, its events
 * (conflicts, violations) counted by subject, and the register changes as the register bucket's
 * last revision (the registers stream sources those on its own schedule).
 */
export const logPositions = (nats: NatsHandles, namespace: string) =>
  Effect.gen(function* () {
    const positions: Record<string, number> = {}
    for (const domain of domains) {
      const stream = Subjects.streamName(namespace, domain)
      positions[domain] = yield* Effect.tryPromise(() =>
        (domain === "registers"
          ? nats.jsm.streams
              .info(stream, { subjects_filter: Subjects.domainWildcard(namespace, domain) })
              .then((info) => Object.values(info.state.subjects ?? {}).reduce((n, c) => n + c, 0))
          : nats.jsm.streams.info(stream).then((info) => info.state.last_seq)
        ).catch((e) => (isStreamNotFound(e) ? 0 : Promise.reject(e))),
      ).pipe(failedTo(`read the head of ${stream}`))
    }
    positions["register changes"] = yield* streamHead(nats, `KV_${Subjects.registerBucket(namespace)}`)
    return positions
  })

interface AgentStatus {
  readonly agent: string
  readonly ready: boolean
  readonly reactors: ReadonlyArray<{
    name: string
    pending: number | null
    unacknowledged: number | null
    /** Absent from an agent of an older kernel. */
    decidedOtherwise?: { count: number; latest: ReadonlyArray<ReactionDecidedOtherwise> }
  }>
  readonly workers: ReadonlyArray<{
    name: string
    status:
      | { projection?: string; lag?: number; streams?: ReadonlyArray<{ domain: string; checkpoint: number }> }
      | null
      | string
  }>
}

/** Each agent's /status, or null for one that did not answer. */
const statuses = (urls: ReadonlyArray<string>) =>
  Effect.promise(() =>
    Promise.all(
      urls.map((url) =>
        fetch(`${url}/status`, { signal: AbortSignal.timeout(5_000) })
          .then((r) => (r.ok ? (r.json() as Promise<AgentStatus>) : null))
          .catch(() => null),
      ),
    ),
  )

/** What is still behind in one status: reactors with messages pending, projections with lag. */
const behindIn = (status: AgentStatus | null, url: string): ReadonlyArray<string> => {
  if (status === null) return [`${url} does not answer`]
  const behind: Array<string> = []
  if (!status.ready) behind.push(`${status.agent} is not ready`)
  for (const r of status.reactors)
    if (r.pending !== 0 || r.unacknowledged !== 0)
      behind.push(
        `${status.agent} ${r.name}: ${r.pending ?? "?"} pending, ${r.unacknowledged ?? "?"} in hand`,
      )
  for (const w of status.workers) {
    const projection = w.name.startsWith("projection ")
    if (typeof w.status === "object" && w.status !== null && w.status.lag !== undefined && w.status.lag !== 0)
      behind.push(`${status.agent} ${w.name}: ${w.status.lag} behind`)
    // A projection that cannot say where it is (still setting up, its probe timed out) is not caught up.
    else if (projection && (typeof w.status !== "object" || w.status === null))
      behind.push(`${status.agent} ${w.name}: ${String(w.status)}`)
  }
  return behind
}

/** One effect the simulated outside world applied, as its ledger holds it. */
export interface OutsideEffect {
  readonly system: string
  readonly key: string
  readonly operation: string
  readonly resource: string
}

/** What a run of the mesh on a namespace did. */
export interface MeshRun {
  readonly agents: ReadonlyArray<string>
  /** What the run appended, by stream and event type (register events and changes counted). */
  readonly appended: Record<string, Record<string, number>>
  /** The log's positions before the agents started, by stream (and "register changes"). */
  readonly before: Record<string, number>
  /** Decisions recorded during the run: a skill decided anew (a model asked). */
  readonly decisionsMadeAnew: number
  /**
   * Reactions whose command the log already held but which the code running now decides
   * otherwise, by agent and reactor: the count, and the latest few with their first difference.
   */
  readonly decidedOtherwise: ReadonlyArray<{
    readonly agent: string
    readonly reactor: string
    readonly count: number
    readonly latest: ReadonlyArray<ReactionDecidedOtherwise>
  }>
  /** Calls each simulated system received. */
  readonly outsideCalls: Record<string, number>
  /** The effects the simulated systems applied, once per idempotency key. */
  readonly outsideEffects: ReadonlyArray<OutsideEffect>
  /** Where each agent's read models stand, by stream. */
  readonly projections: ReadonlyArray<{
    agent: string
    projection: string
    checkpoints: Record<string, number>
  }>
  /** Where the agents' data folder is, when it was kept. */
  readonly dataDir: string
}

/**
 * Starts every agent and the resolver on `namespace` (whose streams history was played into), waits
 * until every reactor has nothing pending or in hand, every projection is at the heads and the log
 * has stopped growing, three looks in a row, and reports what the run did. The mesh is stopped
 * when the run ends; `keep` keeps its data folder.
 */
export const runMeshOn = (options: {
  readonly nats: NatsHandles
  readonly url: string
  readonly namespace: string
  readonly keep: boolean
  readonly timeoutSeconds: number
  /** Execute no action: each is requested and gated, and waits in the log (a dry fork). */
  readonly holdActions: boolean
  /**
   * The agents replay recorded history (MESH_REPLAY): reactions decide as of their cause and append
   * nothing the log lacks, reported as departures instead (a sandbox). A fork's branch is new
   * history, decided live on the present.
   */
  readonly replay: boolean
  /** What the run is, for its messages: "the sandbox", "the fork". */
  readonly what: string
}) =>
  Effect.gen(function* () {
    const { nats, namespace } = options
    const before = yield* logPositions(nats, namespace)
    const { startMeshStack, meshAgents } = yield* Effect.promise(() => import("@mesh/demo/stack"))
    const stack = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          startMeshStack({
            namespace,
            keepData: options.keep,
            nats: { url: options.url, source: `${options.what}'s NATS` },
            sandbox: true,
            holdActions: options.holdActions,
            replay: options.replay,
          }),
        catch: (cause) =>
          meshError({ _tag: "Failed", message: `could not start the mesh on ${options.what}`, cause }),
      }),
      (s) => Effect.promise(() => s.stop()),
    )
    const urls = meshAgents.map((agent) => stack.urlOf(agent))

    const started = yield* Clock.currentTimeMillis
    let quiet = 0
    let last = ""
    let behind: ReadonlyArray<string> = []
    let finalStatuses: ReadonlyArray<AgentStatus | null> = []
    while (quiet < 3) {
      yield* Effect.sleep("1 second")
      finalStatuses = yield* statuses(urls)
      behind = finalStatuses.flatMap((s, i) => behindIn(s, urls[i]!))
      const heads = JSON.stringify(yield* logPositions(nats, namespace))
      quiet = behind.length === 0 && heads === last ? quiet + 1 : 0
      last = heads
      if ((yield* Clock.currentTimeMillis) - started > options.timeoutSeconds * 1_000)
        return yield* meshError({
          _tag: "Failed",
          message: `the mesh did not catch up on ${options.what} within ${options.timeoutSeconds} s: ${behind.slice(0, 3).join("; ") || "the log kept growing"}`,
        })
    }
    const after = yield* logPositions(nats, namespace)

    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const appended: Record<string, Record<string, number>> = {}
    let decisionsMadeAnew = 0
    for (const [position, now] of Object.entries(after)) {
      const was = before[position] ?? 0
      if (now <= was) continue
      // Register events and changes are counted; a domain stream's new events are read by type.
      if (position === "registers" || position === "register changes") {
        appended[position] = { [position === "registers" ? "events" : "changes"]: now - was }
        continue
      }
      const types: Record<string, number> = {}
      yield* log.readRange(position as Domain, { fromSequence: was + 1, toSequence: now }).pipe(
        Stream.runForEach((commit) =>
          Effect.sync(() => {
            for (const event of commit.events) {
              types[event.type] = (types[event.type] ?? 0) + 1
              if (event.type === "DecisionRecorded") decisionsMadeAnew += 1
            }
          }),
        ),
        failedTo(`read what the run added to ${position}`),
      )
      appended[position] = types
    }
    const projections = finalStatuses.flatMap((s) =>
      s === null
        ? []
        : s.workers.flatMap((w) =>
            typeof w.status === "object" && w.status !== null && w.status.projection !== undefined
              ? [
                  {
                    agent: s.agent,
                    projection: w.status.projection,
                    checkpoints: Object.fromEntries(
                      (w.status.streams ?? []).map((st) => [st.domain, st.checkpoint]),
                    ),
                  },
                ]
              : [],
          ),
    )
    const decidedOtherwise = finalStatuses.flatMap((s) =>
      s === null
        ? []
        : s.reactors.flatMap((r) =>
            r.decidedOtherwise === undefined || r.decidedOtherwise.count === 0
              ? []
              : [{ agent: s.agent, reactor: r.name, ...r.decidedOtherwise }],
          ),
    )
    yield* Console.error(
      `${options.what} (namespace ${namespace})${options.keep ? ` kept: data under ${stack.dataDir}; \`mesh dev --with-agents --namespace ${namespace}\` starts it again` : " stopped"}`,
    )
    return {
      agents: [...meshAgents],
      appended,
      before,
      decisionsMadeAnew,
      decidedOtherwise,
      outsideCalls: stack.simulators.calls(),
      outsideEffects: stack.simulators
        .ledger()
        .map((e) => ({ system: e.system, key: e.key, operation: e.operation, resource: e.resource })),
      projections,
      dataDir: stack.dataDir,
    } satisfies MeshRun
  }).pipe(Effect.scoped)

/** A run's appended events as one line: `customer 3 TicketTriaged, 1 ReplyDrafted; actions …`. */
export const appendedLine = (appended: MeshRun["appended"]): string =>
  Object.entries(appended)
    .map(
      ([d, t]) =>
        `${d} ${Object.entries(t)
          .map(([type, n]) => `${n} ${type}`)
          .join(", ")}`,
    )
    .join("; ")
