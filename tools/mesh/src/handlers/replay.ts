import type { Domain } from "@mesh/contracts"
import { meshCatalog } from "@mesh/contracts"
import { makeEventLog } from "@mesh/eventlog"
import { replayStream } from "@mesh/kernel"
import { Clock, Console, Effect, Option, Stream } from "effect"
import { meshError } from "../errors.ts"
import { meshAggregates } from "../replay/aggregates.ts"
import { stateJson } from "../replay/stateJson.ts"
import type { Since } from "../since.ts"
import { failedTo, namespaceOf, scopedNatsTarget } from "./nats.ts"

/** Where a replay stops: a stream sequence, or an instant. */
export type ReplayUntil =
  | { readonly _tag: "Sequence"; readonly sequence: number }
  | { readonly _tag: "Time"; readonly since: Since }

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
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const head = yield* log.headSequence(args.domain).pipe(failedTo(`read the head of ${args.domain}`))
    const now = yield* Clock.currentTimeMillis
    const until = Option.getOrUndefined(args.until)
    const untilSequence = until?._tag === "Sequence" ? Math.min(until.sequence, head) : head
    const untilTime =
      until?._tag === "Time"
        ? until.since._tag === "At"
          ? until.since.epochMs
          : now - until.since.agoMs
        : undefined
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
          if (!shows(r)) return
          shown += 1
          const state = stateJson(r.state)
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
