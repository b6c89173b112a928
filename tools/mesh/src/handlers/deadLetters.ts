import { randomUUID } from "node:crypto"
import { type Domain, domains, Subjects } from "@mesh/contracts"
import {
  type DeadLetter,
  type DeadLetterOutcome,
  type NatsHandles,
  readDeadLetters,
  settleDeadLetter,
} from "@mesh/eventlog"
import { makeRequestLog, type RedeliveryAnswer, type RedeliveryCommand } from "@mesh/kernel"
import { Clock, Console, Effect, Option } from "effect"
import { meshError } from "../errors.ts"
import { instantOf, type Since } from "../since.ts"
import { failedTo, namespaceOf, personDeciding, scopedNatsTarget } from "./nats.ts"

// Dead letters by filter: listed, handed back to the reaction that gave them up (`retry`, by the
// agent that runs that consumer, over NATS), or discarded. Every retry and discard is recorded in
// the log with the operator who asked before it changes anything; a dead letter is marked settled
// in the dead-letter stream (and no longer lists) only once its reaction ran or its discard is
// recorded. Nothing is deleted: the event stays in the log, the dead letter beside its mark.

/** Which dead letters an operation takes. */
export interface DeadLetterFilter {
  readonly consumer: ReadonlyArray<string>
  /** A domain (`customer`) or a stream's name (`MESH_CUSTOMER`). */
  readonly stream: Option.Option<string>
  readonly type: ReadonlyArray<string>
  /** Text the reason holds, in any case. */
  readonly error: Option.Option<string>
  readonly since: Option.Option<Since>
  readonly until: Option.Option<Since>
}

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

/** The event types a dead-lettered commit holds (none when it is not a commit at all). */
const typesOf = (d: DeadLetter): ReadonlyArray<string> => {
  try {
    const parsed = JSON.parse(textDecoder.decode(d.data)) as unknown
    return (Array.isArray(parsed) ? parsed : [parsed]).flatMap((e) =>
      typeof (e as { type?: unknown })?.type === "string" ? [(e as { type: string }).type] : [],
    )
  } catch {
    return []
  }
}

const hasFilter = (f: DeadLetterFilter) =>
  f.consumer.length > 0 ||
  Option.isSome(f.stream) ||
  f.type.length > 0 ||
  Option.isSome(f.error) ||
  Option.isSome(f.since) ||
  Option.isSome(f.until)

/** The namespace's dead letters that the filter takes, oldest first. */
const selected = (nats: NatsHandles, namespace: string, filter: DeadLetterFilter) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const letters = yield* readDeadLetters(nats, namespace).pipe(
      failedTo(`read the dead letters of namespace ${namespace}`),
    )
    const stream = Option.map(filter.stream, (s) =>
      (domains as ReadonlyArray<string>).includes(s)
        ? Subjects.streamName(namespace, s as Domain)
        : s.toUpperCase(),
    )
    const error = Option.map(filter.error, (e) => e.toLowerCase())
    const since = Option.map(filter.since, (s) => instantOf(s, now))
    const until = Option.map(filter.until, (s) => instantOf(s, now))
    return letters.filter((d) => {
      const at = Date.parse(d.deadLetteredAt)
      return (
        (filter.consumer.length === 0 || filter.consumer.includes(d.consumer)) &&
        Option.match(stream, { onNone: () => true, onSome: (s) => d.originalStream === s }) &&
        (filter.type.length === 0 || typesOf(d).some((t) => filter.type.includes(t))) &&
        Option.match(error, { onNone: () => true, onSome: (e) => d.reason.toLowerCase().includes(e) }) &&
        Option.match(since, { onNone: () => true, onSome: (s) => at >= s }) &&
        Option.match(until, { onNone: () => true, onSome: (u) => at <= u })
      )
    })
  })

const deadLetterJson = (d: DeadLetter) => ({
  sequence: d.sequence,
  consumer: d.consumer,
  originalStream: d.originalStream,
  originalSequence: d.originalSequence,
  originalSubject: d.originalSubject,
  types: typesOf(d),
  deliveries: d.deliveries,
  reason: d.reason,
  deadLetteredAt: d.deadLetteredAt,
  // The dead-lettered message as stored: an event's JSON, as text.
  data: textDecoder.decode(d.data),
})

const describe = (d: DeadLetter) =>
  `#${d.sequence} ${d.consumer} gave up on ${d.originalStream}#${d.originalSequence} (${typesOf(d).join(", ") || d.originalSubject}) after ${d.deliveries} deliveries at ${d.deadLetteredAt}: ${d.reason}`

/** `mesh dead-letters`: what consumers gave up on, and why, by filter. */
export const list = (
  args: DeadLetterFilter & {
    readonly json: boolean
    readonly natsUrl: Option.Option<string>
    readonly namespace: Option.Option<string>
  },
) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const letters = yield* selected(nats, namespace, args)
    for (const d of letters) yield* Console.log(args.json ? JSON.stringify(deadLetterJson(d)) : describe(d))
    if (!args.json) yield* Console.log(`${letters.length} dead letters`)
  }).pipe(Effect.scoped)

interface BulkArgs extends DeadLetterFilter {
  readonly all: boolean
  readonly dryRun: boolean
  readonly as: Option.Option<string>
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}

/** The dead letters a bulk operation takes: a filter, or `--all` said out loud. */
const bulkSelection = (args: BulkArgs, verb: string) =>
  Effect.gen(function* () {
    if (!hasFilter(args) && !args.all)
      return yield* meshError({
        _tag: "BadInput",
        message: `say which dead letters to ${verb}: --consumer, --stream, --type, --error, --since or --until, or --all`,
      })
    const operator = yield* personDeciding(args.as)
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    return { operator, nats, namespace, letters: yield* selected(nats, namespace, args) }
  })

/** Marks a dead letter settled, once what was done with it is recorded: it no longer lists. */
const settle = (
  nats: NatsHandles,
  namespace: string,
  d: DeadLetter,
  outcome: DeadLetterOutcome,
  operator: string,
) =>
  settleDeadLetter(nats, namespace, d, outcome, operator).pipe(
    failedTo(`settle dead letter #${d.sequence} of ${Subjects.deadLetterStream(namespace)}`),
  )

const outcomeLine = (
  args: { readonly json: boolean },
  d: DeadLetter,
  outcome: { readonly outcome: string; readonly detail: string },
) =>
  Console.log(
    args.json
      ? JSON.stringify({
          sequence: d.sequence,
          consumer: d.consumer,
          originalStream: d.originalStream,
          originalSequence: d.originalSequence,
          ...outcome,
        })
      : `#${d.sequence} ${d.consumer} ${d.originalStream}#${d.originalSequence}: ${outcome.outcome}${outcome.detail === "" ? "" : ` (${outcome.detail})`}`,
  )

/**
 * `mesh dead-letters retry`: each dead letter the filter takes, oldest first, handed to one
 * instance of the agent that runs its consumer, which records the operator's request and runs the
 * reaction on the event as the log holds it. One that reacted is marked settled; one that fails
 * again stays, with the new reason shown. Exit 1 when any stayed.
 */
export const retry = (args: BulkArgs) =>
  Effect.gen(function* () {
    const { operator, nats, namespace, letters } = yield* bulkSelection(args, "retry")
    const invocation = randomUUID()
    let failed = 0
    for (const d of letters) {
      if (args.dryRun) {
        yield* outcomeLine(args, d, { outcome: "would retry", detail: d.reason })
        continue
      }
      const command: RedeliveryCommand = {
        consumer: d.consumer,
        stream: d.originalStream,
        sequence: d.originalSequence,
        operator,
        // Each try is a request of its own, recorded as such.
        requestId: `redeliver-${Subjects.deadLetterStream(namespace)}-${d.sequence}-${invocation}`,
      }
      const answer = yield* Effect.tryPromise(() =>
        nats.connection
          .request(
            Subjects.operatorRedelivery(namespace, d.consumer),
            textEncoder.encode(JSON.stringify(command)),
            {
              timeout: 60_000,
            },
          )
          .then((m) => JSON.parse(textDecoder.decode(m.data)) as RedeliveryAnswer),
      ).pipe(
        Effect.catch((e) => {
          const cause = (e as { readonly cause?: unknown }).cause ?? e
          const message = String((cause as Error)?.message ?? cause)
          return Effect.succeed<RedeliveryAnswer>({
            ok: false,
            agent: "?",
            error: /no responders|503/i.test(message)
              ? `no running agent runs consumer ${d.consumer}`
              : `no answer: ${message}`,
          })
        }),
      )
      if (answer.ok) {
        yield* settle(nats, namespace, d, "retried", operator)
        yield* outcomeLine(args, d, {
          outcome: "retried",
          detail: `${answer.agent} reacted to ${answer.events} events, ${answer.commands} commands`,
        })
      } else {
        failed += 1
        yield* outcomeLine(args, d, { outcome: "still failing", detail: answer.error })
      }
    }
    if (!args.json)
      yield* Console.log(
        `${letters.length} dead letters ${args.dryRun ? "would be retried" : `retried: ${letters.length - failed} reacted, ${failed} still dead-lettered`}`,
      )
    if (failed > 0)
      return yield* meshError({
        _tag: "Failed",
        message: `${failed} dead letters still fail; they stay dead-lettered`,
      })
  }).pipe(Effect.scoped)

/**
 * `mesh dead-letters discard --reason`: each dead letter the filter takes recorded in the log as
 * discarded by the operator, with the reason, then marked settled. The event
 * stays in the log; its consumer never reacts to it.
 */
export const discard = (args: BulkArgs & { readonly reason: string }) =>
  Effect.gen(function* () {
    if (args.reason.trim() === "")
      return yield* meshError({ _tag: "BadInput", message: "--reason must say why (it is recorded)" })
    const { operator, nats, namespace, letters } = yield* bulkSelection(args, "discard")
    const invocation = randomUUID()
    const requests = makeRequestLog({ nats, namespace })
    for (const d of letters) {
      if (args.dryRun) {
        yield* outcomeLine(args, d, { outcome: "would discard", detail: d.reason })
        continue
      }
      yield* requests
        .record({
          requestId: `discard-${Subjects.deadLetterStream(namespace)}-${d.sequence}-${invocation}`,
          agent: "mesh",
          name: "DiscardDeadLetter",
          origin: "cli",
          actor: { kind: "human", id: operator },
          body: {
            consumer: d.consumer,
            stream: d.originalStream,
            sequence: d.originalSequence,
            types: [...typesOf(d)],
            failure: d.reason,
            reason: args.reason,
          },
        })
        .pipe(failedTo(`record the discard of dead letter #${d.sequence}`))
      yield* settle(nats, namespace, d, "discarded", operator)
      yield* outcomeLine(args, d, { outcome: "discarded", detail: "" })
    }
    if (!args.json)
      yield* Console.log(`${letters.length} dead letters ${args.dryRun ? "would be discarded" : "discarded"}`)
  }).pipe(Effect.scoped)
