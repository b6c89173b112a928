import { createHash } from "node:crypto"
import {
  type Actor,
  type CommitMetadata,
  canonicalJson,
  type EventDefinition,
  type EventOf,
  makeCatalog,
  type RequestOrigin,
  type RequestReceived,
  requestEvents,
} from "@mesh/contracts"
import { type EventLogError, initialPosition, makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { Clock, Effect, Schema } from "effect"
import type { CommandOutcome } from "../deciders/commandHandler.ts"
import type { CommandError } from "../deciders/errors.ts"
import { deterministicUuid } from "../deciders/ids.ts"
import { makeRecentlyUsed } from "../deciders/recentlyUsed.ts"
import type { Dispatch, Reaction } from "../reactors/reactor.ts"
import { makeTurnsByKey } from "./turnsByKey.ts"

/**
 * A request from outside the mesh: a webhook, a command line, an approval, a scheduled trigger.
 * `requestId` is its command id, the same on every retry of the same request (a webhook's delivery
 * id, an idempotency key, a CLI invocation's id).
 */
export interface OutsideRequest {
  readonly requestId: string
  /** The agent that receives it (its aggregate type in the requests stream). */
  readonly agent: string
  /** What it asks for, as the command it carries is named. */
  readonly name: string
  readonly origin: RequestOrigin
  readonly actor: Actor
  /** The request as received (decoded at the edge). */
  readonly body: unknown
  /** The body holds personal data an operator marked to keep out of the log: keep its digest only. */
  readonly personal?: boolean
  /**
   * The chain it answers, when it answers one (an approval joins the action's chain: its correlation
   * id, and the event it answers as its cause). Without it, the request starts a chain of its own.
   */
  readonly joins?: { readonly correlationId: string; readonly causationId: string | null }
  /** The request's W3C trace context, when it arrived with one. */
  readonly trace?: CommitMetadata["trace"]
}

/** A request as the log holds it, and the metadata of the commands it carries. */
export interface RecordedRequest {
  readonly event: EventOf<typeof RequestReceived>
  /** The same request was recorded before (a retry): nothing was written twice. */
  readonly duplicate: boolean
  /** For the commands the request carries: its chain's correlation id, and itself as their cause. */
  readonly metadata: Omit<CommitMetadata, "commandId">
  /** The instant the request was first received, which seeds the ids of what it causes. */
  readonly receivedAtMillis: number
}

/** The same request id was recorded before with another body: a client reused an id for another request. */
export const RequestIdReused = Schema.TaggedStruct("RequestIdReused", {
  agent: Schema.String,
  requestId: Schema.String,
})

/** Why a request could not be recorded. */
export class RequestLogError extends Schema.TaggedError<RequestLogError>()("RequestLogError", {
  reason: Schema.Union([RequestIdReused, Schema.TaggedStruct("LogFailed", { cause: Schema.Defect() })]),
}) {
  override get message(): string {
    return this.reason._tag === "RequestIdReused"
      ? `agent ${this.reason.agent} already received request ${this.reason.requestId} with another body`
      : `the request could not be recorded: ${String((this.reason.cause as Error)?.message ?? this.reason.cause)}`
  }
}

const requestCatalog = makeCatalog(requestEvents)

/** SHA-256 of a body's canonical JSON: equal bodies, whatever their key order, have one digest. */
export const bodyDigest = (body: unknown): string => digestOfSpelling(canonicalJson(body))

const digestOfSpelling = (spelling: string): string =>
  createHash("sha256").update(spelling, "utf8").digest("hex")

/** The id of the `index`-th command a request carries. */
export const requestCommandId = (agent: string, requestId: string, index: number, millis: number): string =>
  deterministicUuid(`request:${agent}:${requestId}:${index}`, millis)

/**
 * Requests a request log keeps the record of, and commands a receiver keeps the outcome of. A
 * retry comes within moments of its first: the storefront lists every order event a webhook
 * brought a second or two before (on the shop's day, some 900 of the 2,700 requests customer ops
 * took, at about 20 a second), and each cost the log a refused append and three to five reads.
 * The listing's moment stretches when the agent is busy, and once it falls behind what the copies
 * hold, each event it takes costs a refused append, a read of the request and a load of its order's
 * history, which slows it further: in one play of the shop's day, 617 of the 700 storefront events,
 * a quarter of the agent's calls to JetStream. So the copies reach back thousands of requests
 * (minutes of a busy day), and only small ones are kept: a request whose body, or a command whose
 * spelling and events, spell more than {@link KEPT_SPELLING} characters of JSON is always taken from
 * the log. Each copy holds at most 16 Mi characters of such JSON (its objects take a few times that
 * on the heap); on the shop's day every request and command spells 1-3 Ki.
 */
const TAKEN_LATELY = 4096
const KEPT_SPELLING = 4096

/**
 * The requests of a namespace: each outside request is recorded once, before anything acts on it,
 * whether or not it decides anything, so that replay and diff can re-run commands and not only
 * events, and a trace has a root. A retry of the same request returns the first record: from the
 * log, or, when this request log recorded or read it lately, from the copy it kept (the first
 * record never changes, so the copy is the log's answer without asking it).
 */
export const makeRequestLog = (options: { readonly nats: NatsHandles; readonly namespace: string }) => {
  const log = makeEventLog({ nats: options.nats, catalog: requestCatalog, namespace: options.namespace })
  const recordedLately = makeRecentlyUsed<RecordedRequest>(TAKEN_LATELY)

  const record = Effect.fn("RequestLog.record")(function* (request: OutsideRequest) {
    const spelling = canonicalJson(request.body)
    const digest = digestOfSpelling(spelling)
    const kept = recordedLately.get(`${request.agent}/${request.requestId}`)
    if (kept !== undefined) {
      if (kept.event.payload.bodySha256 !== digest) {
        return yield* new RequestLogError({
          reason: { _tag: "RequestIdReused", agent: request.agent, requestId: request.requestId },
        })
      }
      return { ...kept, duplicate: true } satisfies RecordedRequest
    }
    const now = yield* Clock.currentTimeMillis
    const correlationId = request.joins?.correlationId ?? request.requestId
    const appended = yield* log
      .append({
        aggregate: { domain: "requests", type: request.agent, id: request.requestId },
        expected: initialPosition,
        events: [
          {
            type: "RequestReceived",
            payload: {
              requestId: request.requestId,
              name: request.name,
              origin: request.origin,
              receivedAt: new Date(now).toISOString(),
              body: request.personal === true ? null : request.body,
              bodySha256: digest,
            },
          },
        ],
        metadata: {
          correlationId,
          causationId: request.joins?.causationId ?? null,
          commandId: request.requestId,
          actor: request.actor,
          ...(request.trace === undefined ? {} : { trace: request.trace }),
        },
      })
      .pipe(
        Effect.catchTag("EventLogError", (error: EventLogError) =>
          error.reason._tag === "ConcurrencyConflict"
            ? // Recorded before under the same id (a retry, or a replica racing it): the first record stands.
              Effect.map(
                log.load({ domain: "requests", type: request.agent, id: request.requestId }),
                (loaded) => ({
                  events: loaded.events,
                  duplicate: true,
                }),
              )
            : Effect.fail(error),
        ),
        Effect.mapError((cause) => new RequestLogError({ reason: { _tag: "LogFailed", cause } })),
      )
    const event = appended.events.find((e) => e.type === "RequestReceived")
    if (event === undefined) {
      return yield* new RequestLogError({
        reason: { _tag: "LogFailed", cause: new Error("no RequestReceived stored") },
      })
    }
    if (event.payload.bodySha256 !== digest) {
      return yield* new RequestLogError({
        reason: { _tag: "RequestIdReused", agent: request.agent, requestId: request.requestId },
      })
    }
    const recorded: RecordedRequest = {
      event,
      duplicate: appended.duplicate,
      metadata: {
        correlationId: event.correlationId,
        causationId: event.eventId,
        actor: event.actor,
        ...(event.trace === undefined ? {} : { trace: event.trace }),
      },
      receivedAtMillis: Date.parse(event.payload.receivedAt),
    }
    if (spelling.length <= KEPT_SPELLING)
      recordedLately.set(`${request.agent}/${request.requestId}`, recorded)
    return recorded
  })

  return { log, record }
}

/** The requests of a namespace. */
export type RequestLog = ReturnType<typeof makeRequestLog>

/** A command's one spelling, or undefined for one JSON cannot spell (a bigint): never kept. */
const spellingOf = (value: unknown): string | undefined => {
  try {
    return canonicalJson(value)
  } catch {
    return undefined
  }
}

/**
 * How an agent takes a request from outside: records it first (whether or not it decides
 * anything), then sends the commands it carries with the request as their cause and its chain's
 * correlation id. A retry of the same request id sends the same command ids, so it acts once.
 * A command this receiver appended lately, sent again the same (to the same aggregate), is
 * answered `already-handled` with the events it appended, without loading its aggregate: the
 * handler would find the command in the history, and the current code decided it on the state it
 * was recorded on, so it answers the same. A command that decided nothing, one the log had from
 * before, or one rebuilt otherwise on the retry (an instant taken again, say), goes to its handler,
 * which also tells whether the code now decides it otherwise.
 *
 * A request taken again while this receiver is still taking it (a storefront event its webhook and
 * the storefront's listing bring at once) waits for the first taking to end, and is then answered
 * from what it kept (when the first succeeded and was small enough to keep; else from the log):
 * racing it would cost a refused append, a read of the request and a load of its aggregate's whole
 * history.
 */
export const makeReceive = (options: {
  readonly agent: string
  readonly requests: RequestLog
  readonly dispatch: Dispatch
}) => {
  const appendedLately = makeRecentlyUsed<{
    /** The command as sent, its aggregate's type and id with it, in canonical JSON. */
    readonly sent: string
    readonly outcome: Pick<CommandOutcome<EventDefinition>, "events" | "position">
  }>(TAKEN_LATELY)
  const inTurn = makeTurnsByKey()
  return (
    request: Omit<OutsideRequest, "agent">,
    commands: ReadonlyArray<Reaction> = [],
  ): Effect.Effect<
    { readonly request: RecordedRequest; readonly outcomes: ReadonlyArray<CommandOutcome<EventDefinition>> },
    RequestLogError | CommandError
  > =>
    Effect.gen(function* () {
      const recorded = yield* options.requests.record({ ...request, agent: options.agent })
      const outcomes = yield* Effect.forEach(commands, (command, index) => {
        const commandId = requestCommandId(options.agent, request.requestId, index, recorded.receivedAtMillis)
        const sent = spellingOf([command.aggregateType, command.aggregateId, command.command])
        const kept = appendedLately.get(commandId)
        if (kept !== undefined && sent !== undefined && kept.sent === sent)
          return Effect.succeed({ ...kept.outcome, status: "already-handled" as const })
        return Effect.tap(
          options.dispatch(command.aggregateType, {
            commandId,
            aggregateId: command.aggregateId,
            command: command.command,
            issuedAt: recorded.receivedAtMillis,
            metadata: recorded.metadata,
          }),
          (outcome) =>
            Effect.sync(() => {
              if (
                outcome.status === "appended" &&
                sent !== undefined &&
                sent.length + (spellingOf(outcome.events)?.length ?? KEPT_SPELLING) <= KEPT_SPELLING
              )
                appendedLately.set(commandId, {
                  sent,
                  outcome: { events: outcome.events, position: outcome.position },
                })
            }),
        )
      })
      return { request: recorded, outcomes }
    }).pipe(
      (taking) => inTurn(request.requestId, taking),
      Effect.withSpan(
        `receive ${request.name}`,
        {
          attributes: { "mesh.request.id": request.requestId },
        },
        // Per request: its name says where it starts; no stack trace for the caller's line.
        { captureStackTrace: false },
      ),
    )
}
