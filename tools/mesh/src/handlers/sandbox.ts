import { readFileSync } from "node:fs"
import { gunzipSync } from "node:zlib"
import { assertNamespace, type Domain, domains, meshCatalog, Subjects } from "@mesh/contracts"
import { makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { Clock, Console, Effect, Option, Result, Stream } from "effect"
import { meshError } from "../errors.ts"
import { parseHistoryFile } from "../history/historyFile.ts"
import { selectSlice, storedContentHashes } from "../history/selection.ts"
import { fetchObjects, playHistory, readHistory } from "./history.ts"
import { failedTo, namespaceOf, scopedNatsTarget } from "./nats.ts"

// A sandbox replay runs recorded history through the whole mesh again: the history is played into
// a namespace of its own, and every agent and the conflict resolver start on it as they would in
// production, each with read models and memory of its own, the outside world replaced by
// simulators that only count, no model server, and nothing the clock drives. Every reaction then
// meets its cause again. A mesh whose reactions are idempotent and whose decisions are recorded
// adds nothing to the log, calls nothing outside and asks no model: the sandbox proves that, and
// names anything that was added.

const isStreamNotFound = (e: unknown): boolean =>
  e instanceof Error && (e.name === "StreamNotFoundError" || /stream not found/i.test(e.message))

/**
 * Where the namespace's log stands: each domain stream's last sequence; for registers, its events
 * (conflicts, violations) counted by subject, and the register changes as the register bucket's
 * last revision (the registers stream sources those on its own schedule).
 */
const logPositions = (nats: NatsHandles, namespace: string) =>
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
    const bucket = `KV_${Subjects.registerBucket(namespace)}`
    positions["register changes"] = yield* Effect.tryPromise(() =>
      nats.jsm.streams
        .info(bucket)
        .then((info) => info.state.last_seq)
        .catch((e) => (isStreamNotFound(e) ? 0 : Promise.reject(e))),
    ).pipe(failedTo(`read the head of ${bucket}`))
    return positions
  })

interface AgentStatus {
  readonly agent: string
  readonly ready: boolean
  readonly reactors: ReadonlyArray<{ name: string; pending: number | null; unacknowledged: number | null }>
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

/**
 * `mesh sandbox`: recorded history (a history file, or a slice of a namespace) re-run through every
 * agent in a sandbox namespace. Reports what the re-run added to the log, the calls the outside
 * world's simulators received, the decisions made anew (a model asked), and where each agent's
 * read models stand; the namespace read from is never written.
 */
export const sandbox = (args: {
  readonly file: Option.Option<string>
  readonly correlation: ReadonlyArray<string>
  readonly aggregate: ReadonlyArray<string>
  readonly into: Option.Option<string>
  readonly keep: boolean
  readonly timeoutSeconds: number
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { url, nats } = yield* scopedNatsTarget(args.natsUrl)
    const now = yield* Clock.currentTimeMillis
    const into = Option.getOrElse(args.into, () => `sandbox${now.toString(36)}`)
    yield* Effect.try({
      try: () => assertNamespace(into),
      catch: (e) => meshError({ _tag: "BadInput", message: `--into: ${(e as Error).message}` }),
    })

    // The history: a file as it was exported, or the slice asked for of a namespace, read only.
    const history = yield* Option.match(args.file, {
      onSome: (file) =>
        Effect.gen(function* () {
          const text = yield* Effect.try({
            try: () => {
              const bytes = readFileSync(file)
              return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8")
            },
            catch: (cause) =>
              meshError({ _tag: "BadInput", message: `cannot read ${file}: ${String(cause)}` }),
          })
          const parsed = parseHistoryFile(text)
          if (Result.isFailure(parsed))
            return yield* meshError({ _tag: "BadInput", message: `${file}: ${parsed.failure}` })
          const commits = selectSlice(parsed.success.commits, {
            correlationIds: args.correlation,
            aggregates: args.aggregate,
            sinceMs: null,
            untilMs: null,
          })
          return {
            source: `${file} (namespace ${parsed.success.header.namespace})`,
            commits,
            objects: parsed.success.objects,
          }
        }),
      onNone: () =>
        Effect.gen(function* () {
          const source = yield* namespaceOf(args.namespace)
          if (source === into)
            return yield* meshError({
              _tag: "BadInput",
              message: "--into must name another namespace than the one read",
            })
          const { commits } = yield* readHistory(nats, source, domains)
          const slice = selectSlice(commits, {
            correlationIds: args.correlation,
            aggregates: args.aggregate,
            sinceMs: null,
            untilMs: null,
          })
          const objects = yield* fetchObjects(nats, source, new Set(slice.flatMap(storedContentHashes)))
          return {
            source: `namespace ${source}`,
            commits: slice,
            objects: new Map(objects.map((o) => [o.sha256, Buffer.from(o.base64, "base64")] as const)),
          }
        }),
    })
    if (history.commits.length === 0)
      return yield* meshError({
        _tag: "Failed",
        message: `nothing to replay: ${history.source} holds no commit that matches`,
      })
    yield* playHistory(nats, into, history)
    const before = yield* logPositions(nats, into)
    yield* Console.error(
      `sandbox namespace ${into}: ${history.commits.length} commits of ${history.source}; starting the mesh on it`,
    )

    const { startMeshStack, meshAgents } = yield* Effect.promise(() => import("@mesh/demo/stack"))
    const stack = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          startMeshStack({
            namespace: into,
            keepData: args.keep,
            nats: { url, source: "the sandbox's NATS" },
            sandbox: true,
          }),
        catch: (cause) =>
          meshError({ _tag: "Failed", message: "could not start the mesh on the sandbox", cause }),
      }),
      (s) => Effect.promise(() => s.stop()),
    )
    const urls = meshAgents.map((agent) => stack.urlOf(agent))

    // Caught up when every reactor has nothing pending or in hand, every projection is at the heads,
    // and the log has stopped growing, three looks in a row.
    const started = yield* Clock.currentTimeMillis
    let quiet = 0
    let last = ""
    let behind: ReadonlyArray<string> = []
    let finalStatuses: ReadonlyArray<AgentStatus | null> = []
    while (quiet < 3) {
      yield* Effect.sleep("1 second")
      finalStatuses = yield* statuses(urls)
      behind = finalStatuses.flatMap((s, i) => behindIn(s, urls[i]!))
      const heads = JSON.stringify(yield* logPositions(nats, into))
      quiet = behind.length === 0 && heads === last ? quiet + 1 : 0
      last = heads
      if ((yield* Clock.currentTimeMillis) - started > args.timeoutSeconds * 1_000)
        return yield* meshError({
          _tag: "Failed",
          message: `the mesh did not catch up on the sandbox within ${args.timeoutSeconds} s: ${behind.slice(0, 3).join("; ") || "the log kept growing"}`,
        })
    }
    const after = yield* logPositions(nats, into)

    // What the re-run added, by stream and type.
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace: into })
    const appended: Record<string, Record<string, number>> = {}
    let decisionsMade = 0
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
              if (event.type === "DecisionRecorded") decisionsMade += 1
            }
          }),
        ),
        failedTo(`read what the replay added to ${position}`),
      )
      appended[position] = types
    }
    const calls = stack.simulators.calls()
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
    const report = {
      source: history.source,
      commits: history.commits.length,
      events: history.commits.reduce((n, c) => n + c.events.length, 0),
      agents: [...meshAgents],
      appended,
      outsideCalls: calls,
      decisionsMadeAnew: decisionsMade,
      projections,
    }
    const clean =
      Object.keys(appended).length === 0 && Object.values(calls).every((n) => n === 0) && decisionsMade === 0
    yield* Console.error(
      `sandbox namespace ${into}${args.keep ? ` kept (data under ${stack.dataDir}; \`mesh dev --with-agents --namespace ${into}\` starts it again)` : " stopped"}`,
    )
    if (args.json) yield* Console.log(JSON.stringify({ ...report, clean }))
    else {
      yield* Console.log(
        `Replayed ${report.events} events (${report.commits} commits) of ${history.source} through ${report.agents.join(", ")}: every reaction and projection ran again`,
      )
      yield* Console.log(
        Object.keys(appended).length === 0
          ? "  appended: nothing (every reaction found its work done)"
          : `  appended: ${Object.entries(appended)
              .map(
                ([d, t]) =>
                  `${d} ${Object.entries(t)
                    .map(([type, n]) => `${n} ${type}`)
                    .join(", ")}`,
              )
              .join("; ")}`,
      )
      yield* Console.log(
        `  outside calls: ${Object.entries(calls)
          .map(([system, n]) => `${system} ${n}`)
          .join(", ")}`,
      )
      yield* Console.log(`  decisions made anew (a model asked): ${decisionsMade}`)
      for (const p of projections)
        yield* Console.log(
          `  ${p.agent} read model ${p.projection}: ${Object.entries(p.checkpoints)
            .map(([d, c]) => `${d} #${c}`)
            .join(", ")}`,
        )
    }
    if (!clean)
      return yield* meshError({
        _tag: "Failed",
        message:
          "the replay was not clean: the mesh added to the log, called outside or asked a model (see above)",
      })
  }).pipe(Effect.scoped)
