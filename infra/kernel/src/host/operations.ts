import { hostname } from "node:os"
import { describeIssue, type EventCatalog, type EventDefinition, Subjects } from "@mesh/contracts"
import { decodeStoredCommit, type NatsHandles, readDeadLetters } from "@mesh/eventlog"
import type { Msg } from "@nats-io/transport-node"
import { Cause, Clock, Config, Effect, Option, Result, Schema, Stream } from "effect"
import type { RebuildProgress } from "../projections/projector.ts"
import type { ReactionsDecidedOtherwise } from "../reactors/reactionsDecidedOtherwise.ts"
import { type ReactorDefinition, reactToEvent } from "../reactors/reactor.ts"
import type { RecordedCommands } from "../reactors/recordedCommands.ts"
import type { RequestLog } from "../requests/outsideRequests.ts"
import type { AgentContext, AgentWorker } from "./agentDefinition.ts"

// What an operator asks of the running agents, over NATS: where every projection and every reactor
// of every agent stands (each instance answers on one subject, so `mesh projections` and `mesh
// reactors` find them all without an address book), and a projection's rebuild (one instance of the agent takes it, from a queue
// group), and a dead letter handed back to the reaction that gave it up (one instance of the
// agent that runs that consumer). A command is an outside request like any other: recorded in the log with the operator
// who gave it before it runs. The subjects are outside every stream, so nothing of it is stored
// but that record.

/** An operator's command to rebuild one projection, as it arrives. */
export const RebuildCommand = Schema.Struct({
  projection: Schema.String.check(Schema.isMinLength(1)),
  /** Who asks: recorded in the log as the command's actor. */
  operator: Schema.String.check(Schema.isMinLength(1)),
  /** The command's id, the same on a retry of the same command. */
  requestId: Schema.String.check(Schema.isMinLength(1)),
  /**
   * An inbox the rebuild's progress is published to while it runs: only an inbox, so that a
   * command can never make the agent publish into a stream.
   */
  progress: Schema.optionalKey(
    Schema.String.check(
      Schema.isPattern(/^_INBOX\.[A-Za-z0-9_.-]+$/, { message: "must be an _INBOX. subject" }),
    ),
  ),
  /**
   * The operator means to roll the projection back: an instance of an older version than the
   * live one rebuilds it only then (during a rolling deploy any instance may answer).
   */
  rollback: Schema.optionalKey(Schema.Boolean),
  /**
   * The version to rebuild to: an instance of another version declines (`otherVersion`) before it
   * records or does anything, and the asker asks again until one of that version answers (any
   * instance of the agent may take a command, and mid-rollout they are of two versions).
   */
  version: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
})
/** An operator's command to rebuild one projection. */
export type RebuildCommand = typeof RebuildCommand.Type

/** An operator's command to hand one dead-lettered event to its consumer's reaction again. */
export const RedeliveryCommand = Schema.Struct({
  /** The consumer (a reactor's name) that gave the event up. */
  consumer: Schema.String.check(Schema.isMinLength(1)),
  /** Where the event is in the log. */
  stream: Schema.String.check(Schema.isMinLength(1)),
  sequence: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  operator: Schema.String.check(Schema.isMinLength(1)),
  requestId: Schema.String.check(Schema.isMinLength(1)),
})
/** An operator's command to hand one dead-lettered event to its consumer's reaction again. */
export type RedeliveryCommand = typeof RedeliveryCommand.Type

/** The answer to a redelivery: the reaction ran (its commands' outcomes counted), or why not. */
export type RedeliveryAnswer =
  | { readonly ok: true; readonly agent: string; readonly events: number; readonly commands: number }
  | { readonly ok: false; readonly agent: string; readonly error: string }

/** The answer to a rebuild command. */
export type RebuildAnswer =
  | { readonly ok: true; readonly agent: string; readonly instance: string; readonly report: unknown }
  | {
      readonly ok: false
      readonly agent: string
      readonly instance: string
      readonly error: string
      /** Set when the instance declined a command for another version: its own (ask again). */
      readonly otherVersion?: number
    }

const decodeRebuild = Schema.decodeUnknownResult(Schema.fromJsonString(RebuildCommand))
const decodeRedelivery = Schema.decodeUnknownResult(Schema.fromJsonString(RedeliveryCommand))
const textEncoder = new TextEncoder()

/** What failed, in one line: the error's own message, without its class or stack. */
const failureMessage = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const message = error instanceof Error ? error.message : String(error)
  return message.split("\n")[0] || "failed"
}

/** How often a rebuild's progress is published at most. */
const progressEveryMs = 250

/**
 * Serves the operator's subjects for one agent until the scope closes: the projections question
 * (this instance's workers that are projections, with their status) and the rebuild command.
 */
export const serveOperators = <D extends EventDefinition, R>(options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly context: AgentContext<D>
  readonly workers: ReadonlyArray<AgentWorker<D, R>>
  readonly reactors: ReadonlyArray<ReactorDefinition<D, unknown, R>>
  readonly catalog: EventCatalog<D>
  readonly requests: RequestLog
  /**
   * In a replay (`MESH_REPLAY`), the commands the log recorded: a dead letter handed back runs its
   * reaction as the reactor would, reading as it first ran and comparing with what was recorded.
   */
  readonly recorded?: RecordedCommands
  /** Where each reactor notes the reactions decided otherwise than recorded (for /status). */
  readonly otherwise?: ReadonlyMap<string, ReactionsDecidedOtherwise>
  /** Runs one of the agent's parts with the services of its layer. */
  readonly withServices: <A, E>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E>
  /** Where each of this instance's reactors stands, as /status gives it: the reactors question's answer. */
  readonly reactorStatus?: Effect.Effect<ReadonlyArray<unknown>>
}) =>
  Effect.gen(function* () {
    const { nats, namespace, context } = options
    const agent = context.agent
    // The instance as the deployment names it (a pod's name), else the host's.
    const instance = Option.getOrElse(yield* Config.option(Config.String("MESH_INSTANCE_ID")), () =>
      hostname(),
    )
    const projections = options.workers.filter((w) => w.projection !== undefined)
    const reply = (m: Msg, answer: unknown) => {
      if (m.reply !== undefined && m.reply !== "") m.respond(textEncoder.encode(JSON.stringify(answer)))
    }

    const question = nats.connection.subscribe(Subjects.operatorQuestion(namespace, "projections"))
    const reactorsQuestion = nats.connection.subscribe(Subjects.operatorQuestion(namespace, "reactors"))
    const command = nats.connection.subscribe(Subjects.operatorCommand(namespace, agent, "rebuild"), {
      queue: agent,
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        question.unsubscribe()
        reactorsQuestion.unsubscribe()
        command.unsubscribe()
      }),
    )

    // An operator's command is recorded before it acts; one that cannot be recorded does not act,
    // and says why (the asker would otherwise wait out its timeout).
    const recordFirst = (request: Parameters<RequestLog["record"]>[0]) =>
      options.requests.record(request).pipe(
        Effect.as(undefined),
        Effect.catchCause((cause) =>
          Effect.logWarning(`${agent}: could not record ${request.name} ${request.requestId}`, cause).pipe(
            Effect.as(`the request could not be recorded, so nothing was done: ${failureMessage(cause)}`),
          ),
        ),
      )

    const answerProjections = (m: Msg) =>
      Effect.gen(function* () {
        // Side by side, each bounded: the asker waits a fixed while for every instance's answer.
        const statuses = yield* Effect.forEach(
          projections,
          (w) =>
            options.withServices(w.status === undefined ? Effect.succeed(null) : w.status(context)).pipe(
              Effect.timeout("1500 millis"),
              Effect.orElseSucceed(() => null),
              Effect.map((status) => ({ projection: w.projection!.name, status })),
            ),
          { concurrency: "unbounded" },
        )
        reply(m, { agent, instance, projections: statuses })
      })

    // Every instance answers, with each reactor's backlog, retries and where its reactions spend
    // their time: which reactor of which instance is slow, and whether on the mesh or its own work.
    const answerReactors = (m: Msg) =>
      (options.reactorStatus ?? Effect.succeed([])).pipe(
        Effect.timeout("1500 millis"),
        Effect.orElseSucceed(() => null),
        Effect.map((reactors) => reply(m, { agent, instance, reactors })),
      )

    const rebuild = (m: Msg) =>
      Effect.gen(function* () {
        const decoded = decodeRebuild(m.string())
        if (Result.isFailure(decoded))
          return reply(m, {
            ok: false,
            agent,
            instance,
            error: `bad rebuild command: ${decoded.failure.message}`,
          })
        const asked = decoded.success
        const worker = projections.find((w) => w.projection!.name === asked.projection)
        if (worker === undefined)
          return reply(m, {
            ok: false,
            agent,
            instance,
            error: `${agent} has no projection ${asked.projection} (it has ${projections.map((w) => w.projection!.name).join(", ") || "none"})`,
          } satisfies RebuildAnswer)
        const own = worker.projection!.version
        if (asked.version !== undefined && asked.version !== own)
          return reply(m, {
            ok: false,
            agent,
            instance,
            error: `${instance} runs ${asked.projection} v${own}, not v${asked.version}`,
            otherVersion: own,
          } satisfies RebuildAnswer)
        const recorded = yield* recordFirst({
          requestId: asked.requestId,
          agent,
          name: "RebuildProjection",
          origin: "cli",
          actor: { kind: "human", id: asked.operator },
          body: {
            projection: asked.projection,
            ...(asked.rollback === true ? { rollback: true } : {}),
            ...(asked.version === undefined ? {} : { version: asked.version }),
          },
        })
        if (recorded !== undefined)
          return reply(m, { ok: false, agent, instance, error: recorded } satisfies RebuildAnswer)
        yield* Effect.logInfo(`${agent}: ${asked.operator} rebuilds projection ${asked.projection}`)
        let lastProgress = 0
        const onProgress = (progress: RebuildProgress) => {
          const now = Date.now()
          if (asked.progress === undefined || now - lastProgress < progressEveryMs) return
          lastProgress = now
          nats.connection.publish(asked.progress, textEncoder.encode(JSON.stringify(progress)))
        }
        const startedAt = yield* Clock.currentTimeMillis
        const outcome = yield* options
          .withServices(
            worker.projection!.rebuild(context, {
              onProgress,
              ...(asked.rollback === undefined ? {} : { rollback: asked.rollback }),
            }),
          )
          .pipe(
            Effect.map((report) => ({ ok: true as const, agent, instance, report })),
            Effect.catchCause((cause) =>
              Effect.logWarning(`${agent}: rebuilding ${asked.projection} failed`, cause).pipe(
                Effect.as({ ok: false as const, agent, instance, error: failureMessage(cause) }),
              ),
            ),
          )
        yield* Effect.logInfo(
          `${agent}: projection ${asked.projection} ${outcome.ok ? "rebuilt" : "not rebuilt"} after ${(yield* Clock.currentTimeMillis) - startedAt} ms`,
        )
        reply(m, outcome satisfies RebuildAnswer)
      })

    // A dead letter handed back: the event read from the log where it is, and each of the commit's
    // events the reactor reacts to run through its reaction as the consumer would have. Reactions
    // are idempotent (command ids derive from the event), so a redelivery of an event that did
    // react after all changes nothing.
    const redeliver = (reactor: ReactorDefinition<D, unknown, R>) => {
      const react = reactToEvent(
        reactor,
        context.dispatch,
        agent,
        options.otherwise?.get(reactor.name),
        options.recorded,
      )
      return (m: Msg) =>
        Effect.gen(function* () {
          const decoded = decodeRedelivery(m.string())
          if (Result.isFailure(decoded))
            return reply(m, {
              ok: false,
              agent,
              error: `bad redelivery command: ${decoded.failure.message}`,
            } satisfies RedeliveryAnswer)
          const asked = decoded.success
          // Only this consumer's own dead letters, of the stream it reads, that nobody settled: a
          // command names no other event for the reaction to run on.
          const stream = Subjects.streamName(namespace, reactor.consumes.domain)
          const refusal =
            asked.consumer !== reactor.name
              ? `this subject takes ${reactor.name}'s dead letters, not ${asked.consumer}'s`
              : asked.stream !== stream
                ? `${reactor.name} reads ${stream}, not ${asked.stream}`
                : (yield* readDeadLetters(nats, namespace).pipe(Effect.orElseSucceed(() => []))).some(
                      (d) =>
                        d.consumer === reactor.name &&
                        d.originalStream === stream &&
                        d.originalSequence === asked.sequence,
                    )
                  ? undefined
                  : `${stream}#${asked.sequence} is no unsettled dead letter of ${reactor.name}`
          if (refusal !== undefined)
            return reply(m, { ok: false, agent, error: refusal } satisfies RedeliveryAnswer)
          const recorded = yield* recordFirst({
            requestId: asked.requestId,
            agent,
            name: "RedeliverDeadLetter",
            origin: "cli",
            actor: { kind: "human", id: asked.operator },
            body: { consumer: asked.consumer, stream: asked.stream, sequence: asked.sequence },
          })
          if (recorded !== undefined)
            return reply(m, { ok: false, agent, error: recorded } satisfies RedeliveryAnswer)
          const outcome = yield* Effect.gen(function* () {
            const stored = yield* Effect.tryPromise(() =>
              nats.jsm.streams.getMessage(asked.stream, { seq: asked.sequence }),
            )
            if (stored === null)
              return yield* Effect.fail(new Error(`${asked.stream}#${asked.sequence} is not in the log`))
            const commit = decodeStoredCommit(options.catalog, stored.data)
            if (Result.isFailure(commit))
              return yield* Effect.fail(new Error(`undecodable: ${describeIssue(commit.failure)}`))
            let commands = 0
            for (const event of commit.success.events) {
              const outcomes = yield* options.withServices(
                react(event, { stream: asked.stream, sequence: asked.sequence, subject: stored.subject }),
              )
              commands += outcomes.length
            }
            return { ok: true as const, agent, events: commit.success.events.length, commands }
          }).pipe(
            Effect.catchCause((cause) =>
              Effect.logWarning(
                `${agent}: redelivering ${asked.stream}#${asked.sequence} failed`,
                cause,
              ).pipe(Effect.as({ ok: false as const, agent, error: failureMessage(cause) })),
            ),
          )
          yield* Effect.logInfo(
            `${agent}: ${asked.operator} redelivered ${asked.stream}#${asked.sequence} to ${asked.consumer}: ${outcome.ok ? "reacted" : outcome.error}`,
          )
          reply(m, outcome satisfies RedeliveryAnswer)
        })
    }
    const redeliveries = options.reactors.map((reactor) => ({
      reactor,
      subscription: nats.connection.subscribe(Subjects.operatorRedelivery(namespace, reactor.name), {
        queue: reactor.name,
      }),
    }))
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const r of redeliveries) r.subscription.unsubscribe()
      }),
    )

    // One answer at a time per subject; a rebuild holds its subject until it is done.
    const serve = (subscription: AsyncIterable<Msg>, handle: (m: Msg) => Effect.Effect<void>) =>
      Stream.fromAsyncIterable(subscription, (e) => e).pipe(
        Stream.runForEach((m) =>
          handle(m).pipe(Effect.catchCause((cause) => Effect.logWarning("operator request failed", cause))),
        ),
        Effect.catchCause((cause) => Effect.logWarning("operator subscription ended", cause)),
      )
    yield* Effect.forkScoped(serve(question, answerProjections))
    yield* Effect.forkScoped(serve(reactorsQuestion, answerReactors))
    yield* Effect.forkScoped(serve(command, rebuild))
    for (const r of redeliveries) yield* Effect.forkScoped(serve(r.subscription, redeliver(r.reactor)))
  })
