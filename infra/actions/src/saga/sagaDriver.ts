import { type PolicyContext, type SagaStep, Subjects } from "@mesh/contracts"
import { runDurableConsumer } from "@mesh/eventlog"
import { deterministicUuid } from "@mesh/kernel/deciders"
import { Clock, Effect } from "effect"
import {
  type ActionCommands,
  type ActionDomainEvent,
  actionCatalog,
  isSagaEvent,
  perAgentHandlers,
} from "../action/actionCommands.ts"
import type { ActionGateShape } from "../gate/actionGate.ts"
import { type SagaCommand, type SagaState, sagaDecider, sagaNextMove } from "./sagaDecider.ts"

/** What starts a saga: its steps, who runs it and why. */
export interface SagaRequest {
  readonly sagaId: string
  readonly agent: string
  readonly skill: string
  readonly name: string
  readonly steps: ReadonlyArray<SagaStep>
  readonly cause: { readonly decisionId: string | null; readonly eventId: string | null }
  readonly context: PolicyContext
  readonly correlationId: string
}

/**
 * Drives an agent's sagas: runs each step as an action through the agent's gate (so every step
 * meets the policy, approvals included), records each step's outcome on the saga, and when a step
 * fails asks the completed steps' actions for their compensations in reverse order. It reads only
 * the log, so it resumes anywhere after a crash; every command it sends is idempotent.
 */
export const makeSagaDriver = (options: {
  readonly commands: ActionCommands
  readonly gate: ActionGateShape
}) => {
  const { commands, gate } = options
  const handlerOf = perAgentHandlers<SagaCommand, SagaState>(commands.log, sagaDecider)

  const sendSaga = (
    agent: string,
    sagaId: string,
    key: string,
    command: SagaCommand,
    correlationId: string,
  ) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      return yield* handlerOf(agent).handle({
        commandId: deterministicUuid(`saga:${agent}:${sagaId}:${key}`, now),
        aggregateId: sagaId,
        command,
        issuedAt: now,
        metadata: { correlationId, causationId: null, actor: { kind: "agent", id: agent } },
      })
    })

  /** Starts a saga (a repeated start changes nothing) and drives it as far as it goes now. */
  const start = Effect.fn("SagaDriver.start")(function* (request: SagaRequest) {
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    yield* sendSaga(
      request.agent,
      request.sagaId,
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
      request.correlationId,
    )
    return yield* drive(request.agent, request.sagaId)
  })

  /** Moves a saga on as far as the actions' states allow; answers its state. */
  const drive = (agent: string, sagaId: string) =>
    Effect.gen(function* () {
      for (let turn = 0; turn < 1_000; turn++) {
        const { state, position } = yield* handlerOf(agent).state(sagaId)
        if (state.status === "none") return state
        const correlationId = `saga:${sagaId}`
        const move = sagaNextMove(state)
        switch (move._tag) {
          case "Done":
          case "Wait":
            return state
          case "RequestStep": {
            const outcome = yield* gate.request({
              actionId: move.actionId,
              agent,
              skill: state.saga.skill,
              kind: move.kind,
              parameters: move.parameters,
              cause: state.saga.cause,
              confidence: state.saga.context.confidence,
              sentiment: state.saga.context.sentiment,
              firstTimeSupplier: null,
              saga: { sagaId, step: move.step },
              compensation: move.compensation,
              correlationId,
              causationId: null,
            })
            const action = outcome.state
            const key = `v${position.version}`
            switch (action.status) {
              case "succeeded":
              case "compensation-pending":
              case "compensating":
              case "compensated":
                yield* sendSaga(
                  agent,
                  sagaId,
                  key,
                  {
                    _tag: "RecordStepSucceeded",
                    step: move.step,
                    actionId: move.actionId,
                    externalRef: "externalRef" in action ? action.externalRef : "",
                  },
                  correlationId,
                )
                break
              case "failed":
              case "denied":
              case "rejected":
              case "expired":
                yield* sendSaga(
                  agent,
                  sagaId,
                  key,
                  {
                    _tag: "RecordStepFailed",
                    step: move.step,
                    actionId: move.actionId,
                    reason: `${move.kind} ${action.status}${"reason" in action ? `: ${action.reason}` : ""}`,
                  },
                  correlationId,
                )
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
            const { state: action, position: actionPosition } = yield* commands.load(agent, move.actionId)
            switch (action.status) {
              case "succeeded":
                if (action.request.compensation === null) {
                  yield* sendSaga(
                    agent,
                    sagaId,
                    `v${position.version}`,
                    {
                      _tag: "RecordStepCompensated",
                      step: move.step,
                      actionId: move.actionId,
                      outcome: "nothing-to-compensate",
                    },
                    correlationId,
                  )
                  break
                }
                yield* commands.send(
                  agent,
                  move.actionId,
                  `undo:v${actionPosition.version}`,
                  {
                    _tag: "RequestCompensation",
                    reason: move.reason,
                    now: new Date(yield* Clock.currentTimeMillis).toISOString(),
                  },
                  { actor: { kind: "agent", id: agent }, correlationId, causationId: null },
                )
                return state
              case "compensated":
                yield* sendSaga(
                  agent,
                  sagaId,
                  `v${position.version}`,
                  {
                    _tag: "RecordStepCompensated",
                    step: move.step,
                    actionId: move.actionId,
                    outcome: "compensated",
                  },
                  correlationId,
                )
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
      return yield* Effect.die(new Error(`saga ${sagaId} did not come to rest in 1000 turns`))
    }).pipe(Effect.withSpan("SagaDriver.drive", { attributes: { "mesh.saga.id": sagaId } }))

  /** Drives the saga an event of the actions stream concerns (a saga event, or a step's action event). */
  const handleEvent = (event: ActionDomainEvent) => {
    if (isSagaEvent(event)) return drive(event.aggregateType, event.aggregateId).pipe(Effect.asVoid)
    if (event.type === "ActionRequested") {
      return event.payload.saga === null
        ? Effect.void
        : drive(event.aggregateType, event.payload.saga.sagaId).pipe(Effect.asVoid)
    }
    return commands
      .load(event.aggregateType, event.aggregateId)
      .pipe(
        Effect.flatMap(({ state }) =>
          state.status === "none" || state.request.saga === null
            ? Effect.void
            : drive(event.aggregateType, state.request.saga.sagaId).pipe(Effect.asVoid),
        ),
      )
  }

  /** Runs the driver as a durable consumer of one agent's part of the actions stream. */
  const run = (
    agent: string,
    nats: Parameters<typeof runDurableConsumer>[0]["nats"],
    until?: Effect.Effect<void>,
  ) =>
    runDurableConsumer({
      nats,
      namespace: commands.log.namespace,
      catalog: actionCatalog,
      spec: {
        name: `saga-driver-${agent}`,
        domain: "actions",
        filterSubject: Subjects.aggregateTypeWildcard(commands.log.namespace, "actions", agent),
        backoff: { initialMs: 200, maxMs: 10_000, factor: 2 },
        maxDeliveries: 20,
      },
      handle: (event) => handleEvent(event),
      ...(until === undefined ? {} : { until }),
    })

  return {
    start,
    drive,
    handleEvent,
    run,
    state: (agent: string, sagaId: string) => handlerOf(agent).state(sagaId),
  }
}

/** A saga driver. */
export type SagaDriver = ReturnType<typeof makeSagaDriver>
