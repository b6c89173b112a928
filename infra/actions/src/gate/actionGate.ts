import {
  type ActionCause,
  type ActionParameters,
  type CompensationSpec,
  type Money,
  type PolicyDecision,
  parametersHash,
  type SagaRef,
} from "@mesh/contracts"
import type { CommandError } from "@mesh/kernel/deciders"
import { Clock, Effect, Schema } from "effect"
import type { ActionCommands } from "../action/actionCommands.ts"
import type { ActionState } from "../action/actionDecider.ts"
import type { ActionPolicy } from "../policy/actionPolicy.ts"
import { evaluatePolicy, type QuotaHistoryEntry, quotaInputs } from "../policy/evaluatePolicy.ts"

/** What an agent asks the gate for: an action, what caused it and what the gate may weigh. */
export interface ActionIntent {
  readonly actionId: string
  readonly agent: string
  readonly skill: string
  readonly kind: string
  readonly parameters: ActionParameters
  readonly cause: ActionCause
  /** The amount at stake, for thresholds and the spend quota (null when the action moves no money). */
  readonly amount: Money | null
  readonly confidence: number | null
  readonly sentiment: "negative" | "neutral" | "positive" | null
  readonly firstTimeSupplier: boolean | null
  readonly saga?: SagaRef | null
  /** The undo; the connector's declared compensation when left out. */
  readonly compensation?: CompensationSpec | null
  readonly maxAttempts?: number
  readonly correlationId: string
  readonly causationId: string | null
}

/** What the gate did with an intent: the verdict recorded with it and the action's state. */
export interface GateOutcome {
  readonly actionId: string
  readonly decision: PolicyDecision
  readonly state: ActionState
  /** False when the action had been requested before (a redelivery): the first verdict stands. */
  readonly requested: boolean
}

/** The gate could not record the request. */
export class ActionGateError extends Schema.TaggedError<ActionGateError>()("ActionGateError", {
  actionId: Schema.String,
  message: Schema.String,
}) {}

/** Settings of an action gate. */
export interface ActionGateOptions {
  readonly commands: ActionCommands
  /** The workflow policy the agent's actions pass through. */
  readonly policy: ActionPolicy
  /** The agent's earlier requests since an instant (the quota counters are computed from them). */
  readonly history: (agent: string, since: string) => Effect.Effect<ReadonlyArray<QuotaHistoryEntry>, unknown>
  /** The declared undo of an action kind, when the intent names none. */
  readonly compensationOf?: (kind: string) => string | undefined
  readonly defaultMaxAttempts?: number
}

const dayMs = 24 * 60 * 60 * 1000

/**
 * The one way an agent asks for a side effect: every request, a model's included, passes the same
 * policy gate (allow-list, quotas, thresholds), and the verdict, the policy version and the inputs it
 * saw are recorded with the request in one event. A repeated intent (same action id) changes
 * nothing and answers the first verdict, so a redelivered reaction never asks twice.
 */
export const makeActionGate = (options: ActionGateOptions) => {
  const { commands, policy } = options

  const request = Effect.fn("ActionGate.request")(function* (intent: ActionIntent) {
    const fail = (message: string) => new ActionGateError({ actionId: intent.actionId, message })
    const existing = yield* commands
      .load(intent.agent, intent.actionId)
      .pipe(Effect.mapError((e) => fail(e.message)))
    if (existing.state.status !== "none") {
      return yield* answerExisting(intent, existing.state)
    }
    const nowMillis = yield* Clock.currentTimeMillis
    const now = new Date(nowMillis).toISOString()
    const history = yield* options
      .history(intent.agent, new Date(nowMillis - dayMs).toISOString())
      .pipe(
        Effect.mapError((e) =>
          fail(`quota history unavailable: ${e instanceof Error ? e.message : String(e)}`),
        ),
      )
    const counters = quotaInputs(history, intent.agent, now, intent.amount?.currency ?? null)
    const decision = evaluatePolicy(
      policy,
      {
        agent: intent.agent,
        skill: intent.skill,
        kind: intent.kind,
        amount: intent.amount,
        confidence: intent.confidence,
        sentiment: intent.sentiment,
        firstTimeSupplier: intent.firstTimeSupplier,
      },
      counters,
    )
    const declaredUndo = options.compensationOf?.(intent.kind)
    const compensation =
      intent.compensation !== undefined
        ? intent.compensation
        : declaredUndo === undefined
          ? null
          : { kind: declaredUndo, parameters: {} }
    const outcome = yield* commands
      .send(
        intent.agent,
        intent.actionId,
        "request",
        {
          _tag: "RequestAction",
          request: {
            actionId: intent.actionId,
            agent: intent.agent,
            skill: intent.skill,
            kind: intent.kind,
            parameters: intent.parameters,
            cause: intent.cause,
            saga: intent.saga ?? null,
            compensation,
            maxAttempts: intent.maxAttempts ?? options.defaultMaxAttempts ?? 5,
          },
          parametersHash: parametersHash(intent.parameters),
          policy: decision,
          approvalTtlMs: policy.approvalTtlMs,
          now,
        },
        {
          actor: { kind: "agent", id: intent.agent },
          correlationId: intent.correlationId,
          causationId: intent.causationId,
        },
      )
      .pipe(Effect.mapError((e: CommandError) => fail(e.message)))
    const after = yield* commands
      .load(intent.agent, intent.actionId)
      .pipe(Effect.mapError((e) => fail(e.message)))
    if (outcome.status !== "appended") return yield* answerExisting(intent, after.state)
    return { actionId: intent.actionId, decision, state: after.state, requested: true } satisfies GateOutcome
  })

  const answerExisting = (intent: ActionIntent, state: ActionState) =>
    Effect.gen(function* () {
      const history = yield* commands.log
        .load({ domain: "actions", type: intent.agent, id: intent.actionId })
        .pipe(Effect.mapError((e) => new ActionGateError({ actionId: intent.actionId, message: e.message })))
      const first = history.events.find((e) => e.type === "ActionRequested")
      if (first?.type !== "ActionRequested") {
        return yield* Effect.fail(
          new ActionGateError({ actionId: intent.actionId, message: "the action has no recorded request" }),
        )
      }
      return {
        actionId: intent.actionId,
        decision: first.payload.policy,
        state,
        requested: false,
      } satisfies GateOutcome
    })

  return { request, policy }
}

/** An action gate. */
export type ActionGate = ReturnType<typeof makeActionGate>
