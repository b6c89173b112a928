import { Subjects } from "@mesh/contracts"
import {
  type Backoff,
  backoffDelay,
  type Delivery,
  type NatsHandles,
  runDurableConsumer,
} from "@mesh/eventlog"
import { Cause, Clock, Duration, Effect, Result, Schedule } from "effect"
import {
  type ActionDomainEvent,
  actionCatalog,
  actionRef,
  emptyAction,
  type FoldedAction,
  foldActionEvent,
  isSagaEvent,
  makeActionCommands,
} from "../action/actionCommands.ts"
import {
  type ActionCommand,
  type ActionEvent,
  type ActionState,
  continuesInCommit,
  nextExecutorMove,
} from "../action/actionDecider.ts"
import { makeFoldedCache, makeKeyedLock, observeDelivery } from "../action/foldedCache.ts"
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
  /**
   * Deliveries handled at once, each on its own pull from the durable consumer: one action at a
   * time still, but a slow connector or a retry waiting in line holds up only its own pull. Default `defaultExecutorConcurrency`.
   */
  readonly concurrency?: number
  /** Actions whose folded state is kept between deliveries (least recently used beyond it). Default 10,000. */
  readonly cachedActions?: number
  /** Test hook: called at each named point, e.g. to SIGKILL the process there. */
  readonly crashPoint?: (point: ExecutorCrashPoint, actionId: string) => Effect.Effect<void>
}

/** What the executor did with one action. */
export interface DriveOutcome {
  readonly status: ActionState["status"]
  readonly state: ActionState
}

/** Deliveries an executor handles at once unless told otherwise. */
export const defaultExecutorConcurrency = 4

const defaultRetry: Backoff = { initialMs: 200, maxMs: 5_000, factor: 2 }
const actorOf = { kind: "system", id: "action-executor" } as const
// An action's moves ask for the time several times within a millisecond: one string serves them.
let isoAt = Number.NaN
let iso = ""
const isoOf = (millis: number) => {
  if (millis !== isoAt) {
    isoAt = millis
    iso = new Date(millis).toISOString()
  }
  return iso
}

/**
 * The action executor: drives every action of the actions stream to a resting state. It performs
 * an action's side effect through its connector with the action id as the idempotency key, records
 * the outcome, retries with backoff up to the action's budget, then parks it for a human. Every
 * step is recorded before the next begins, so after a crash anywhere the next executor finds the
 * unfinished intent (its message was never acked) and completes it with the same key: it looks the
 * key up first, then calls again, and the external system sees one effect.
 *
 * It folds the events it receives into the actions it keeps and decides each move on that, so an
 * action's history is read only when a delivery shows the executor is behind (another process
 * wrote, or it restarted) or a sweep looks at it. Each move is caused by the action's last event
 * and keeps the action's correlation id.
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
  const cache = makeFoldedCache<FoldedAction>(options.cachedActions ?? 10_000)
  const exclusively = makeKeyedLock()
  // The executor's own writes come back to it as deliveries, and one at or below what it has
  // folded has nothing left to do, so the consumer acknowledges it without decoding it: two of an
  // auto action's three deliveries. By subject, the stream sequence folded so far:
  // - `driving`: a drive in this process is under way, and the delivery is of a commit it wrote
  //   (past where it started); the delivery that started it stays unacknowledged until it ends, so
  //   if it fails that delivery (or the sweep) drives again, and a redelivery of it is never skipped;
  // - `restedAt`: the drive went as far as the action goes. Only a rest that waits on someone else
  //   counts: a retry due later is still woken by any delivery.
  const driving = new Map<string, { readonly from: number; upTo: number }>()
  const restedAt = new Map<string, number>()
  const restingCapacity = options.cachedActions ?? 10_000
  const subjectOf = (folded: FoldedAction) =>
    Subjects.aggregate(options.namespace, "actions", folded.ref.type, folded.ref.id)

  /**
   * Records a command decided on the action as held: caused by its last event, in its correlation.
   * The command key is the version it was decided at, so that it names the step.
   */
  const record = (folded: FoldedAction, command: ActionCommand) =>
    commands
      .sendAt(folded, `v${folded.position.version}`, command, {
        actor: actorOf,
        correlationId: folded.correlationId ?? `action:${folded.ref.type}:${folded.ref.id}`,
        causationId: folded.lastEventId,
      })
      .pipe(
        Effect.tap((outcome) =>
          Effect.sync(() => {
            cache.set(outcome.folded)
            const subject = subjectOf(outcome.folded)
            const drive = driving.get(subject)
            if (drive !== undefined) drive.upTo = outcome.folded.position.sequence
          }),
        ),
      )

  const nowIso = Effect.map(Clock.currentTimeMillis, isoOf)

  /** Calls the connector for the attempt in flight and records the result. */
  const performAttempt = (folded: FoldedAction) =>
    Effect.gen(function* () {
      const state = folded.state
      if (state.status !== "attempting" && state.status !== "compensating") return folded
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
      return (yield* record(folded, command)).folded
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

  /** Records the start of an attempt and, once it is in the log, performs it. */
  const startAndPerform = (folded: FoldedAction, now: string) =>
    Effect.gen(function* () {
      const started = yield* record(folded, { _tag: "StartAttempt", now, leaseMs })
      // Only an attempt this executor recorded is its to perform; the state it was recorded on
      // is the log's (the append expected its position), read again if a conflict intervened.
      if (started.status !== "appended" || !started.events.some((e) => e.type === "ActionAttemptStarted"))
        return started.folded
      const after = yield* performAttempt(started.folded)
      yield* crash("after-record", folded.ref.id)
      return after
    })

  /**
   * Drives one action from the state held until it rests: settled, waiting for a human, or
   * waiting longer than `maxInlineWaitMs` for a retry (a later delivery or the sweep resumes it).
   */
  const drive = (start: FoldedAction) =>
    Effect.gen(function* () {
      let folded = start
      // The position last read from the log, or appended at: the action's head at that moment.
      let atHead: number | undefined
      // Bounded: each turn records at least one event or ends; the bound guards against a bug looping forever.
      for (let turn = 0; turn < 1_000; turn++) {
        const state = folded.state
        const now = yield* nowIso
        const move = nextExecutorMove(state, now, leaseMs)
        // A notice and a recovery act outside the log before they append (a notice sent, the
        // external system asked about an abandoned attempt), so they are decided on the action as
        // the log holds it, never on a delivery's prefix: an executor catching up on a backlog, or
        // a sandbox replaying history, would otherwise ask the outside about an attempt whose
        // result is recorded further on. One read, paid only on these rare moves.
        if ((move._tag === "Notify" || move._tag === "Recover") && atHead !== folded.position.sequence) {
          const current = yield* commands.load(folded.ref.type, folded.ref.id)
          cache.set(current)
          atHead = current.position.sequence
          folded = current
          continue
        }
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
            folded = (yield* record(folded, { _tag: "Expire", now })).folded
            break
          case "Notify": {
            if (state.status !== "succeeded") break
            const channel = yield* notify(state)
            folded = (yield* record(folded, { _tag: "RecordNotified", channel, now })).folded
            break
          }
          case "Recover": {
            if (state.status !== "attempting" && state.status !== "compensating") break
            const receipt = yield* lookupAbandoned(state)
            folded =
              receipt === undefined
                ? yield* startAndPerform(folded, now)
                : (yield* record(folded, {
                    _tag: "RecordSuccess",
                    attempt: move.attempt,
                    externalRef: receipt.externalRef,
                    result: receipt.result,
                    now,
                  })).folded
            break
          }
          case "Attempt":
            folded = yield* startAndPerform(folded, now)
            break
        }
      }
      return yield* Effect.die(new Error(`action ${start.ref.id} did not come to rest in 1000 turns`))
    }).pipe(
      Effect.withSpan(
        "ActionExecutor.drive",
        {
          attributes: { "mesh.action.id": start.ref.id },
        },
        // Per action move: its name says where it starts; no stack trace for the caller's line.
        { captureStackTrace: false },
      ),
    )

  /**
   * Handles one event of the actions stream: folds it into the action it belongs to and drives
   * that action. A saga's events are the saga driver's (those written before sagas had their own
   * aggregate type arrive here too).
   */
  const handleEvent = (event: ActionDomainEvent, delivery: Delivery) => {
    if (isSagaEvent(event)) return Effect.void
    const ref = actionRef(event.aggregateType, event.aggregateId)
    return exclusively(
      ref,
      Effect.gen(function* () {
        const { folded, ready } = yield* observeDelivery<ActionState, FoldedAction>({
          cache,
          spec: { empty: emptyAction, fold: foldActionEvent },
          load: (r) => commands.load(r.type, r.id),
          continues: (state, e) => continuesInCommit(state, e as unknown as ActionEvent),
          ref,
          event,
          delivery,
        })
        if (!ready) return
        const subject = subjectOf(folded)
        restedAt.delete(subject)
        driving.set(subject, { from: folded.position.sequence, upTo: folded.position.sequence })
        const outcome = yield* drive(folded).pipe(Effect.ensuring(Effect.sync(() => driving.delete(subject))))
        const rested = cache.get(ref)
        if (
          rested === undefined ||
          !rested.complete ||
          nextExecutorMove(outcome.state, yield* nowIso, leaseMs)._tag !== "Rest"
        )
          return
        restedAt.set(subject, rested.folded.position.sequence)
        if (restedAt.size > restingCapacity) restedAt.delete(restedAt.keys().next().value as string)
      }),
    )
  }

  /** Whether a delivery is of a commit this executor's drive wrote or folded before resting (see `driving`). */
  const alreadyHandled = (subject: string, sequence: number) => {
    const drive = driving.get(subject)
    if (drive !== undefined) return sequence > drive.from && sequence <= drive.upTo
    const rested = restedAt.get(subject)
    return rested !== undefined && sequence <= rested
  }

  /**
   * Drives every action the sweep's query names, each read afresh: the sweep wakes what no event
   * will, so its move is caused by the event the action was found resting on, its last one. A
   * failing one is logged and left for the next sweep.
   */
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
      const ref = actionRef(agent, actionId)
      // A defect on one action (a bug, a malformed id) must not end the sweep for every other one.
      yield* exclusively(
        ref,
        commands.load(agent, actionId).pipe(
          Effect.tap((folded) => Effect.sync(() => cache.set(folded))),
          Effect.flatMap(drive),
        ),
      ).pipe(
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

  const consumeOnce = (until?: Effect.Effect<void>) =>
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
      handle: handleEvent,
      alreadyHandled,
      ...(until === undefined ? {} : { until }),
    })

  const consume = (until?: Effect.Effect<void>) =>
    Effect.all(
      Array.from({ length: Math.max(1, options.concurrency ?? defaultExecutorConcurrency) }, () =>
        consumeOnce(until),
      ),
      { concurrency: "unbounded", discard: true },
    )

  /** Reads an action and drives it as far as it goes now (for tools and tests). */
  const driveAction = (agent: string, actionId: string) =>
    exclusively(
      actionRef(agent, actionId),
      commands.load(agent, actionId).pipe(
        Effect.tap((folded) => Effect.sync(() => cache.set(folded))),
        Effect.flatMap(drive),
      ),
    )

  return { commands, drive: driveAction, run, handleEvent, sweepOnce }
}

/** An action executor. */
export type ActionExecutor = ReturnType<typeof makeActionExecutor>
