import { Console, Effect, type Option } from "effect"
import { meshError } from "../errors.ts"
import { selectSlice } from "../history/selection.ts"
import { playHistory } from "./history.ts"
import { appendedLine, intoNamespace, recordedHistory, runMeshOn } from "./meshRun.ts"
import { scopedNatsTarget } from "./nats.ts"

// A sandbox replay runs recorded history through the whole mesh again: the history is played into
// a namespace of its own, and every agent and the conflict resolver start on it as they would in
// production, each with read models and memory of its own, the outside world replaced by
// simulators that only count, no model server, and nothing the clock drives. Every reaction then
// meets its cause again. A mesh whose reactions are idempotent and whose decisions are recorded
// adds nothing to the log, calls nothing outside and asks no model: the sandbox proves that, and
// names anything that was added.

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
    const into = yield* intoNamespace(args.into, "sandbox")
    const recorded = yield* recordedHistory(nats, args.file, args.namespace, into)
    const commits = selectSlice(recorded.commits, {
      correlationIds: args.correlation,
      aggregates: args.aggregate,
      sinceMs: null,
      untilMs: null,
    })
    const history = { source: recorded.source, commits, objects: yield* recorded.objectsFor(commits) }
    if (history.commits.length === 0)
      return yield* meshError({
        _tag: "Failed",
        message: `nothing to replay: ${history.source} holds no commit that matches`,
      })
    yield* playHistory(nats, into, history)
    yield* Console.error(
      `sandbox namespace ${into}: ${history.commits.length} commits of ${history.source}; starting the mesh on it`,
    )
    const run = yield* runMeshOn({
      nats,
      url,
      namespace: into,
      keep: args.keep,
      timeoutSeconds: args.timeoutSeconds,
      holdActions: false,
      replay: true,
      what: "the sandbox",
    })
    const { appended, outsideCalls: calls, decisionsMadeAnew: decisionsMade, projections } = run
    const report = {
      source: history.source,
      commits: history.commits.length,
      events: history.commits.reduce((n, c) => n + c.events.length, 0),
      agents: run.agents,
      appended,
      outsideCalls: calls,
      // What the outside world was asked to do, by idempotency key: the first thing an SRE asks of
      // a replay that was not clean.
      outsideEffects: run.outsideEffects,
      decisionsMadeAnew: decisionsMade,
      // Reactions whose commands the log held but which the code running now decides otherwise:
      // where this build departs from the recorded history.
      decidedOtherwise: run.decidedOtherwise,
      projections,
    }
    // Clean is the replay's safety: nothing added, nothing done outside, no model asked. A reaction
    // deciding otherwise breaks none of it (the replay appends nothing for it); it says where this
    // build, or a changed history, parts from the recorded day, and it is reported beside, not as a
    // failure. Each reaction decides as of its cause (MESH_REPLAY): what it read then, not the day's end.
    const departures = run.decidedOtherwise.reduce((n, r) => n + r.count, 0)
    const clean =
      Object.keys(appended).length === 0 && Object.values(calls).every((n) => n === 0) && decisionsMade === 0
    if (args.json) yield* Console.log(JSON.stringify({ ...report, clean }))
    else {
      yield* Console.log(
        `Replayed ${report.events} events (${report.commits} commits) of ${history.source} through ${report.agents.join(", ")}: every reaction and projection ran again`,
      )
      yield* Console.log(
        Object.keys(appended).length === 0
          ? "  appended: nothing (every reaction found its work done)"
          : `  appended: ${appendedLine(appended)}`,
      )
      yield* Console.log(
        `  outside calls: ${Object.entries(calls)
          .map(([system, n]) => `${system} ${n}`)
          .join(", ")}`,
      )
      for (const effect of run.outsideEffects)
        yield* Console.log(`    ${effect.system} ${effect.operation} ${effect.resource} (key ${effect.key})`)
      yield* Console.log(`  decisions made anew (a model asked): ${decisionsMade}`)
      yield* Console.log(
        `  reactions decided otherwise than recorded: ${departures}${departures === 0 ? "" : " (nothing appended or stored for them: the recorded events and register values stand)"}`,
      )
      for (const r of run.decidedOtherwise) {
        yield* Console.log(
          `    ${r.agent} ${r.reactor}: ${r.count}${r.count > r.latest.length ? `, the latest ${r.latest.length}:` : ""}`,
        )
        for (const d of r.latest)
          yield* Console.log(`      ${d.cause.type} ${d.cause.eventId} -> ${d.aggregate}: ${d.difference}`)
      }
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
