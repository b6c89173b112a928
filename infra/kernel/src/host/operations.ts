import { hostname } from "node:os"
import { type EventDefinition, Subjects } from "@mesh/contracts"
import type { NatsHandles } from "@mesh/eventlog"
import type { Msg } from "@nats-io/transport-node"
import { Cause, Clock, Effect, Result, Schema, Stream } from "effect"
import type { RebuildProgress } from "../projections/projector.ts"
import type { RequestLog } from "../requests/outsideRequests.ts"
import type { AgentContext, AgentWorker } from "./agentDefinition.ts"

// What an operator asks of the running agents, over NATS: where every projection of every agent
// stands (each instance answers on one subject, so `mesh projections` finds them all without an
// address book), and a projection's rebuild (one instance of the agent takes it, from a queue
// group). A command is an outside request like any other: recorded in the log with the operator
// who gave it before it runs. The subjects are outside every stream, so nothing of it is stored
// but that record.

/** An operator's command to rebuild one projection, as it arrives. */
export const RebuildCommand = Schema.Struct({
  projection: Schema.String.check(Schema.isMinLength(1)),
  /** Who asks: recorded in the log as the command's actor. */
  operator: Schema.String.check(Schema.isMinLength(1)),
  /** The command's id, the same on a retry of the same command. */
  requestId: Schema.String.check(Schema.isMinLength(1)),
  /** An inbox the rebuild's progress is published to while it runs. */
  progress: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
})
/** An operator's command to rebuild one projection. */
export type RebuildCommand = typeof RebuildCommand.Type

/** The answer to a rebuild command. */
export type RebuildAnswer =
  | { readonly ok: true; readonly agent: string; readonly instance: string; readonly report: unknown }
  | { readonly ok: false; readonly agent: string; readonly instance: string; readonly error: string }

const decodeRebuild = Schema.decodeUnknownResult(Schema.fromJsonString(RebuildCommand))
const textEncoder = new TextEncoder()

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
  readonly requests: RequestLog
  /** Runs one of the agent's parts with the services of its layer. */
  readonly withServices: <A, E>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E>
}) =>
  Effect.gen(function* () {
    const { nats, namespace, context } = options
    const agent = context.agent
    const instance = hostname()
    const projections = options.workers.filter((w) => w.projection !== undefined)
    const reply = (m: Msg, answer: unknown) => {
      if (m.reply !== undefined && m.reply !== "") m.respond(textEncoder.encode(JSON.stringify(answer)))
    }

    const question = nats.connection.subscribe(Subjects.operatorQuestion(namespace, "projections"))
    const command = nats.connection.subscribe(Subjects.operatorCommand(namespace, agent, "rebuild"), {
      queue: agent,
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        question.unsubscribe()
        command.unsubscribe()
      }),
    )

    const answerProjections = (m: Msg) =>
      Effect.gen(function* () {
        const statuses = yield* Effect.forEach(projections, (w) =>
          options.withServices(w.status === undefined ? Effect.succeed(null) : w.status(context)).pipe(
            Effect.timeout("2 seconds"),
            Effect.orElseSucceed(() => null),
            Effect.map((status) => ({ projection: w.projection!.name, status })),
          ),
        )
        reply(m, { agent, instance, projections: statuses })
      })

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
        yield* options.requests
          .record({
            requestId: asked.requestId,
            agent,
            name: "RebuildProjection",
            origin: "cli",
            actor: { kind: "human", id: asked.operator },
            body: { projection: asked.projection },
          })
          .pipe(Effect.orDie)
        yield* Effect.logInfo(`${agent}: ${asked.operator} rebuilds projection ${asked.projection}`)
        let lastProgress = 0
        const onProgress = (progress: RebuildProgress) => {
          const now = Date.now()
          if (asked.progress === undefined || now - lastProgress < progressEveryMs) return
          lastProgress = now
          nats.connection.publish(asked.progress, textEncoder.encode(JSON.stringify(progress)))
        }
        const startedAt = yield* Clock.currentTimeMillis
        const outcome = yield* options.withServices(worker.projection!.rebuild(context, onProgress)).pipe(
          Effect.map((report) => ({ ok: true as const, agent, instance, report })),
          Effect.catchCause((cause) =>
            Effect.succeed({
              ok: false as const,
              agent,
              instance,
              error: String((Cause.squash(cause) as Error)?.message ?? Cause.squash(cause)),
            }),
          ),
        )
        yield* Effect.logInfo(
          `${agent}: projection ${asked.projection} ${outcome.ok ? "rebuilt" : "not rebuilt"} after ${(yield* Clock.currentTimeMillis) - startedAt} ms`,
        )
        reply(m, outcome satisfies RebuildAnswer)
      })

    // One answer at a time per subject; a rebuild holds its subject until it is done.
    const serve = (subscription: AsyncIterable<Msg>, handle: (m: Msg) => Effect.Effect<void>) =>
      Stream.fromAsyncIterable(subscription, (e) => e).pipe(
        Stream.runForEach((m) =>
          handle(m).pipe(Effect.catchCause((cause) => Effect.logWarning("operator request failed", cause))),
        ),
        Effect.catchCause((cause) => Effect.logWarning("operator subscription ended", cause)),
      )
    yield* Effect.forkScoped(serve(question, answerProjections))
    yield* Effect.forkScoped(serve(command, rebuild))
  })
