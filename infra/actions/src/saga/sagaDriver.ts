import { type PolicyContext, type SagaStep, Subjects, sagaAggregateType } from "@mesh/contracts"
import { type AggregateRef, type Delivery, initialPosition, runDurableConsumer } from "@mesh/eventlog"
import { Clock, Effect } from "effect"
import {
  type ActionCommands,
  type ActionDomainEvent,
  type AggregateSpec,
  actionCatalog,
  actionRef,
  emptyAction,
  type Folded,
  type FoldedAction,
  foldActionEvent,
  isSagaEvent,
  makeAggregateStore,
} from "../action/actionCommands.ts"
import { type ActionEvent, continuesInCommit } from "../action/actionDecider.ts"
import { makeFoldedCache, makeKeyedLock, observeDelivery } from "../action/foldedCache.ts"
import type { ActionGateShape } from "../gate/actionGate.ts"
import {
  type SagaCommand,
  type SagaEvent,
  type SagaMove,
  type SagaState,
  sagaContinuesInCommit,
  sagaDecider,
  sagaNextMove,
} from "./sagaDecider.ts"

/** What starts a saga: its steps, who runs it and why. */
export interface SagaRequest {
  readonly sagaId: string
  readonly agent: string
  readonly skill: string
  readonly name: string
  readonly steps: ReadonlyArray<SagaStep>
  readonly cause: { readonly decisionId: string | null; readonly eventId: string | null }
  readonly context: PolicyContext
  /** The outside request the saga serves: its events and its steps' actions all keep it. */
  readonly correlationId: string
  /** The event that caused the saga (what the agent reacted to), or null for an outside request. */
  readonly causationId?: string | null
}

/** A saga as folded from its history. */
export type FoldedSaga = Folded<SagaState>

/** Where a saga of `agent` lives: `mesh.actions.saga-<agent>.<sagaId>`. */
export const sagaRef = (agent: string, sagaId: string): AggregateRef => ({
  domain: "actions",
  type: sagaAggregateType(agent),
  id: sagaId,
})

/** How a saga folds and decides. It skips actions' events, which share the subject of a saga written before sagas had their own aggregate type. */
const sagaSpec: AggregateSpec<SagaCommand, SagaState, FoldedSaga> = {
  name: "saga",
  empty: (ref) => ({
    ref,
    state: sagaDecider.initialState(),
    position: initialPosition,
    correlationId: null,
    lastEventId: null,
  }),
  fold: (folded, event) =>
    isSagaEvent(event)
      ? {
          ...folded,
          state: sagaDecider.evolve(folded.state, event as unknown as SagaEvent),
          correlationId: folded.correlationId ?? event.correlationId,
          lastEventId: event.eventId,
        }
      : folded,
  decide: sagaDecider.decide,
}

// A saga step's action id always ends so (`sagaStepActionId`), and the gate refuses it for any other
// action: an action without it is no step, and the driver need not look at it.
const stepSuffix = /-step-\d+$/

/**
 * Drives an agent's sagas: runs each step as an action through the agent's gate (so every step
 * meets the policy, approvals included), records each step's outcome on the saga, and when a step
 * fails asks the completed steps' actions for their compensations in reverse order. It reads only
 * the log, so it resumes anywhere after a crash; every command it sends is idempotent.
 *
 * It folds the events it receives, its sagas' and their steps' actions', and decides on that; a
 * history is read only when a delivery shows it is behind. The saga's events keep the caller's
 * correlation id; each is caused by the step's event that led to it, and each step is requested,
 * or asked to undo itself, because of the saga's last event.
 */
export const makeSagaDriver = (options: {
  readonly commands: ActionCommands
  readonly gate: ActionGateShape
  /** Sagas and step actions whose folded state is kept between deliveries. Default 10,000 each. */
  readonly cached?: number
}) => {
  const { commands, gate } = options
  const sagas = makeAggregateStore(commands.log, sagaSpec)
  const sagaCache = makeFoldedCache<FoldedSaga>(options.cached ?? 10_000)
  const stepCache = makeFoldedCache<FoldedAction>(options.cached ?? 10_000)
  const exclusively = makeKeyedLock()

  /**
   * Reads a saga. One written before sagas had their own aggregate type is found beside the
   * agent's actions (`mesh.actions.<agent>.<sagaId>`) and stays there to its end.
   */
  const loadSaga = (agent: string, sagaId: string) =>
    Effect.gen(function* () {
      const current = yield* sagas.load(sagaRef(agent, sagaId))
      if (current.position.version > 0) return current
      const legacy = yield* sagas.load(actionRef(agent, sagaId))
      return legacy.state.status === "none" ? current : legacy
    })

  const recordSaga = (folded: FoldedSaga, command: SagaCommand, agent: string, causationId: string | null) =>
    sagas
      .send(folded, `v${folded.position.version}`, command, {
        actor: { kind: "agent", id: agent },
        correlationId: folded.correlationId ?? `saga:${folded.ref.id}`,
        causationId,
      })
      .pipe(Effect.tap((outcome) => Effect.sync(() => sagaCache.set(outcome.folded))))

  /** A step's action as held, or read when it is not. */
  const stepAction = (agent: string, actionId: string) => {
    const held = stepCache.get(actionRef(agent, actionId))
    return held?.complete === true
      ? Effect.succeed(held.folded)
      : commands.load(agent, actionId).pipe(Effect.tap((folded) => Effect.sync(() => stepCache.set(folded))))
  }

  /** Requests a step's action through the gate, because of the saga's last event and in its correlation. */
  const requestStep = (folded: FoldedSaga, move: Extract<SagaMove, { _tag: "RequestStep" }>) =>
    Effect.gen(function* () {
      if (folded.state.status === "none") return yield* Effect.die(new Error("a saga that never started"))
      const { saga } = folded.state
      const outcome = yield* gate.request({
        actionId: move.actionId,
        agent: saga.agent,
        skill: saga.skill,
        kind: move.kind,
        parameters: move.parameters,
        cause: saga.cause,
        confidence: saga.context.confidence,
        sentiment: saga.context.sentiment,
        firstTimeSupplier: null,
        saga: { sagaId: saga.sagaId, step: move.step },
        compensation: move.compensation,
        correlationId: folded.correlationId ?? `saga:${saga.sagaId}`,
        causationId: folded.lastEventId,
      })
      stepCache.set(outcome.action)
      return outcome.action
    })

  /** Moves a saga on from the state held as far as the actions' states allow; answers its state. */
  const drive = (start: FoldedSaga) =>
    Effect.gen(function* () {
      let folded = start
      for (let turn = 0; turn < 1_000; turn++) {
        const { state } = folded
        if (state.status === "none") return state
        const { agent, sagaId } = state.saga
        const move = sagaNextMove(state)
        switch (move._tag) {
          case "Done":
          case "Wait":
            return state
          case "RequestStep": {
            // A step already requested is known from its own events; only a new one goes to the gate.
            const held = stepCache.get(actionRef(agent, move.actionId))
            const stepAction =
              held?.complete === true && held.folded.state.status !== "none"
                ? held.folded
                : yield* requestStep(folded, move)
            const action = stepAction.state
            const cause = stepAction.lastEventId
            switch (action.status) {
              case "succeeded":
              case "compensation-pending":
              case "compensating":
              case "compensated":
                folded = (yield* recordSaga(
                  folded,
                  {
                    _tag: "RecordStepSucceeded",
                    step: move.step,
                    actionId: move.actionId,
                    externalRef: action.externalRef,
                  },
                  agent,
                  cause,
                )).folded
                break
              case "failed":
              case "denied":
              case "rejected":
              case "expired":
                folded = (yield* recordSaga(
                  folded,
                  {
                    _tag: "RecordStepFailed",
                    step: move.step,
                    actionId: move.actionId,
                    reason: `${move.kind} ${action.status}${"reason" in action ? `: ${action.reason}` : ""}`,
                  },
                  agent,
                  cause,
                )).folded
                break
              case "none":
              case "pending":
              case "attempting":
              case "awaiting-approval":
              case "parked":
                // The executor or a human moves the action on; its next event drives the saga again.
                return state
            }
            break
          }
          case "Compensate": {
            const action = yield* stepAction(agent, move.actionId)
            switch (action.state.status) {
              case "succeeded": {
                if (action.state.request.compensation === null) {
                  folded = (yield* recordSaga(
                    folded,
                    {
                      _tag: "RecordStepCompensated",
                      step: move.step,
                      actionId: move.actionId,
                      outcome: "nothing-to-compensate",
                    },
                    agent,
                    action.lastEventId,
                  )).folded
                  break
                }
                const asked = yield* commands.sendAt(
                  action,
                  `undo:v${action.position.version}`,
                  {
                    _tag: "RequestCompensation",
                    reason: move.reason,
                    now: new Date(yield* Clock.currentTimeMillis).toISOString(),
                  },
                  {
                    actor: { kind: "agent", id: agent },
                    correlationId: folded.correlationId ?? `saga:${sagaId}`,
                    causationId: folded.lastEventId,
                  },
                )
                stepCache.set(asked.folded)
                // Asked: the executor undoes it, and its outcome drives the saga again. Not asked,
                // the action had moved on: look again at where it stands.
                if (asked.status === "appended") return state
                break
              }
              case "compensated":
                folded = (yield* recordSaga(
                  folded,
                  {
                    _tag: "RecordStepCompensated",
                    step: move.step,
                    actionId: move.actionId,
                    outcome: "compensated",
                  },
                  agent,
                  action.lastEventId,
                )).folded
                break
              case "none":
              case "pending":
              case "attempting":
              case "awaiting-approval":
              case "parked":
              case "compensation-pending":
              case "compensating":
              case "failed":
              case "denied":
              case "rejected":
              case "expired":
                return state
            }
            break
          }
        }
      }
      return yield* Effect.die(new Error(`saga ${start.ref.id} did not come to rest in 1000 turns`))
    }).pipe(Effect.withSpan("SagaDriver.drive", { attributes: { "mesh.saga.id": start.ref.id } }))

  /** Drives a saga as held (or read, when it is not) under its lock. */
  const driveSaga = (ref: AggregateRef, held?: FoldedSaga) =>
    exclusively(
      ref,
      Effect.gen(function* () {
        const cached = sagaCache.get(ref)
        const folded =
          held ??
          (cached?.complete === true
            ? cached.folded
            : yield* sagas.load(ref).pipe(Effect.tap((f) => Effect.sync(() => sagaCache.set(f)))))
        return yield* drive(folded)
      }),
    )

  /** Starts a saga (a repeated start changes nothing) and drives it as far as it goes now. */
  const start = Effect.fn("SagaDriver.start")(function* (request: SagaRequest) {
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    const folded = yield* loadSaga(request.agent, request.sagaId)
    return yield* exclusively(
      folded.ref,
      Effect.gen(function* () {
        const started = yield* sagas.send(
          folded,
          "start",
          {
            _tag: "StartSaga",
            sagaId: request.sagaId,
            agent: request.agent,
            skill: request.skill,
            name: request.name,
            steps: request.steps,
            cause: request.cause,
            context: request.context,
            now,
          },
          {
            actor: { kind: "agent", id: request.agent },
            correlationId: request.correlationId,
            causationId: request.causationId ?? null,
          },
        )
        sagaCache.set(started.folded)
        return yield* drive(started.folded)
      }),
    )
  })

  /**
   * Handles one event of the actions stream: a saga's event moves its saga on; a step's action
   * event moves the step's saga on. Other actions' events are passed over without a read.
   */
  const handleEvent = (event: ActionDomainEvent, delivery: Delivery) =>
    Effect.gen(function* () {
      if (isSagaEvent(event)) {
        // The event's own subject: `saga-<agent>`, or the agent's for a saga written before.
        const ref: AggregateRef = { domain: "actions", type: event.aggregateType, id: event.aggregateId }
        yield* exclusively(
          ref,
          Effect.gen(function* () {
            const { folded, ready } = yield* observeDelivery<SagaState, FoldedSaga>({
              cache: sagaCache,
              spec: sagaSpec,
              load: sagas.load,
              continues: (state, e) => sagaContinuesInCommit(state, e as unknown as SagaEvent),
              ref,
              event,
              delivery,
            })
            if (ready) yield* drive(folded)
          }),
        )
        return
      }
      if (!stepSuffix.test(event.aggregateId)) return
      const { folded, ready } = yield* observeDelivery<FoldedAction["state"], FoldedAction>({
        cache: stepCache,
        spec: { empty: emptyAction, fold: foldActionEvent },
        load: (ref) => commands.load(ref.type, ref.id),
        continues: (state, e) => continuesInCommit(state, e as unknown as ActionEvent),
        ref: actionRef(event.aggregateType, event.aggregateId),
        event,
        delivery,
      })
      const saga = folded.state.status === "none" ? null : folded.state.request.saga
      if (!ready || saga === null) return
      const current = sagaRef(event.aggregateType, saga.sagaId)
      // A saga written before sagas had their own aggregate type is found beside the actions.
      const ref =
        sagaCache.get(current) !== undefined
          ? current
          : (yield* loadSaga(event.aggregateType, saga.sagaId).pipe(
              Effect.tap((f) => Effect.sync(() => sagaCache.set(f))),
            )).ref
      yield* driveSaga(ref)
    })

  /**
   * Runs the driver as durable consumers of one agent's part of the actions stream: its sagas
   * (`saga-<agent>`), and its actions (the steps' outcomes, and sagas written before sagas had
   * their own aggregate type).
   */
  const run = (
    agent: string,
    nats: Parameters<typeof runDurableConsumer>[0]["nats"],
    until?: Effect.Effect<void>,
  ) => {
    const namespace = commands.log.namespace
    const consumer = (name: string, aggregateType: string) =>
      runDurableConsumer({
        nats,
        namespace,
        catalog: actionCatalog,
        spec: {
          name,
          domain: "actions",
          filterSubject: Subjects.aggregateTypeWildcard(namespace, "actions", aggregateType),
          backoff: { initialMs: 200, maxMs: 10_000, factor: 2 },
          maxDeliveries: 20,
        },
        handle: handleEvent,
        ...(until === undefined ? {} : { until }),
      })
    return Effect.all(
      [
        consumer(`saga-driver-${agent}`, agent),
        consumer(`saga-driver-${agent}-sagas`, sagaAggregateType(agent)),
      ],
      { concurrency: "unbounded", discard: true },
    )
  }

  return {
    start,
    drive: (agent: string, sagaId: string) =>
      loadSaga(agent, sagaId).pipe(Effect.flatMap((folded) => driveSaga(folded.ref, folded))),
    handleEvent,
    run,
    /** A saga's state and position in the log. */
    state: loadSaga,
  }
}

/** A saga driver. */
export type SagaDriver = ReturnType<typeof makeSagaDriver>
