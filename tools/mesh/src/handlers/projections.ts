import { randomUUID } from "node:crypto"
import { Subjects } from "@mesh/contracts"
import type { NatsHandles } from "@mesh/eventlog"
import type { RebuildAnswer, RebuildCommand } from "@mesh/kernel"
import { createInbox } from "@nats-io/transport-node"
import { Clock, Console, Effect, Option } from "effect"
import { meshError } from "../errors.ts"
import {
  askEveryInstance,
  failedTo,
  instanceNames,
  namespaceOf,
  personDeciding,
  scopedNatsTarget,
} from "./nats.ts"

// `mesh projections` asks the running agents over NATS: every instance answers on one subject
// with its projections and where each stands, so no address of an agent is needed. A rebuild goes
// to one instance of the agent that owns the projection, which records it in the log with the
// operator who asked, rebuilds into shadow tables while the live ones serve, and swaps them in.

interface StreamStatus {
  readonly domain: string
  readonly checkpoint: number
  readonly head: number
  readonly lag: number
}

interface ProjectionStatus {
  readonly projection: string
  readonly version: number
  readonly liveVersion?: number
  readonly streams: ReadonlyArray<StreamStatus>
  readonly lag: number
  readonly skipped: Readonly<Record<string, number>>
  /** The rebuild running now on some instance (its lease's holder), absent when none. */
  readonly rebuilding?: { readonly holder: string; readonly version: number; readonly startedAt: string }
}

/** One projection of one agent instance, as it answered. */
export interface ProjectionRow {
  readonly agent: string
  readonly instance: string
  readonly projection: string
  /** Null when the instance could not say (its read model unreachable, still setting up). */
  readonly status: ProjectionStatus | null
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/**
 * How many times a rebuild aimed at one version (--to) is asked before giving up: instances answer
 * at random, so with half of them of the version asked for, twelve tries miss it once in 4,096.
 */
const rebuildAttempts = 12

/** Every running instance's projections, as they answered within a moment. */
const askProjections = (nats: NatsHandles, namespace: string) =>
  Effect.gen(function* () {
    const answers = yield* askEveryInstance<{
      readonly agent: string
      readonly instance: string
      readonly projections: ReadonlyArray<ProjectionRow>
    }>(nats, namespace, "projections")
    const rows: Array<ProjectionRow> = []
    const seen = new Set<string>()
    for (const answer of answers)
      for (const p of answer.projections) {
        const key = `${answer.agent}/${answer.instance}/${p.projection}`
        if (seen.has(key)) continue
        seen.add(key)
        rows.push({
          agent: answer.agent,
          instance: answer.instance,
          projection: p.projection,
          status: p.status,
        })
      }
    rows.sort((a, b) =>
      `${a.agent} ${a.projection} ${a.instance}`.localeCompare(`${b.agent} ${b.projection} ${b.instance}`),
    )
    return rows
  })

const streamsLine = (status: ProjectionStatus) =>
  status.streams.map((s) => `${s.domain} #${s.checkpoint}/${s.head}`).join(", ")

/** `mesh projections`: every running agent's projections, with their version, lag and checkpoints. */
export const list = (args: {
  readonly agent: Option.Option<string>
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const rows = (yield* askProjections(nats, namespace)).filter((r) =>
      Option.match(args.agent, { onNone: () => true, onSome: (a) => r.agent === a }),
    )
    if (args.json) {
      for (const r of rows) yield* Console.log(JSON.stringify(r))
      return
    }
    const who = instanceNames(rows)
    const version = (status: ProjectionStatus) =>
      `v${status.version}${status.liveVersion !== undefined && status.liveVersion !== status.version ? ` (live v${status.liveVersion})` : ""}${status.rebuilding == null ? "" : ` (rebuilding to v${status.rebuilding.version} on ${status.rebuilding.holder} since ${status.rebuilding.startedAt})`}`
    const table = rows.map((r) => [
      who(r),
      r.projection,
      r.status === null ? "?" : version(r.status),
      r.status === null ? "?" : String(r.status.lag),
      r.status === null ? "unavailable" : streamsLine(r.status),
    ])
    const header = ["AGENT", "PROJECTION", "VERSION", "LAG", "CHECKPOINTS (stream #applied/head)"]
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)))
    for (const row of [header, ...table])
      yield* Console.log(
        row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "),
      )
    yield* Console.log(`${rows.length} projections`)
  }).pipe(Effect.scoped)

/**
 * `mesh projections rebuild <projection>`: one instance of the agent that owns it rebuilds it from
 * the log into shadow tables while the live ones serve, and swaps them in; progress on stderr.
 */
export const rebuild = (args: {
  readonly projection: string
  readonly agent: Option.Option<string>
  readonly as: Option.Option<string>
  readonly timeoutSeconds: number
  readonly rollback: boolean
  readonly to: Option.Option<number>
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const operator = yield* personDeciding(args.as)
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const rows = yield* askProjections(nats, namespace)
    const owners = rows.filter(
      (r) =>
        r.projection === args.projection &&
        Option.match(args.agent, { onNone: () => true, onSome: (a) => r.agent === a }),
    )
    const agents = [...new Set(owners.map((r) => r.agent))]
    if (agents.length === 0)
      return yield* meshError({
        _tag: "BadInput",
        message: `no running agent${Option.isSome(args.agent) ? ` ${args.agent.value}` : ""} has projection ${args.projection} (running: ${
          [...new Set(rows.map((r) => `${r.agent} ${r.projection}`))].join(", ") || "none"
        })`,
      })
    if (agents.length > 1)
      return yield* meshError({
        _tag: "BadInput",
        message: `projection ${args.projection} is in several agents (${agents.join(", ")}): say which with --agent`,
      })
    const agent = agents[0]!
    // What the rebuild has to read, from the answering instance's heads, for the progress line.
    const total = owners[0]?.status?.streams.reduce((n, s) => n + s.head, 0) ?? 0

    const inbox = createInbox()
    const progress = nats.connection.subscribe(inbox)
    yield* Effect.addFinalizer(() => Effect.sync(() => progress.unsubscribe()))
    const startedAt = yield* Clock.currentTimeMillis
    const tty = process.stderr.isTTY === true
    let lastLine = 0
    void (async () => {
      for await (const m of progress) {
        let p: { events: number; checkpoints: Record<string, number> }
        try {
          p = JSON.parse(textDecoder.decode(m.data))
        } catch {
          continue
        }
        const now = Date.now()
        if (!tty && now - lastLine < 1_000) continue
        lastLine = now
        const at = Object.values(p.checkpoints).reduce((n, c) => n + c, 0)
        const rate = p.events / Math.max(0.001, (now - startedAt) / 1_000)
        const left =
          total > at && rate > 0
            ? ` ~${Math.ceil((total - at) / Math.max(1, (at * 1_000) / Math.max(1, now - startedAt)))} s left,`
            : ""
        const line = `rebuilding ${agent} ${args.projection}: ${p.events} events applied, ${total > 0 ? `${Math.min(100, Math.floor((at / total) * 100))}% of the log read,` : ""}${left} ${Math.round(rate)} events/s`
        process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`)
      }
    })()

    if (Option.isSome(args.to) && (!Number.isInteger(args.to.value) || args.to.value < 1))
      return yield* meshError({
        _tag: "BadInput",
        message: `--to ${args.to.value}: a version is a whole number ≥ 1`,
      })
    const command: RebuildCommand = {
      projection: args.projection,
      operator,
      requestId: `rebuild-${args.projection}-${randomUUID()}`,
      progress: inbox,
      // A version named is the operator's choice either way: back as well as forward.
      ...(args.rollback || Option.isSome(args.to) ? { rollback: true } : {}),
      ...(Option.isSome(args.to) ? { version: args.to.value } : {}),
    }
    // Any instance of the agent may take the command; one of another version than --to declines
    // before doing anything, and the command goes again (the same request id) to whichever answers next.
    const versionsSeen = new Set<number>()
    let outcome: RebuildAnswer | undefined
    for (let attempt = 0; attempt < rebuildAttempts; attempt++) {
      const answer = yield* Effect.tryPromise(() =>
        nats.connection.request(
          Subjects.operatorCommand(namespace, agent, "rebuild"),
          textEncoder.encode(JSON.stringify(command)),
          { timeout: args.timeoutSeconds * 1_000 },
        ),
      ).pipe(failedTo(`have ${agent} rebuild ${args.projection} within ${args.timeoutSeconds} s`))
      outcome = JSON.parse(textDecoder.decode(answer.data)) as RebuildAnswer
      if (outcome.ok || outcome.otherVersion === undefined) break
      versionsSeen.add(outcome.otherVersion)
      outcome = undefined
    }
    if (tty) process.stderr.write("\r\x1b[2K")
    if (outcome === undefined)
      return yield* meshError({
        _tag: "Failed",
        message: `no instance of ${agent} running ${args.projection} v${Option.getOrElse(args.to, () => 0)} answered in ${rebuildAttempts} tries (the instances that did run ${[...versionsSeen].map((v) => `v${v}`).join(", ")})`,
      })
    if (!outcome.ok)
      return yield* meshError({
        _tag: "Failed",
        message: `${agent} did not rebuild ${args.projection}: ${outcome.error}`,
      })
    const report = outcome.report as {
      version: number
      events: number
      durationMs: number
      checkpoints: Record<string, number>
    }
    if (args.json)
      yield* Console.log(JSON.stringify({ agent, instance: outcome.instance, operator, ...report }))
    else
      yield* Console.log(
        `rebuilt ${agent} ${args.projection} v${report.version} on ${outcome.instance}: ${report.events} events in ${report.durationMs} ms, live at ${Object.entries(
          report.checkpoints,
        )
          .map(([stream, at]) => `${stream} #${at}`)
          .join(", ")}; recorded as asked by ${operator}`,
      )
  }).pipe(Effect.scoped)
