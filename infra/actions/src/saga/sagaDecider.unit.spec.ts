import type { SagaStep } from "@mesh/contracts"
import { DeciderSpecification } from "@mesh/kernel/testing"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type SagaCommand,
  type SagaEvent,
  type SagaState,
  sagaContinuesInCommit,
  sagaDecider,
  sagaNextMove,
  sagaStepActionId,
} from "./sagaDecider.ts"

const saga = DeciderSpecification.for(sagaDecider)
const sagaId = "refund-T-1001"
const now = "2026-11-27T09:00:00.000Z"
const action = (step: number) => sagaStepActionId(sagaId, step)

// Refund, then restock, then tell the customer: each step undone by its declared compensation.
const steps: ReadonlyArray<SagaStep> = [
  {
    kind: "payment.refund",
    parameters: { orderId: "O-77", amountMinor: 2599, currency: "EUR" },
    compensation: { kind: "payment.cancel-refund", parameters: {} },
  },
  {
    kind: "storefront.adjust-stock",
    parameters: { sku: "LAMP-1", delta: 1 },
    compensation: { kind: "storefront.revert-stock-adjustment", parameters: {} },
  },
  {
    kind: "mailbox.send-message",
    parameters: { to: "ana@example.com", subject: "Your refund" },
    compensation: { kind: "mailbox.retract-message", parameters: {} },
  },
]

type CommandOf<Tag extends SagaCommand["_tag"]> = Extract<SagaCommand, { _tag: Tag }>

const startSaga = (withSteps: ReadonlyArray<SagaStep> = steps): CommandOf<"StartSaga"> => ({
  _tag: "StartSaga",
  sagaId,
  agent: "customer-ops",
  skill: "draftReply",
  name: "refund-and-restock",
  steps: withSteps,
  cause: { decisionId: "D-1", eventId: "E-1" },
  context: { confidence: 0.92, sentiment: "negative" },
  now,
})
const started = (withSteps: ReadonlyArray<SagaStep> = steps): SagaEvent => ({
  type: "SagaStarted",
  payload: {
    sagaId,
    agent: "customer-ops",
    skill: "draftReply",
    name: "refund-and-restock",
    steps: withSteps,
    cause: { decisionId: "D-1", eventId: "E-1" },
    context: { confidence: 0.92, sentiment: "negative" },
    startedAt: now,
  },
})
const succeed = (step: number): CommandOf<"RecordStepSucceeded"> => ({
  _tag: "RecordStepSucceeded",
  step,
  actionId: action(step),
  externalRef: `ref-${step}`,
})
const stepCompleted = (step: number): SagaEvent => ({
  type: "SagaStepCompleted",
  payload: { step, actionId: action(step), externalRef: `ref-${step}` },
})
const fail = (step: number, reason = "supplier said no"): CommandOf<"RecordStepFailed"> => ({
  _tag: "RecordStepFailed",
  step,
  actionId: action(step),
  reason,
})
const compensate = (step: number): CommandOf<"RecordStepCompensated"> => ({
  _tag: "RecordStepCompensated",
  step,
  actionId: action(step),
  outcome: "compensated",
})
const stepCompensated = (
  step: number,
  outcome: "compensated" | "nothing-to-compensate" = "compensated",
): SagaEvent => ({
  type: "SagaStepCompensated",
  payload: { step, actionId: action(step), outcome },
})
const compensating = (failedStep: number, toCompensate: ReadonlyArray<number>): SagaEvent => ({
  type: "SagaCompensating",
  payload: { failedStep, reason: "supplier said no", toCompensate },
})
const sagaCompensated = (failedStep: number): SagaEvent => ({
  type: "SagaCompensated",
  payload: { failedStep, reason: "supplier said no" },
})

const stateAfter = (events: ReadonlyArray<SagaEvent>): SagaState =>
  events.reduce(sagaDecider.evolve, sagaDecider.initialState())

describe("starting a saga", () => {
  it("records the saga with its steps and the instant from the command", () => {
    saga.given([]).when(startSaga()).thenEmits([started()])
  })

  it("refuses an empty saga as bad input, naming it", () => {
    saga
      .given([])
      .when(startSaga([]))
      .thenThrows(/saga refund-T-1001 has no steps/)
  })

  it("refuses a saga id that is not a subject token or ends like a step's action id", () => {
    saga
      .given([])
      .when({ ...startSaga(), sagaId: "refund.T-1" })
      .thenThrows(/saga id/)
    saga
      .given([])
      .when({ ...startSaga(), sagaId: "refund-step-2" })
      .thenThrows(/reserved/)
  })

  it("decides nothing when the start is delivered again", () => {
    saga.given([started()]).when(startSaga()).thenNothingHappens()
    saga
      .given([started(), stepCompleted(0)])
      .when(startSaga())
      .thenNothingHappens()
  })
})

describe("running the steps", () => {
  it("records a step's success", () => {
    saga
      .given([started()])
      .when(succeed(0))
      .thenEmits([stepCompleted(0)])
  })

  it("completes the saga with the last step's success", () => {
    saga
      .given([started(), stepCompleted(0), stepCompleted(1)])
      .when(succeed(2))
      .thenEmits([stepCompleted(2), { type: "SagaCompleted", payload: { steps: 3 } }])
  })

  it("decides nothing for a redelivered or an early success", () => {
    saga
      .given([started(), stepCompleted(0)])
      .when(succeed(0))
      .thenNothingHappens()
    saga.given([started()]).when(succeed(1)).thenNothingHappens()
    const done = [
      started(),
      stepCompleted(0),
      stepCompleted(1),
      stepCompleted(2),
      { type: "SagaCompleted", payload: { steps: 3 } },
    ] as const
    saga.given(done).when(succeed(2)).thenNothingHappens()
    saga.given(done).when(fail(2)).thenNothingHappens()
  })

  it("refuses a step the saga does not have, or another action than the step's", () => {
    saga
      .given([started()])
      .when(succeed(3))
      .thenThrows(/has no step 3/)
    saga
      .given([started()])
      .when({ ...succeed(0), actionId: "A-1" })
      .thenThrows(/is action refund-T-1001-step-0, not A-1/)
  })

  it("refuses a step command for a saga that was never started", () => {
    saga
      .given([])
      .when(succeed(0))
      .thenThrows(/does not exist/)
  })
})

describe("compensation", () => {
  // #region readme:saga-third-step-fails
  it("undoes steps 1 and 0, in that order, when the third step fails, then ends compensated", () => {
    const history = [started(), stepCompleted(0), stepCompleted(1)]
    saga
      .given(history)
      .when(fail(2))
      .thenEmits([compensating(2, [1, 0])])
    const failing = [...history, compensating(2, [1, 0])]
    expect(sagaNextMove(stateAfter(failing))).toStrictEqual({
      _tag: "Compensate",
      step: 1,
      actionId: "refund-T-1001-step-1",
      reason: "saga refund-and-restock failed at step 2: supplier said no",
    })
    saga.given(failing).when(compensate(0)).thenNothingHappens()
    saga
      .given(failing)
      .when(compensate(1))
      .thenEmits([stepCompensated(1)])
    const oneUndone = [...failing, stepCompensated(1)]
    expect(sagaNextMove(stateAfter(oneUndone))).toMatchObject({ _tag: "Compensate", step: 0 })
    saga.given(oneUndone).when(compensate(1)).thenNothingHappens()
    saga
      .given(oneUndone)
      .when(compensate(0))
      .thenEmits([stepCompensated(0), sagaCompensated(2)])
    const ended = stateAfter([...oneUndone, stepCompensated(0), sagaCompensated(2)])
    expect(ended).toMatchObject({
      status: "compensated",
      failedStep: 2,
      undone: [
        { step: 1, outcome: "compensated" },
        { step: 0, outcome: "compensated" },
      ],
    })
    expect(sagaNextMove(ended)).toStrictEqual({ _tag: "Done" })
  })
  // #endregion

  it("ends compensated at once when the first step fails", () => {
    saga
      .given([started()])
      .when(fail(0))
      .thenEmits([sagaCompensated(0)])
  })

  it("records a step without a compensation as having nothing to undo, in the same decision", () => {
    const [refund, restock, notify] = steps as [SagaStep, SagaStep, SagaStep]
    const withGaps = [{ ...refund, compensation: null }, restock, { ...notify, compensation: null }, notify]
    const history = [started(withGaps), stepCompleted(0), stepCompleted(1), stepCompleted(2)]
    saga
      .given(history)
      .when(fail(3))
      .thenEmits([compensating(3, [2, 1, 0]), stepCompensated(2, "nothing-to-compensate")])
    saga
      .given([...history, compensating(3, [2, 1, 0]), stepCompensated(2, "nothing-to-compensate")])
      .when(compensate(1))
      .thenEmits([stepCompensated(1), stepCompensated(0, "nothing-to-compensate"), sagaCompensated(3)])
  })

  it("ends compensated in the failing decision when no completed step has a compensation", () => {
    const bare = steps.map((step) => ({ ...step, compensation: null }))
    saga
      .given([started(bare), stepCompleted(0)])
      .when(fail(1))
      .thenEmits([compensating(1, [0]), stepCompensated(0, "nothing-to-compensate"), sagaCompensated(1)])
  })

  it("decides nothing for a redelivered failure or a late success", () => {
    const failing = [started(), stepCompleted(0), compensating(1, [0])]
    saga.given(failing).when(fail(1)).thenNothingHappens()
    saga.given(failing).when(succeed(1)).thenNothingHappens()
    saga
      .given([started(), stepCompleted(0)])
      .when(fail(0))
      .thenNothingHappens()
  })
})

describe("sagaNextMove", () => {
  it("asks for the next step's action, with its compensation", () => {
    expect(sagaNextMove(stateAfter([started(), stepCompleted(0)]))).toStrictEqual({
      _tag: "RequestStep",
      step: 1,
      actionId: "refund-T-1001-step-1",
      kind: "storefront.adjust-stock",
      parameters: { sku: "LAMP-1", delta: 1 },
      compensation: { kind: "storefront.revert-stock-adjustment", parameters: {} },
    })
  })

  it("waits before the saga exists and is done once it completed", () => {
    expect(sagaNextMove(sagaDecider.initialState())).toStrictEqual({ _tag: "Wait" })
    const done = stateAfter([
      started(),
      stepCompleted(0),
      stepCompleted(1),
      stepCompleted(2),
      { type: "SagaCompleted", payload: { steps: 3 } },
    ])
    expect(done.status).toBe("completed")
    expect(sagaNextMove(done)).toStrictEqual({ _tag: "Done" })
  })
})

describe("sagaStepActionId", () => {
  it("appends the step to the saga id", () => {
    expect(sagaStepActionId("refund-T-1001", 2)).toBe("refund-T-1001-step-2")
  })

  it("is always a distinct subject token of at most 128 characters", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/),
        fc.nat(1000),
        fc.nat(1000),
        (id, step, other) => {
          const actionId = sagaStepActionId(id, step)
          expect(actionId).toMatch(/^[A-Za-z0-9_-]{1,128}$/)
          expect(actionId).toMatch(new RegExp(`-step-${step}$`))
          expect(sagaStepActionId(id, step)).toBe(actionId)
          if (other !== step) expect(sagaStepActionId(id, other)).not.toBe(actionId)
        },
      ),
    )
  })

  it("tells long saga ids apart that share a prefix", () => {
    const long = "s".repeat(125)
    expect(sagaStepActionId(`${long}a`, 0)).not.toBe(sagaStepActionId(`${long}b`, 0))
    expect(sagaStepActionId(`${long}a`, 0)).toHaveLength(128)
  })

  it("refuses what is not a saga id or a step index", () => {
    expect(() => sagaStepActionId("a.b", 0)).toThrow(/saga id/)
    expect(() => sagaStepActionId("a", -1)).toThrow(/not a step index/)
    expect(() => sagaStepActionId("a", 1.5)).toThrow(/not a step index/)
  })
})

// Drives a saga the way the driver does: follow sagaNextMove, answering each requested step with
// success until `failAt`, and each compensation with success; every command is delivered twice.
const drive = (declared: ReadonlyArray<SagaStep>, failAt: number | null) => {
  let history: Array<SagaEvent> = []
  const requested: Array<number> = []
  const compensated: Array<number> = []
  const send = (command: SagaCommand) => {
    const events = sagaDecider.decide(command, stateAfter(history))
    history = [...history, ...events]
    // A redelivery decides nothing.
    expect(sagaDecider.decide(command, stateAfter(history))).toStrictEqual([])
  }
  send(startSaga(declared))
  for (let guard = 0; guard < 100; guard++) {
    const move = sagaNextMove(stateAfter(history))
    if (move._tag === "Done" || move._tag === "Wait") return { history, requested, compensated, move }
    if (move._tag === "RequestStep") {
      requested.push(move.step)
      send(move.step === failAt ? fail(move.step) : succeed(move.step))
    } else {
      compensated.push(move.step)
      send(compensate(move.step))
    }
  }
  throw new Error("the saga did not finish")
}

const stepArbitrary: fc.Arbitrary<SagaStep> = fc.record({
  kind: fc.constantFrom("payment.refund", "storefront.adjust-stock", "mailbox.send-message"),
  parameters: fc.constant({}),
  compensation: fc.option(fc.constant({ kind: "payment.cancel-refund", parameters: {} }), { nil: null }),
})

describe("a driven saga", () => {
  it("runs every step in order and completes when none fails", () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { minLength: 1, maxLength: 8 }), (declared) => {
        const run = drive(declared, null)
        expect(run.move._tag).toBe("Done")
        expect(run.requested).toStrictEqual(declared.map((_, i) => i))
        expect(run.compensated).toStrictEqual([])
        expect(stateAfter(run.history).status).toBe("completed")
      }),
    )
  })

  it("undoes exactly the completed steps, in reverse, and ends compensated when a step fails", () => {
    fc.assert(
      fc.property(
        fc
          .array(stepArbitrary, { minLength: 1, maxLength: 8 })
          .chain((declared) => fc.tuple(fc.constant(declared), fc.nat(declared.length - 1))),
        ([declared, failAt]) => {
          const run = drive(declared, failAt)
          expect(run.move._tag).toBe("Done")
          expect(run.requested).toStrictEqual(Array.from({ length: failAt + 1 }, (_, i) => i))
          const completedReversed = Array.from({ length: failAt }, (_, i) => failAt - 1 - i)
          // The driver only compensates steps that declared a compensation...
          expect(run.compensated).toStrictEqual(
            completedReversed.filter((i) => declared[i]?.compensation !== null),
          )
          // ...and the log records every completed step as undone, in reverse order.
          const undone = run.history.flatMap((e) =>
            e.type === "SagaStepCompensated" ? [e.payload.step] : [],
          )
          expect(undone).toStrictEqual(completedReversed)
          const last = run.history[run.history.length - 1]
          expect(last).toStrictEqual({
            type: "SagaCompensated",
            payload: { failedStep: failAt, reason: "supplier said no" },
          })
          expect(stateAfter(run.history).status).toBe("compensated")
        },
      ),
    )
  })
})

describe("saga commit boundaries", () => {
  it("marks every event of a decision but the last as continued in its commit, whichever steps undo nothing", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }), fc.nat(6), (undoable, failAt) => {
        const sagaSteps = undoable.map((undo, i) => ({
          ...steps[i % steps.length]!,
          compensation: undo ? steps[i % steps.length]!.compensation : null,
        }))
        // Runs the saga as its driver would: steps succeed up to `failAt`, which fails, and
        // every step to undo is undone; each decision's events are checked as they are folded.
        let state = sagaDecider.initialState()
        const run = (command: SagaCommand) => {
          const events = sagaDecider.decide(command, state)
          const continued = events.map((event) => {
            const more = sagaContinuesInCommit(state, event)
            state = sagaDecider.evolve(state, event)
            return more
          })
          expect(continued).toEqual(events.map((_, i) => i < events.length - 1))
        }
        run(startSaga(sagaSteps))
        for (let step = 0; step < sagaSteps.length; step++) run(step === failAt ? fail(step) : succeed(step))
        for (let guard = 0; guard < sagaSteps.length; guard++) {
          const move = sagaNextMove(state)
          if (move._tag !== "Compensate") break
          run(compensate(move.step))
        }
        expect(sagaNextMove(state)).toStrictEqual({ _tag: "Done" })
      }),
    )
  })
})
