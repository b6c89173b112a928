import { createHash } from "node:crypto"
import {
  type ActionCause,
  type ActionParameters,
  assertSubjectToken,
  type CompensationSpec,
  type PolicyContext,
  type SagaStep,
  type sagaEvents,
} from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel/deciders"

// A saga is one aggregate, `mesh.actions.saga-<agent>.<sagaId>`: a list of steps, each an action with
// the compensation that undoes it. Steps run one at a time, in order. When a step fails, the
// completed steps are undone in reverse order; steps that declared no compensation are recorded as
// having nothing to undo in the same decision, so the driver only ever waits for real compensations.
// The decider records what happened; `sagaNextMove` tells the driver what to do next.

/** The events of one saga, as the decider sees them. */
export type SagaEvent = DecidedEvent<(typeof sagaEvents)[number]>

/** What a started saga is: who runs it, why, and its steps. */
export interface SagaFacts {
  readonly sagaId: string
  readonly agent: string
  readonly skill: string
  readonly name: string
  /** At least one: StartSaga refuses an empty saga as bad input. */
  readonly steps: ReadonlyArray<SagaStep>
  readonly cause: ActionCause
  readonly context: PolicyContext
  readonly startedAt: string
}

/** A step whose action succeeded. */
export interface CompletedStep {
  readonly step: number
  readonly actionId: string
  readonly externalRef: string
}

/** A completed step after compensation: undone, or with nothing to undo. */
export interface UndoneStep {
  readonly step: number
  readonly outcome: "compensated" | "nothing-to-compensate"
}

/** The state of a saga, discriminated on `status`; the next step to run is `completed.length`. */
export type SagaState =
  | { readonly status: "none" }
  | { readonly status: "running"; readonly saga: SagaFacts; readonly completed: ReadonlyArray<CompletedStep> }
  | {
      readonly status: "compensating"
      readonly saga: SagaFacts
      readonly completed: ReadonlyArray<CompletedStep>
      readonly failedStep: number
      readonly reason: string
      /** The completed steps still to undo, the next one first. */
      readonly toCompensate: ReadonlyArray<number>
      readonly undone: ReadonlyArray<UndoneStep>
    }
  | {
      readonly status: "completed"
      readonly saga: SagaFacts
      readonly completed: ReadonlyArray<CompletedStep>
    }
  | {
      readonly status: "compensated"
      readonly saga: SagaFacts
      readonly completed: ReadonlyArray<CompletedStep>
      readonly failedStep: number
      readonly reason: string
      readonly undone: ReadonlyArray<UndoneStep>
    }

/** Commands of the saga aggregate (its id is the saga id); `now` is an ISO instant from the shell. */
export type SagaCommand =
  | ({ readonly _tag: "StartSaga"; readonly now: string } & Omit<SagaFacts, "startedAt">)
  | {
      readonly _tag: "RecordStepSucceeded"
      readonly step: number
      readonly actionId: string
      readonly externalRef: string
    }
  | {
      readonly _tag: "RecordStepFailed"
      readonly step: number
      readonly actionId: string
      readonly reason: string
    }
  | {
      readonly _tag: "RecordStepCompensated"
      readonly step: number
      readonly actionId: string
      readonly outcome: "compensated" | "nothing-to-compensate"
    }

/** What the saga's driver should do next. */
export type SagaMove =
  | {
      /** Request this step's action; idempotent, since the action id is the idempotency key. */
      readonly _tag: "RequestStep"
      readonly step: number
      readonly actionId: string
      readonly kind: string
      readonly parameters: ActionParameters
      readonly compensation: CompensationSpec | null
    }
  | {
      /** Undo this completed step's action through its declared compensation. */
      readonly _tag: "Compensate"
      readonly step: number
      readonly actionId: string
      /** Why, for the action's compensation request. */
      readonly reason: string
    }
  | { readonly _tag: "Done" }
  | { readonly _tag: "Wait" }

const maxTokenLength = 128
const stepSuffix = /-step-\d+$/

/**
 * The action id of a saga's step: `<sagaId>-step-<n>`, or for a saga id too long for that a
 * prefix of it and a digest of the whole; always a subject token of at most 128 characters.
 */
export const sagaStepActionId = (sagaId: string, step: number): string => {
  assertSubjectToken("saga id", sagaId)
  if (!Number.isSafeInteger(step) || step < 0) throw new TypeError(`saga step ${step} is not a step index`)
  const suffix = `-step-${step}`
  if (sagaId.length + suffix.length <= maxTokenLength) return `${sagaId}${suffix}`
  const digest = createHash("sha256").update(sagaId, "utf8").digest("hex").slice(0, 24)
  return `${sagaId.slice(0, maxTokenLength - suffix.length - digest.length - 1)}-${digest}${suffix}`
}

// Steps whose compensation is null have nothing to undo: record that at once, in order, and end the
// saga when nothing with a compensation is left.
const undoWhileNothingToDo = (
  saga: SagaFacts,
  toCompensate: ReadonlyArray<number>,
  failedStep: number,
  reason: string,
): Array<SagaEvent> => {
  const events: Array<SagaEvent> = []
  for (const step of toCompensate) {
    if (saga.steps[step]?.compensation !== null) return events
    events.push({
      type: "SagaStepCompensated",
      payload: { step, actionId: sagaStepActionId(saga.sagaId, step), outcome: "nothing-to-compensate" },
    })
  }
  events.push({ type: "SagaCompensated", payload: { failedStep, reason } })
  return events
}

// A step command must name a step of this saga and that step's action; anything else is bad input
// (a redelivery names the same step and action again, and is ignored by the callers of this check).
const assertStepOf = (saga: SagaFacts, step: number, actionId: string): void => {
  if (!Number.isSafeInteger(step) || step < 0 || step >= saga.steps.length) {
    throw new RangeError(`saga ${saga.sagaId} has no step ${step} (it has ${saga.steps.length})`)
  }
  const expected = sagaStepActionId(saga.sagaId, step)
  if (actionId !== expected) {
    throw new TypeError(`step ${step} of saga ${saga.sagaId} is action ${expected}, not ${actionId}`)
  }
}

const sagaOf = (state: SagaState, command: SagaCommand): SagaFacts => {
  if (state.status === "none") throw new Error(`${command._tag}: the saga does not exist`)
  return state.saga
}

const evolve = (state: SagaState, event: SagaEvent): SagaState => {
  switch (event.type) {
    case "SagaStarted": {
      const { sagaId, agent, skill, name, steps, cause, context, startedAt } = event.payload
      return {
        status: "running",
        saga: { sagaId, agent, skill, name, steps, cause, context, startedAt },
        completed: [],
      }
    }
    case "SagaStepCompleted":
      return state.status === "running" ? { ...state, completed: [...state.completed, event.payload] } : state
    case "SagaCompleted":
      return state.status === "running"
        ? { status: "completed", saga: state.saga, completed: state.completed }
        : state
    case "SagaCompensating":
      return state.status === "running"
        ? {
            status: "compensating",
            saga: state.saga,
            completed: state.completed,
            failedStep: event.payload.failedStep,
            reason: event.payload.reason,
            toCompensate: event.payload.toCompensate,
            undone: [],
          }
        : state
    case "SagaStepCompensated": {
      if (state.status !== "compensating") return state
      const { step, outcome } = event.payload
      return {
        ...state,
        toCompensate: state.toCompensate.filter((s) => s !== step),
        undone: [...state.undone, { step, outcome }],
      }
    }
    case "SagaCompensated":
      switch (state.status) {
        case "running":
          return {
            status: "compensated",
            saga: state.saga,
            completed: state.completed,
            failedStep: event.payload.failedStep,
            reason: event.payload.reason,
            undone: [],
          }
        case "compensating":
          return {
            status: "compensated",
            saga: state.saga,
            completed: state.completed,
            failedStep: event.payload.failedStep,
            reason: event.payload.reason,
            undone: state.undone,
          }
        case "none":
        case "completed":
        case "compensated":
          return state
      }
  }
}

const start = (command: Extract<SagaCommand, { _tag: "StartSaga" }>, state: SagaState): Array<SagaEvent> => {
  assertSubjectToken("saga id", command.sagaId)
  if (stepSuffix.test(command.sagaId)) {
    throw new TypeError(
      `saga id ${command.sagaId} ends like a step's action id (-step-<n>), which is reserved`,
    )
  }
  if (command.steps.length === 0)
    throw new TypeError(`saga ${command.sagaId} has no steps; an empty saga is refused`)
  if (state.status !== "none") {
    if (state.saga.sagaId !== command.sagaId) {
      throw new TypeError(`StartSaga for ${command.sagaId} was sent to saga ${state.saga.sagaId}`)
    }
    return []
  }
  const { sagaId, agent, skill, name, steps, cause, context, now } = command
  return [
    { type: "SagaStarted", payload: { sagaId, agent, skill, name, steps, cause, context, startedAt: now } },
  ]
}

const decide = (command: SagaCommand, state: SagaState): ReadonlyArray<SagaEvent> => {
  switch (command._tag) {
    case "StartSaga":
      return start(command, state)
    case "RecordStepSucceeded": {
      const saga = sagaOf(state, command)
      assertStepOf(saga, command.step, command.actionId)
      if (state.status !== "running" || command.step !== state.completed.length) return []
      const completed: SagaEvent = {
        type: "SagaStepCompleted",
        payload: { step: command.step, actionId: command.actionId, externalRef: command.externalRef },
      }
      return command.step === saga.steps.length - 1
        ? [completed, { type: "SagaCompleted", payload: { steps: saga.steps.length } }]
        : [completed]
    }
    case "RecordStepFailed": {
      const saga = sagaOf(state, command)
      assertStepOf(saga, command.step, command.actionId)
      if (state.status !== "running" || command.step !== state.completed.length) return []
      const { step: failedStep, reason } = command
      if (state.completed.length === 0) return [{ type: "SagaCompensated", payload: { failedStep, reason } }]
      const toCompensate = state.completed.map((c) => c.step).reverse()
      return [
        { type: "SagaCompensating", payload: { failedStep, reason, toCompensate } },
        ...undoWhileNothingToDo(saga, toCompensate, failedStep, reason),
      ]
    }
    case "RecordStepCompensated": {
      const saga = sagaOf(state, command)
      assertStepOf(saga, command.step, command.actionId)
      if (state.status !== "compensating" || command.step !== state.toCompensate[0]) return []
      const { step, actionId, outcome } = command
      return [
        { type: "SagaStepCompensated", payload: { step, actionId, outcome } },
        ...undoWhileNothingToDo(saga, state.toCompensate.slice(1), state.failedStep, state.reason),
      ]
    }
  }
}

/** The saga decider: steps in order, then completion; or compensation of the completed steps in reverse. */
export const sagaDecider: Decider<SagaCommand, SagaEvent, SagaState> = {
  initialState: () => ({ status: "none" }),
  evolve,
  decide,
}

/** What the driver should do next for a saga in this state. */
export const sagaNextMove = (state: SagaState): SagaMove => {
  switch (state.status) {
    case "none":
      return { _tag: "Wait" }
    case "running": {
      const step = state.completed.length
      const declared = state.saga.steps[step]
      // A running saga always has a next step: the last success completes it in the same decision.
      if (declared === undefined) return { _tag: "Wait" }
      return {
        _tag: "RequestStep",
        step,
        actionId: sagaStepActionId(state.saga.sagaId, step),
        kind: declared.kind,
        parameters: declared.parameters,
        compensation: declared.compensation,
      }
    }
    case "compensating": {
      const step = state.toCompensate[0]
      if (step === undefined) return { _tag: "Wait" }
      return {
        _tag: "Compensate",
        step,
        actionId: sagaStepActionId(state.saga.sagaId, step),
        reason: `saga ${state.saga.name} failed at step ${state.failedStep}: ${state.reason}`,
      }
    }
    case "completed":
    case "compensated":
      return { _tag: "Done" }
  }
}

/**
 * Whether the decider always writes another event after `event` in the same commit, given the
 * state it was decided on: a last step's completion with the saga's, a failure or an undone step
 * followed by steps that had nothing to undo, and the saga's end. The driver, folding a saga's
 * events one at a time, decides its next move only at the end of a commit.
 */
export const sagaContinuesInCommit = (state: SagaState, event: SagaEvent): boolean => {
  const nothingToUndo = (steps: ReadonlyArray<number>) =>
    state.status === "none" || steps.length === 0 || state.saga.steps[steps[0]!]?.compensation === null
  switch (event.type) {
    case "SagaStepCompleted":
      return state.status !== "none" && event.payload.step === state.saga.steps.length - 1
    case "SagaCompensating":
      return nothingToUndo(event.payload.toCompensate)
    case "SagaStepCompensated":
      return (
        state.status === "compensating" &&
        nothingToUndo(state.toCompensate.filter((step) => step !== event.payload.step))
      )
    case "SagaStarted":
    case "SagaCompleted":
    case "SagaCompensated":
      return false
  }
}
