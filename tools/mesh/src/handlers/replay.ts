import type { Domain } from "@mesh/contracts"
import { type EventDefinition, meshCatalog } from "@mesh/contracts"
import { type EventLog, makeEventLog } from "@mesh/eventlog"
import { replayStream } from "@mesh/kernel"
import { Clock, Console, Effect, Option, Stream } from "effect"
import { meshError } from "../errors.ts"
import { meshAggregates } from "../replay/aggregates.ts"
import { stateJson } from "../replay/stateJson.ts"
import { initialStepper, pressKey, renderStep, type Step } from "../replay/stepper.ts"
import { instantOf, type Since } from "../since.ts"
import { failedTo, namespaceOf, scopedNatsTarget } from "./nats.ts"

/** Where a replay stops: a stream sequence, or an instant. */
export type ReplayUntil =
  | { readonly _tag: "Sequence"; readonly sequence: number }
  | { readonly _tag: "Time"; readonly since: Since }

/** The decision an event names: its own `decisionId`, or its cause's (an action's). */
const decisionIdOf = (payloadJson: string): string | undefined => {
  const payload = JSON.parse(payloadJson) as { decisionId?: unknown; cause?: { decisionId?: unknown } }
  const id = payload.decisionId ?? payload.cause?.decisionId
  return typeof id === "string" ? id : undefined
}

/** Recorded content as the step mode shows it: its text when the event holds it, else what it is. */
const contentText = (content: unknown): string | null => {
  if (content === null || typeof content !== "object") return null
  const c = content as { _tag?: string; text?: string; sha256?: string; bytes?: number }
  if (c._tag === "Inline" && c.text !== undefined) return clip(c.text, 600)
  return `(${c._tag === "Stored" ? "in the object store" : "hash only"}: sha256 ${c.sha256}, ${c.bytes} bytes)`
}

/** The recorded decisions the steps name, from the decisions stream, by decision id. */
const decisionsNamedBy = <D extends EventDefinition>(log: EventLog<D>, steps: ReadonlyArray<Step>) =>
  Effect.gen(function* () {
    const wanted = new Set(steps.map((s) => decisionIdOf(s.payload)).filter((id) => id !== undefined))
    const found = new Map<string, NonNullable<Step["decision"]>>()
    if (wanted.size === 0) return found
    const head = yield* log.headSequence("decisions").pipe(Effect.orElseSucceed(() => 0))
    yield* log.readRange("decisions", { fromSequence: 1, toSequence: head }).pipe(
      Stream.runForEach((commit) =>
        Effect.sync(() => {
          for (const e of commit.events) {
            const p = e.payload as {
              decisionId?: string
              skill?: string
              promptVersion?: string
              input?: unknown
              output?: unknown
              retrieved?: ReadonlyArray<{ memoryId: string }>
            }
            if (e.type !== "DecisionRecorded" || p.decisionId === undefined || !wanted.has(p.decisionId))
              continue
            found.set(p.decisionId, {
              decisionId: p.decisionId,
              skill: p.skill ?? "?",
              promptVersion: p.promptVersion ?? "?",
              input: contentText(p.input),
              retrieved: (p.retrieved ?? []).map((r) => r.memoryId),
              output: contentText(p.output),
            })
          }
        }),
      ),
      failedTo("read the decisions the events name"),
    )
    return found
  })

/** Steps through the replayed events on the terminal until the user quits. */
const stepThrough = (steps: ReadonlyArray<Step>) =>
  Effect.callback<void>((resume) => {
    const stdin = process.stdin
    let state = initialStepper
    const draw = () =>
      process.stdout.write(
        `\x1b[2J\x1b[H${renderStep(steps, state, process.stdout.columns ?? 120).join("\n")}\n`,
      )
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8")
      // Arrow keys arrive as one escape sequence; anything else is one key per character.
      const keys = text.startsWith("\x1b[") ? [text] : [...text]
      for (const key of keys) state = pressKey(state, key, steps)
      if (state.done) {
        finish()
        resume(Effect.void)
      } else draw()
    }
    const finish = () => {
      stdin.off("data", onData)
      stdin.setRawMode(false)
      stdin.pause()
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on("data", onData)
    draw()
    return Effect.sync(finish)
  })

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/**
 * `mesh replay <domain>`: the domain's stream from its first event, each decoded, upcast and folded
 * through its agent's decider, printing the events asked for (one aggregate, one chain, or all from
 * `--from`) with the aggregate's state after each, up to `--until` (a sequence or a time). It reads
 * only: nothing is appended, no reaction runs, no connector or model is called.
 */
export const replay = (args: {
  readonly domain: Domain
  readonly aggregate: Option.Option<string>
  readonly correlation: Option.Option<string>
  readonly from: number
  readonly until: Option.Option<ReplayUntil>
  readonly step: boolean
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    if (args.step && (process.stdin.isTTY !== true || process.stdout.isTTY !== true))
      return yield* meshError({
        _tag: "BadInput",
        message: "--step needs a terminal: stdin and stdout must be one (run it in a shell, or drop --step)",
      })
    if (args.step && args.json)
      return yield* meshError({ _tag: "BadInput", message: "--step and --json do not go together: pick one" })
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const head = yield* log.headSequence(args.domain).pipe(failedTo(`read the head of ${args.domain}`))
    const now = yield* Clock.currentTimeMillis
    const until = Option.getOrUndefined(args.until)
    const untilSequence = until?._tag === "Sequence" ? Math.min(until.sequence, head) : head
    const untilTime = until?._tag === "Time" ? instantOf(until.since, now) : undefined
    const aggregate = Option.getOrUndefined(args.aggregate)
    const correlation = Option.getOrUndefined(args.correlation)
    const shows = (r: { sequence: number; aggregate: string; event: { correlationId: string } }) =>
      r.sequence >= args.from &&
      (aggregate === undefined || r.aggregate === aggregate) &&
      (correlation === undefined || r.event.correlationId === correlation)
    const replayed = yield* replayStream(log, {
      domain: args.domain,
      aggregates: meshAggregates,
      untilSequence,
      ...(untilTime === undefined ? {} : { untilTime }),
    }).pipe(failedTo(`replay ${args.domain}`))
    // A long replay shows how far it is on a terminal: events per second and the time left.
    const progress = process.stderr.isTTY === true && untilSequence > 5_000
    const started = Date.now()
    let lastShown = started
    let events = 0
    let shown = 0
    let lastSequence = 0
    const aggregates = new Set<string>()
    // The step mode keeps what it shows, with each aggregate's state before the event.
    const steps: Array<Step> = []
    const lastState = new Map<string, string | null>()
    yield* replayed.pipe(
      Stream.runForEach((r) =>
        Effect.gen(function* () {
          events += 1
          lastSequence = r.sequence
          aggregates.add(r.aggregate)
          if (progress && Date.now() - lastShown > 250) {
            lastShown = Date.now()
            const rate = (r.sequence * 1_000) / Math.max(1, lastShown - started)
            process.stderr.write(
              `\rreplaying ${args.domain}: #${r.sequence} of ${untilSequence} (${Math.round((100 * r.sequence) / untilSequence)}%), ${Math.round(rate)} events/s, ${Math.ceil((untilSequence - r.sequence) / Math.max(1, rate))} s left `,
            )
          }
          const state = stateJson(r.state)
          const before = lastState.get(r.aggregate) ?? null
          lastState.set(r.aggregate, state ?? null)
          if (!shows(r)) return
          shown += 1
          if (args.step) {
            steps.push({
              sequence: r.sequence,
              aggregate: r.aggregate,
              version: r.version,
              type: r.event.type,
              occurredAt: r.event.occurredAt,
              by: `${r.event.actor.kind}:${r.event.actor.id}`,
              payload: JSON.stringify(r.event.payload),
              before,
              after: state ?? null,
            })
            return
          }
          if (args.json)
            return yield* Console.log(
              JSON.stringify({
                sequence: r.sequence,
                aggregate: r.aggregate,
                version: r.version,
                type: r.event.type,
                eventId: r.event.eventId,
                occurredAt: r.event.occurredAt,
                correlationId: r.event.correlationId,
                causationId: r.event.causationId,
                state: state === undefined ? null : JSON.parse(state),
              }),
            )
          yield* Console.log(
            `#${r.sequence} ${r.event.occurredAt} ${r.aggregate} v${r.version} ${r.event.type} → ${state === undefined ? "(no decider folds this aggregate type)" : aggregate === undefined ? clip(state, 240) : state}`,
          )
        }),
      ),
      failedTo(`replay ${args.domain}`),
    )
    if (progress) process.stderr.write("\n")
    if (args.step) {
      if (steps.length === 0)
        return yield* meshError({
          _tag: "Failed",
          message: `nothing to step through in ${args.domain} of namespace ${namespace}`,
        })
      const decisions = yield* decisionsNamedBy(log, steps)
      return yield* stepThrough(
        steps.map((s) => {
          const id = decisionIdOf(s.payload)
          const decision = id === undefined ? undefined : decisions.get(id)
          return decision === undefined ? s : { ...s, decision }
        }),
      )
    }
    if (shown === 0 && (aggregate !== undefined || correlation !== undefined))
      return yield* meshError({
        _tag: "Failed",
        message: `no event of ${args.domain} in namespace ${namespace} up to #${lastSequence || untilSequence} is ${aggregate === undefined ? `of chain ${correlation}` : `of aggregate ${aggregate}`}`,
      })
    // What was replayed goes to stdout, the same bytes every time; how long it took, to stderr.
    if (!args.json)
      yield* Console.log(
        `replayed ${events} events of ${aggregates.size} aggregates up to #${lastSequence} (${shown} shown); nothing was appended and nothing called`,
      )
    yield* Console.error(`replay took ${Date.now() - started} ms`)
  }).pipe(Effect.scoped)
