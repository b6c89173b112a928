import { type Backoff, backoffDelay, type NatsHandles, runDurableConsumer } from "@mesh/eventlog"
import type { CommandError, CommandOutcome } from "@mesh/kernel/deciders"
import { Cause, Clock, Duration, Effect, Result, Schedule, Semaphore } from "effect"
import {
  type ActionDefs,
  type ActionDomainEvent,
  actionCatalog,
  isSagaEvent,
  makeActionCommands,
} from "../action/actionCommands.ts"
import {
  type ActionCommand,
  type ActionEvent,
  type ActionState,
  actionDecider,
  nextExecutorMove,
} from "../action/actionDecider.ts"
import type { Connector, ConnectorError, ConnectorReceipt } from "../connectors/connector.ts"

/**
 * The named points where a crash test kills the executor: right before the external call, right
 * after it (the effect happened, nothing recorded), after recording the result (before the ack),
 * and the same two around a compensation call.
 */
export const executorCrashPoints = [
  "before-call",
  "after-call",
  "after-record",
  "compensation-before-call",
  "compensation-after-call",
] as const
/** A named crash point of the executor. */
export type ExecutorCrashPoint = (typeof executorCrashPoints)[number]

/** Resolves an action kind to the connector that performs it. */
export interface ConnectorResolver {
  readonly resolve: (kind: string) => Effect.Effect<Connector, ConnectorError>
}

/** Tells a human about an action the policy let through with `notify`; answers the channel used. */
export type Notifier = (state: Extract<ActionState, { status: "succeeded" }>) => Effect.Effect<string>

/** Settings of an action executor. */
export interface ActionExecutorOptions {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly connectors: ConnectorResolver
  /** Backoff between attempts of one action (and of its compensation). */
  readonly retry?: Backoff
  /**
   * How long an attempt in flight belongs to the executor that started it. After that an attempt
   * without a result is taken as abandoned (its executor died) and recovered. Keep it above the
   * connectors' call timeout.
   */
  readonly leaseMs?: number
  /** The longest an executor waits in line for a retry; a longer wait is left to redelivery. */
  readonly maxInlineWaitMs?: number
  readonly notify?: Notifier
  /** Durable consumer name (one per deployment of executors; replicas share it). */
  readonly consumerName?: string
  /** Subject filter inside the actions stream, e.g. one agent's actions. */
  readonly filterSubject?: string
  /** Redelivery wait for an unacked message: how soon another executor takes over after a crash. */
  readonly ackWaitMs?: number
  /**
   * Where to look for actions that need the executor although no event will wake it: an approval
   * request past its deadline, a retry due later than the inline wait, an attempt abandoned by a
   * dead executor whose message was already handled. Run every `everyMs`, and once at start.
   */
  readonly sweep?: {
    readonly everyMs: number
    readonly candidates: (
      now: string,
    ) => Effect.Effect<ReadonlyArray<{ readonly agent: string; readonly actionId: string }>, unknown>
  }
  /** Test hook: called at each named point, e.g. to SIGKILL the process there. */
  readonly crashPoint?: (point: ExecutorCrashPoint, actionId: string) => Effect.Effect<void>
}

/** What the executor did with one action. */
export interface DriveOutcome {
  readonly status: ActionState["status"]
  readonly state: ActionState
}

const defaultRetry: Backoff = { initialMs: 200, maxMs: 5_000, factor: 2 }
const actorOf = { kind: "system", id: "action-executor" } as const
const isoOf = (millis: number) => new Date(millis).toISOString()

/**
 * The action executor: drives every action of the actions stream to a resting state. It performs
 * an action's side effect through its connector with the action id as the idempotency key, records
 * the outcome, retries with backoff up to the action's budget, then parks it for a human. Every
 * step is recorded before the next begins, so after a crash anywhere the next executor finds the
 * unfinished intent (its message was never acked) and completes it with the same key: it looks the
 * key up first, then calls again, and the external system sees one effect.
 */
export const makeActionExecutor = (options: ActionExecutorOptions) => {
  const retry = options.retry ?? defaultRetry
  const leaseMs = options.leaseMs ?? 30_000
  const maxInlineWaitMs = options.maxInlineWaitMs ?? leaseMs + 5_000
  // Without a sweep, only a redelivered message wakes an action again: the executor must be able
  // to wait out a lease and the longest retry backoff while it holds the message, or an action
  // whose executor died would be acked and never looked at again.
  if (options.sweep === undefined && (leaseMs > maxInlineWaitMs || retry.maxMs > maxInlineWaitMs)) {
    throw new TypeError(
      `action executor: leaseMs (${leaseMs}) and retry.maxMs (${retry.maxMs}) must not exceed maxInlineWaitMs (${maxInlineWaitMs}) unless a sweep is configured`,
    )
  }
  const crash = options.crashPoint ?? (() => Effect.void)
  const notify: Notifier =
    options.notify ??
    ((state) =>
      Effect.logInfo(
        `notify: ${state.request.agent} performed ${state.request.kind} ${state.request.actionId} (${state.externalRef})`,
      ).pipe(Effect.as("operator-log")))

  const commands = makeActionCommands({ nats: options.nats, namespace: options.namespace })
  const { load } = commands
  const send = (
    agent: string,
    actionId: string,
    version: number,
    command: ActionCommand,
    correlationId: string,
  ): Effect.Effect<CommandOutcome<ActionDefs>, CommandError> =>
    commands.send(agent, actionId, `v${version}`, command, {
      actor: actorOf,
      correlationId,
      causationId: null,
    })

  const nowIso = Effect.map(Clock.currentTimeMillis, isoOf)

  /** Calls the connector for one attempt of a phase and records the result. */
  const performAttempt = (
    agent: string,
    state: Extract<ActionState, { status: "attempting" | "compensating" }>,
    version: number,
    correlationId: string,
  ) =>
    Effect.gen(function* () {
      const request = state.request
      const attempt = state.attempts.started
      const compensating = state.status === "compensating"
      const connector = yield* Effect.result(
        options.connectors.resolve(compensating ? state.compensation.kind : request.kind),
      )
      yield* crash(compensating ? "compensation-before-call" : "before-call", request.actionId)
      const outcome: Result.Result<ConnectorReceipt, ConnectorError> = Result.isFailure(connector)
        ? Result.fail(connector.failure)
        : yield* Effect.result(
            compensating
              ? connector.success.compensate({
                  key: state.compensation.key,
                  kind: state.compensation.kind,
                  parameters: state.compensation.parameters,
                  originalKey: request.actionId,
                  originalRef: state.externalRef,
                })
              : connector.success.execute({
                  key: request.actionId,
                  kind: request.kind,
                  parameters: request.parameters,
                }),
          )
      yield* crash(compensating ? "compensation-after-call" : "after-call", request.actionId)
      const now = yield* nowIso
      const command: ActionCommand = Result.isSuccess(outcome)
        ? {
            _tag: "RecordSuccess",
            attempt,
            externalRef: outcome.success.externalRef,
            result: outcome.success.result,
            now,
          }
        : {
            _tag: "RecordFailure",
            attempt,
            failure: { reason: outcome.failure.message, retryable: outcome.failure.retryable },
            retryDelayMs: backoffDelay(retry, attempt),
            now,
          }
      if (Result.isFailure(outcome)) {
        yield* Effect.logWarning(
          `action ${request.actionId} attempt ${attempt} failed: ${outcome.failure.message}`,
        )
      }
      yield* send(agent, request.actionId, version, command, correlationId)
    })

  /** Whether the external system already performed an attempt whose result was never recorded. */
  const lookupAbandoned = (state: Extract<ActionState, { status: "attempting" | "compensating" }>) =>
    Effect.gen(function* () {
      const compensating = state.status === "compensating"
      const kind = compensating ? state.compensation.kind : state.request.kind
      const connector = yield* options.connectors.resolve(kind)
      return yield* connector.lookup(
        compensating
          ? { key: state.compensation.key, kind, parameters: state.compensation.parameters }
          : { key: state.request.actionId, kind, parameters: state.request.parameters },
      )
    }).pipe(
      // A failed lookup is no answer: the recovery attempt re-sends the same key, which is safe.
      Effect.catch(() => Effect.succeed(undefined)),
    )

  /**
   * Drives one action until it rests: settled, waiting for a human, or waiting longer than
   * `maxInlineWaitMs` for a retry (a later delivery resumes it).
   */
  const drive = (agent: string, actionId: string, correlationId: string) =>
    Effect.gen(function* () {
      // Bounded: each turn records at least one event or ends; the bound guards against a bug looping forever.
      for (let turn = 0; turn < 1_000; turn++) {
        const { state, position } = yield* load(agent, actionId)
        const now = yield* nowIso
        const move = nextExecutorMove(state, now, leaseMs)
        switch (move._tag) {
          case "Rest":
            return { status: state.status, state } satisfies DriveOutcome
          case "WaitUntil": {
            const wait = Date.parse(move.at) - Date.parse(now)
            if (wait > maxInlineWaitMs) return { status: state.status, state } satisfies DriveOutcome
            yield* Effect.sleep(Duration.millis(Math.max(1, wait)))
            break
          }
          case "ExpireApproval":
            yield* send(agent, actionId, position.version, { _tag: "Expire", now }, correlationId)
            break
          case "Notify": {
            if (state.status !== "succeeded") break
            const channel = yield* notify(state)
            yield* send(
              agent,
              actionId,
              position.version,
              { _tag: "RecordNotified", channel, now },
              correlationId,
            )
            break
          }
          case "Recover": {
            if (state.status !== "attempting" && state.status !== "compensating") break
            const receipt = yield* lookupAbandoned(state)
            if (receipt !== undefined) {
              yield* send(
                agent,
                actionId,
                position.version,
                {
                  _tag: "RecordSuccess",
                  attempt: move.attempt,
                  externalRef: receipt.externalRef,
                  result: receipt.result,
                  now,
                },
                correlationId,
              )
              break
            }
            yield* startAndPerform(agent, actionId, state, position.version, now, correlationId)
            break
          }
          case "Attempt":
            yield* startAndPerform(agent, actionId, state, position.version, now, correlationId)
            break
        }
      }
      return yield* Effect.die(new Error(`action ${actionId} did not come to rest in 1000 turns`))
    }).pipe(Effect.withSpan("ActionExecutor.drive", { attributes: { "mesh.action.id": actionId } }))

  const startAndPerform = (
    agent: string,
    actionId: string,
    loaded: ActionState,
    version: number,
    now: string,
    correlationId: string,
  ) =>
    Effect.gen(function* () {
      const started = yield* send(
        agent,
        actionId,
        version,
        { _tag: "StartAttempt", now, leaseMs },
        correlationId,
      )
      if (started.status !== "appended" || !started.events.some((e) => e.type === "ActionAttemptStarted"))
        return
      // Decided on the state we hold unless a conflict made the handler reload: then read it again.
      const { state, position } =
        started.position.version === version + started.events.length
          ? {
              state: started.events.reduce(
                (s, e) => actionDecider.evolve(s, e as unknown as ActionEvent),
                loaded,
              ),
              position: started.position,
            }
          : yield* load(agent, actionId)
      if (state.status !== "attempting" && state.status !== "compensating") return
      yield* performAttempt(agent, state, position.version, correlationId)
      yield* crash("after-record", actionId)
    })

  // One drive at a time per action in this process: the consumer and the sweep never race on one
  // action here (across replicas the log's optimistic concurrency and the lease keep them apart),
  // and a long wait on one action does not hold up another.
  const locks = new Map<string, { readonly lock: Semaphore.Semaphore; users: number }>()
  const exclusively = <A, E, R>(agent: string, actionId: string, effect: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const key = `${agent}/${actionId}`
        const entry = locks.get(key) ?? { lock: Semaphore.makeUnsafe(1), users: 0 }
        entry.users++
        locks.set(key, entry)
        return { key, entry }
      }),
      ({ entry }) => entry.lock.withPermits(1)(effect),
      ({ key, entry }) =>
        Effect.sync(() => {
          entry.users--
          if (entry.users === 0) locks.delete(key)
        }),
    )

  /** Handles one event of the actions stream: drives the action it belongs to (saga events are the saga driver's). */
  const handleEvent = (event: ActionDomainEvent) =>
    isSagaEvent(event)
      ? Effect.void
      : exclusively(
          event.aggregateType,
          event.aggregateId,
          drive(event.aggregateType, event.aggregateId, event.correlationId),
        ).pipe(Effect.asVoid)

  /** Drives every action the sweep's query names; a failing one is logged and left for the next sweep. */
  const sweepOnce = Effect.gen(function* () {
    if (options.sweep === undefined) return 0
    const now = yield* nowIso
    const candidates = yield* options.sweep
      .candidates(now)
      .pipe(
        Effect.catchCause((cause) =>
          Effect.logWarning(`action sweep could not list candidates: ${Cause.pretty(cause)}`).pipe(
            Effect.as([]),
          ),
        ),
      )
    for (const { agent, actionId } of candidates) {
      // A defect on one action (a bug, a malformed id) must not end the sweep for every other one.
      yield* exclusively(agent, actionId, drive(agent, actionId, `sweep:${actionId}`)).pipe(
        Effect.catchCause((cause) =>
          Effect.logWarning(`action sweep could not drive ${agent}/${actionId}: ${Cause.pretty(cause)}`),
        ),
      )
    }
    return candidates.length
  })

  /** Runs the executor as a durable consumer of the actions stream (and its sweep) until `until` completes. */
  const run = (until?: Effect.Effect<void>) =>
    Effect.gen(function* () {
      if (options.sweep !== undefined) {
        yield* Effect.forkScoped(
          sweepOnce.pipe(Effect.repeat(Schedule.spaced(Duration.millis(options.sweep.everyMs)))),
        )
      }
      yield* consume(until)
    }).pipe(Effect.scoped)

  const consume = (until?: Effect.Effect<void>) =>
    runDurableConsumer({
      nats: options.nats,
      namespace: options.namespace,
      catalog: actionCatalog,
      spec: {
        name: options.consumerName ?? "action-executor",
        domain: "actions",
        ...(options.filterSubject === undefined ? {} : { filterSubject: options.filterSubject }),
        // The message is held while the action waits in line, so the ack wait covers the longest wait.
        ackWaitMs: options.ackWaitMs ?? maxInlineWaitMs + 30_000,
        maxDeliveries: 20,
        backoff: { initialMs: 500, maxMs: 30_000, factor: 2 },
      },
      handle: (event) => handleEvent(event),
      ...(until === undefined ? {} : { until }),
    })

  return { commands, drive, load, run, handleEvent, sweepOnce }
}

/** An action executor. */
export type ActionExecutor = ReturnType<typeof makeActionExecutor>
