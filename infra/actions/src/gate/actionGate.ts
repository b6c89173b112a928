import {
  type ActionCause,
  ActionParameters,
  type CompensationSpec,
  type Money,
  type PolicyDecision,
  parametersHash,
  type SagaRef,
  SubjectToken,
} from "@mesh/contracts"
import { MeshNamespace, NatsClient } from "@mesh/eventlog"
import type { CommandError } from "@mesh/kernel/deciders"
import { ReadModelDb } from "@mesh/sql"
import { Clock, Context, Effect, Layer, Result, Schema } from "effect"
import {
  type ActionCommands,
  actionRef,
  emptyAction,
  type FoldedAction,
  makeActionCommands,
} from "../action/actionCommands.ts"
import type { ActionState } from "../action/actionDecider.ts"
import type { ActionPolicy } from "../policy/actionPolicy.ts"
import { evaluatePolicy, type PolicyFloor, type QuotaCounters } from "../policy/evaluatePolicy.ts"
import { actionsReadModel, quotaCountersOf } from "../readModel/actionsProjection.ts"

/** What an agent asks the gate for: an action, what caused it and what the gate may weigh. */
export interface ActionIntent {
  readonly actionId: string
  readonly agent: string
  readonly skill: string
  readonly kind: string
  readonly parameters: ActionParameters
  readonly cause: ActionCause
  readonly confidence: number | null
  readonly sentiment: "negative" | "neutral" | "positive" | null
  readonly firstTimeSupplier: boolean | null
  /** The agent's own verdict from its domain policy; the gate takes it only where it is stricter. */
  readonly floor?: PolicyFloor | null
  readonly saga?: SagaRef | null
  /** The undo; the connector's declared compensation when left out. */
  readonly compensation?: CompensationSpec | null
  readonly maxAttempts?: number
  readonly correlationId: string
  readonly causationId: string | null
}

/** Why an intent cannot be taken as it is, or null when it can. */
const validateIntent = (intent: ActionIntent): string | null => {
  for (const [what, value] of [
    ["agent", intent.agent],
    ["actionId", intent.actionId],
  ] as const) {
    if (Result.isFailure(Schema.decodeUnknownResult(SubjectToken)(value))) {
      return `${what} ${JSON.stringify(value)} must be 1-128 letters, digits, '_' or '-'`
    }
  }
  // Compensation keys and saga step ids are derived from other ids; taking one as a plain action
  // id would collide with the action or saga it belongs to.
  if (reservedSuffix.test(intent.actionId)) {
    const stepOfSaga =
      intent.saga !== undefined &&
      intent.saga !== null &&
      intent.actionId.endsWith(`-step-${intent.saga.step}`)
    if (!stepOfSaga)
      return `actionId ${intent.actionId} ends in a suffix reserved for compensations and saga steps`
  }
  if (Result.isFailure(Schema.decodeUnknownResult(ActionParameters)(intent.parameters))) {
    return "parameters must be a JSON object with identifier keys and finite numbers"
  }
  return null
}

/** What the gate did with an intent: the verdict recorded with it and the action's state. */
export interface GateOutcome {
  readonly actionId: string
  readonly decision: PolicyDecision
  readonly state: ActionState
  /** The action as the gate folded it: its state, position and causal ids, for the caller's next move. */
  readonly action: FoldedAction
  /** False when the action had been requested before (a redelivery): the first verdict stands. */
  readonly requested: boolean
}

/** The same action id was requested before for another kind or other parameters. */
export const IntentConflict = Schema.TaggedStruct("IntentConflict", { message: Schema.String })
/** The intent is malformed: a bad id, a reserved id or a saga's, or parameters its kind cannot take. */
export const InvalidIntent = Schema.TaggedStruct("InvalidIntent", { message: Schema.String })
/** The log or the quota history could not be read or written; trying again may succeed. */
export const GateUnavailable = Schema.TaggedStruct("GateUnavailable", { message: Schema.String })

/** The gate could not record the request; `reason` says why. */
export class ActionGateError extends Schema.TaggedError<ActionGateError>()("ActionGateError", {
  actionId: Schema.String,
  reason: Schema.Union([IntentConflict, InvalidIntent, GateUnavailable]),
}) {
  override get message(): string {
    return `action ${this.actionId}: ${this.reason._tag}: ${this.reason.message}`
  }
}

/**
 * The money an action moves, read from its parameters so that a caller cannot understate it:
 * `amountMinor` and `currency` (a refund), or `unitCostMinor` times `quantity` (a purchase order).
 */
export const moneyAtStake = (parameters: ActionParameters): Money | null => {
  const { amountMinor, unitCostMinor, quantity, currency } = parameters
  if (typeof currency !== "string") return null
  if (typeof amountMinor === "number") return { amountMinor, currency }
  if (typeof unitCostMinor === "number" && typeof quantity === "number") {
    return { amountMinor: unitCostMinor * quantity, currency }
  }
  return null
}

const reservedSuffix = /-(undo|step-\d+)$/

/** Settings of an action gate. */
export interface ActionGateOptions {
  readonly commands: ActionCommands
  /** The workflow policy the agent's actions pass through. */
  readonly policy: ActionPolicy
  /**
   * The agent's quota counters at an instant, for a request's amount currency: from its actions
   * read model (`quotaCountersOf`), never by folding the log on every request; `quotaInputs` over
   * a list of requests for a gate with no read model.
   */
  readonly counters: (
    agent: string,
    now: string,
    currency: string | null,
  ) => Effect.Effect<QuotaCounters, unknown>
  /** The declared undo of an action kind, when the intent names none. */
  readonly compensationOf?: (kind: string) => string | undefined
  /** The money an action moves (thresholds, the spend quota); `moneyAtStake` by default. */
  readonly amountOf?: (kind: string, parameters: ActionParameters) => Money | null
  readonly defaultMaxAttempts?: number
}

/**
 * The one way an agent asks for a side effect: every request, a model's included, passes the same
 * policy gate (allow-list, quotas, thresholds), and the verdict, the policy version and the inputs it
 * saw are recorded with the request in one event. A repeated intent (same action id) changes
 * nothing and answers the first verdict, so a redelivered reaction never asks twice.
 */
export const makeActionGate = (options: ActionGateOptions) => {
  const { commands, policy } = options

  const amountOf =
    options.amountOf ?? ((_kind: string, parameters: ActionParameters) => moneyAtStake(parameters))

  const request = Effect.fn("ActionGate.request")(function* (intent: ActionIntent) {
    const fail = (reason: ActionGateError["reason"]) =>
      new ActionGateError({ actionId: intent.actionId, reason })
    const unavailable = (e: { readonly message: string }) =>
      fail({ _tag: "GateUnavailable", message: e.message })
    const invalid = validateIntent(intent)
    if (invalid !== null) return yield* Effect.fail(fail({ _tag: "InvalidIntent", message: invalid }))
    const amount = amountOf(intent.kind, intent.parameters)
    const nowMillis = yield* Clock.currentTimeMillis
    const now = new Date(nowMillis).toISOString()
    const counters = yield* options.counters(intent.agent, now, amount?.currency ?? null).pipe(
      Effect.mapError((e) =>
        fail({
          _tag: "GateUnavailable",
          message: `quota counters unavailable: ${e instanceof Error ? e.message : String(e)}`,
        }),
      ),
    )
    const decision = evaluatePolicy(
      policy,
      {
        agent: intent.agent,
        skill: intent.skill,
        kind: intent.kind,
        amount,
        confidence: intent.confidence,
        sentiment: intent.sentiment,
        firstTimeSupplier: intent.firstTimeSupplier,
        floor: intent.floor ?? null,
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
    // Taken to be new: appended where an action without events stands, so that a new action costs
    // no read. An action requested before refuses the append; it is read then, and answers.
    const outcome = yield* commands
      .sendAt(
        emptyAction(actionRef(intent.agent, intent.actionId)),
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
      .pipe(
        // Bad input the action refuses (its id is a saga's written beside the actions) is the
        // intent's; anything else is the log's.
        Effect.mapError((e: CommandError) =>
          e.reason._tag === "InvalidCommand"
            ? fail({ _tag: "InvalidIntent", message: e.reason.message })
            : unavailable(e),
        ),
      )
    if (outcome.status !== "appended") return yield* answerExisting(intent, outcome.folded)
    return {
      actionId: intent.actionId,
      decision,
      state: outcome.folded.state,
      action: outcome.folded,
      requested: true,
    } satisfies GateOutcome
  })

  /** A repeated intent answers the first verdict; the same id for another effect is a conflict. */
  const answerExisting = (intent: ActionIntent, action: FoldedAction) =>
    Effect.gen(function* () {
      const { state } = action
      const fail = (reason: ActionGateError["reason"]) =>
        new ActionGateError({ actionId: intent.actionId, reason })
      if (state.status === "none")
        return yield* Effect.fail(fail({ _tag: "GateUnavailable", message: "no request recorded" }))
      const hash = parametersHash(intent.parameters)
      if (state.request.kind !== intent.kind || state.request.parametersHash !== hash) {
        return yield* Effect.fail(
          fail({
            _tag: "IntentConflict",
            message: `it was requested before as ${state.request.kind} with parameters ${state.request.parametersHash}, now as ${intent.kind} with ${hash}`,
          }),
        )
      }
      return {
        actionId: intent.actionId,
        decision: state.request.policy,
        state,
        action,
        requested: false,
      } satisfies GateOutcome
    })

  return { request, policy }
}

/** What an action gate offers: `request`, and the policy it enforces. */
export type ActionGateShape = ReturnType<typeof makeActionGate>

/** The policy gate of one agent's actions, as a service of its process. */
export class ActionGate extends Context.Service<ActionGate, ActionGateShape>()("mesh/ActionGate") {
  /**
   * The gate of `agent` under `policy`, on the process's NATS connection and namespace, with its
   * quota history read from the agent's actions read model (the `actionsProjectionWorker` keeps it).
   */
  static readonly layer = (
    options: Omit<ActionGateOptions, "commands" | "counters"> & { readonly agent: string },
  ): Layer.Layer<ActionGate, never, NatsClient | MeshNamespace | ReadModelDb> =>
    Layer.effect(
      ActionGate,
      Effect.gen(function* () {
        const nats = yield* NatsClient
        const namespace = yield* MeshNamespace
        const readModel = actionsReadModel((yield* ReadModelDb).db, namespace.name, options.agent)
        const { agent: _agent, ...gateOptions } = options
        return makeActionGate({
          ...gateOptions,
          commands: makeActionCommands({ nats, namespace: namespace.name }),
          counters: (agent, now, currency) =>
            Effect.tryPromise(() => quotaCountersOf(readModel, agent, now, currency)),
        })
      }),
    )
}
