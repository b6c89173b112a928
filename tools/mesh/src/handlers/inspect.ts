import { type Domain, type EventEnvelope, meshCatalog, Subjects } from "@mesh/contracts"
import { makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { DeliverPolicy } from "@nats-io/jetstream"
import { Clock, Console, Effect, Option, Stream } from "effect"
import { instantOf, type Since } from "../since.ts"
import { connectionLost, failedTo, namespaceOf, scopedNatsTarget } from "./nats.ts"

/** One line per event: where, when, what, who, its ids (event, correlation, causation) and the payload. */
export const formatEvent = (sequence: number | undefined, e: EventEnvelope): string =>
  `${sequence === undefined ? "" : `#${sequence} `}${e.occurredAt} ${e.aggregateType}/${e.aggregateId} v${e.aggregateVersion} ${e.type} by ${e.actor.kind}:${e.actor.id} event=${e.eventId} correlation=${e.correlationId} causation=${e.causationId ?? "-"} ${JSON.stringify(e.payload)}`

/** An event as one JSON line: its envelope, and its stream sequence when known. */
const eventJson = (sequence: number | undefined, e: EventEnvelope): string =>
  JSON.stringify(sequence === undefined ? e : { sequence, ...e })

const printEvent = (json: boolean) => (sequence: number | undefined, e: EventEnvelope) =>
  Console.log(json ? eventJson(sequence, e) : formatEvent(sequence, e))

/**
 * The first sequence of `stream` stored at or after `at` (past the head when none is), from an
 * ordered consumer starting at that time: direct get by time needs nats-server 2.11.
 */
const firstSequenceSince = (nats: NatsHandles, stream: string, at: Date, head: number) =>
  Effect.tryPromise(async () => {
    const consumer = await nats.js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: at.toISOString(),
    })
    const pending = (await consumer.info(true)).num_pending
    const first = pending === 0 ? null : await consumer.next({ expires: 5_000 })
    await consumer.delete().catch(() => false)
    return first?.seq ?? head + 1
  })

/**
 * The first sequence stored since the instant `--since` names: a time as given, or a duration back
 * from now. A future time has nothing yet (and one past 2262 would overflow the server's clock).
 */
export const sequenceSince = (nats: NatsHandles, stream: string, since: Since, head: number) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const at = instantOf(since, now)
    return at > now ? Effect.succeed(head + 1) : firstSequenceSince(nats, stream, new Date(at), head)
  })

/** `mesh tail`: a domain's events from a sequence or an instant, then live unless `noFollow`. */
export const tail = (args: {
  readonly domain: Domain
  readonly from: number
  readonly since: Option.Option<Since>
  readonly noFollow: boolean
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { url, nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const stream = Subjects.streamName(namespace, args.domain)
    const head = yield* log.headSequence(args.domain).pipe(failedTo(`read the head of ${stream}`))
    const since = Option.isSome(args.since)
      ? yield* sequenceSince(nats, stream, args.since.value, head).pipe(
          failedTo(`find where ${stream} reaches the --since time`),
        )
      : 1
    const fromSequence = Math.max(args.from, since)
    if (args.noFollow && fromSequence > head) return
    const print = printEvent(args.json)
    const commits = log.follow(args.domain, { fromSequence })
    yield* (args.noFollow ? commits.pipe(Stream.takeUntil((c) => c.sequence >= head)) : commits).pipe(
      Stream.runForEach((commit) =>
        Effect.forEach(commit.events, (e) => print(commit.sequence, e), { discard: true }),
      ),
      failedTo(`follow ${stream}`),
      // Following never ends by itself: a lost server must end it, not leave it waiting.
      args.noFollow ? (effect) => effect : Effect.raceFirst(connectionLost(nats, url)),
    )
  }).pipe(Effect.scoped)

/** `mesh history`: one aggregate's history, upcast and decoded. */
export const history = (args: {
  readonly domain: Domain
  readonly aggregateType: string
  readonly aggregateId: string
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace: yield* namespaceOf(args.namespace) })
    const ref = `${args.domain}/${args.aggregateType}/${args.aggregateId}`
    const loaded = yield* log
      .load({ domain: args.domain, type: args.aggregateType, id: args.aggregateId })
      .pipe(failedTo(`read the history of ${ref}`))
    const print = printEvent(args.json)
    for (const e of loaded.events) yield* print(undefined, e)
    if (!args.json) yield* Console.log(`${loaded.events.length} events; version ${loaded.position.version}`)
  }).pipe(Effect.scoped)
