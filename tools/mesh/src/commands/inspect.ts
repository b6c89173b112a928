import { type Domain, domains, type EventEnvelope, meshCatalog } from "@mesh/contracts"
import { makeEventLog, openNats, readDeadLetters } from "@mesh/eventlog"
import { Console, Effect, Option, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { namespaceOf, natsTarget } from "../target.ts"
import { namespaceFlag, natsUrlFlag } from "./streams.ts"

const connect = (flag: Option.Option<string>) =>
  Effect.acquireRelease(
    Effect.tryPromise(() => openNats(natsTarget(Option.getOrUndefined(flag)), "mesh-cli")),
    (h) => Effect.promise(() => h.connection.drain()),
  )

const domainArgument = Argument.String("domain").pipe(
  Argument.withDescription(`one of ${domains.join(", ")}`),
)

const asDomain = (value: string): Effect.Effect<Domain, Error> =>
  (domains as ReadonlyArray<string>).includes(value)
    ? Effect.succeed(value as Domain)
    : Effect.fail(new Error(`unknown domain ${JSON.stringify(value)}: expected one of ${domains.join(", ")}`))

/** One line per event: where, what, who and the payload. */
export const formatEvent = (sequence: number | undefined, e: EventEnvelope): string =>
  `${sequence === undefined ? "" : `#${sequence} `}${e.occurredAt} ${e.aggregateType}/${e.aggregateId} v${e.aggregateVersion} ${e.type} by ${e.actor.kind}:${e.actor.id} ${JSON.stringify(e.payload)}`

/** `mesh tail <domain>`: prints a domain's events from a sequence, then follows live. */
export const tailCommand = Command.make(
  "tail",
  {
    domain: domainArgument,
    from: Flag.Int("from").pipe(Flag.withDefault(1), Flag.withDescription("first stream sequence")),
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) =>
    Effect.gen(function* () {
      const domain = yield* asDomain(args.domain)
      const nats = yield* connect(args.natsUrl)
      const log = makeEventLog({
        nats,
        catalog: meshCatalog,
        namespace: namespaceOf(Option.getOrUndefined(args.namespace)),
      })
      yield* log.follow(domain, { fromSequence: args.from }).pipe(
        Stream.runForEach((commit) =>
          Effect.forEach(commit.events, (e) => Console.log(formatEvent(commit.sequence, e)), {
            discard: true,
          }),
        ),
      )
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Print a domain's events and follow it live"))

/** `mesh history <domain> <type> <id>`: an aggregate's history, upcast and decoded. */
export const historyCommand = Command.make(
  "history",
  {
    domain: domainArgument,
    aggregateType: Argument.String("aggregate-type"),
    aggregateId: Argument.String("aggregate-id"),
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) =>
    Effect.gen(function* () {
      const domain = yield* asDomain(args.domain)
      const nats = yield* connect(args.natsUrl)
      const log = makeEventLog({
        nats,
        catalog: meshCatalog,
        namespace: namespaceOf(Option.getOrUndefined(args.namespace)),
      })
      const loaded = yield* log.load({ domain, type: args.aggregateType, id: args.aggregateId })
      for (const e of loaded.events) yield* Console.log(formatEvent(undefined, e))
      yield* Console.log(`${loaded.events.length} events; version ${loaded.position.version}`)
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Print one aggregate's history"))

/** `mesh dead-letters`: what consumers gave up on, and why. */
export const deadLettersCommand = Command.make(
  "dead-letters",
  { natsUrl: natsUrlFlag, namespace: namespaceFlag },
  (args) =>
    Effect.gen(function* () {
      const nats = yield* connect(args.natsUrl)
      const letters = yield* readDeadLetters(nats, namespaceOf(Option.getOrUndefined(args.namespace)))
      for (const d of letters) {
        yield* Console.log(
          `#${d.sequence} ${d.consumer} gave up on ${d.originalStream}#${d.originalSequence} (${d.originalSubject}) after ${d.deliveries} deliveries: ${d.reason}`,
        )
      }
      yield* Console.log(`${letters.length} dead letters`)
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("List dead-lettered events with their reasons"))
