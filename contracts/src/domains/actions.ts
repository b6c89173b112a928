import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Instant } from "../envelope.ts"
import { anyAggregateType, assertSubjectToken, SubjectToken } from "../subjects.ts"
import { Money, NonEmpty, Score } from "./common.ts"
import { Sentiment } from "./customer.ts"

// The actions domain is a platform domain: its aggregate type names the owning agent, so an
// action's subject is `mesh.actions.<agent>.<actionId>` and a saga's is
// `mesh.actions.saga-<agent>.<sagaId>` (see `sagaAggregateType`).
const domain = "actions" as const
const aggregateType = anyAggregateType
const producer = "action-executor"

/**
 * The aggregate type of an agent's sagas, `saga-<agent>`, apart from its actions, so that neither
 * is ever folded from the other's events. Sagas written before it have their events under the
 * agent's own aggregate type, beside its actions; readers tell them apart by event type.
 */
export const sagaAggregateType = (agent: string): string =>
  assertSubjectToken("saga aggregate type", `saga-${assertSubjectToken("agent", agent)}`)

/** The id of an action: its aggregate id and the idempotency key sent to the external system. */
export const ActionId = SubjectToken
/** The name of an action kind, `<system>.<operation>`, e.g. `payment.refund`. */
export const ActionKindName = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9-]{0,40}\.[a-z][a-z0-9-]{0,60}$/, {
    message: "must be <system>.<operation> in lowercase, e.g. payment.refund",
  }),
)
/**
 * A key of a JSON object an action carries: an identifier, never a name of `Object.prototype`, so
 * that parameters cannot pollute prototypes and compare equal after a round trip.
 */
export const JsonObjectKey = Schema.String.check(
  Schema.isPattern(
    /^(?!(?:constructor|prototype|__proto__|toString|valueOf|hasOwnProperty|isPrototypeOf|propertyIsEnumerable|toLocaleString|__defineGetter__|__defineSetter__|__lookupGetter__|__lookupSetter__)$)[A-Za-z_][A-Za-z0-9_]{0,63}$/,
    { message: "must be an identifier (letters, digits, '_') that is not a name of Object.prototype" },
  ),
)

/** A JSON value inside action parameters and results. */
export type JsonParameterValue =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<JsonParameterValue>
  | { readonly [key: string]: JsonParameterValue }

/** A JSON value inside action parameters and results (finite numbers, identifier keys). */
export const JsonParameterValue: Schema.Codec<JsonParameterValue> = Schema.Union([
  Schema.Null,
  Schema.Boolean,
  Schema.Finite,
  Schema.String,
  Schema.Array(Schema.suspend(() => JsonParameterValue)),
  Schema.Record(
    JsonObjectKey,
    Schema.suspend(() => JsonParameterValue),
  ),
])

/** The parameters of an action as a JSON object. */
export const ActionParameters = Schema.Record(JsonObjectKey, JsonParameterValue)
/** The parameters of an action. */
export type ActionParameters = typeof ActionParameters.Type

/** What an external system answered, as a JSON object. */
export const ActionResult = Schema.Record(JsonObjectKey, JsonParameterValue)
/** What an external system answered. */
export type ActionResult = typeof ActionResult.Type
/** A lowercase hex SHA-256 digest (of the canonical JSON of an action's parameters). */
export const Sha256Hex = Schema.String.check(
  Schema.isPattern(/^[0-9a-f]{64}$/, { message: "must be a lowercase hex SHA-256 digest" }),
)

/** How a policy lets an action through, from least to most restrictive. */
export const PolicyMode = Schema.Literals(["auto", "notify", "require-approval", "deny"])
/** How a policy lets an action through. */
export type PolicyMode = typeof PolicyMode.Type

/** The policy gate's answer for one action request, with the rule that decided it. */
export const PolicyVerdict = Schema.Struct({
  mode: PolicyMode,
  reason: NonEmpty,
  /** The rule that decided: a rule id, "default", "allow-list" or "quota:<name>". */
  rule: NonEmpty,
  /** Who the policy names to decide an action that waits for approval (absent: any approver). */
  approvers: Schema.optionalKey(Schema.Array(NonEmpty)),
})
/** The policy gate's answer for one action request. */
export type PolicyVerdict = typeof PolicyVerdict.Type

/**
 * An agent's own verdict on an action from its domain policy, which can only make the gate's
 * stricter: recorded with the inputs, so that a verdict can be re-evaluated under another policy.
 */
export const PolicyFloor = Schema.Struct({
  mode: PolicyMode,
  /** The agent's rule, recorded in a verdict it decides as `agent:<rule>`. */
  rule: NonEmpty,
  reason: NonEmpty,
})
/** An agent's own verdict on an action. */
export type PolicyFloor = typeof PolicyFloor.Type

/** Everything the policy gate looked at, recorded so that a verdict can be explained and replayed. */
export const PolicyInputs = Schema.Struct({
  amount: Schema.NullOr(Money),
  confidence: Schema.NullOr(Score),
  sentiment: Schema.NullOr(Sentiment),
  firstTimeSupplier: Schema.NullOr(Schema.Boolean),
  actionsLastHour: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** What the agent has committed to spend today in the request's currency, before this request. */
  spendToday: Schema.NullOr(Money),
  /** The agent's own verdict the gate weighed, when it gave one (absent in records before it was kept). */
  floor: Schema.optionalKey(PolicyFloor),
})
/** Everything the policy gate looked at. */
export type PolicyInputs = typeof PolicyInputs.Type

/** A verdict with the policy (workflow and version) that gave it and the inputs it saw. */
export const PolicyDecision = Schema.Struct({
  workflow: NonEmpty,
  version: NonEmpty,
  verdict: PolicyVerdict,
  inputs: PolicyInputs,
})
/** A verdict with the policy that gave it and the inputs it saw. */
export type PolicyDecision = typeof PolicyDecision.Type

/** What caused an action: the recorded model decision and/or the event the agent reacted to. */
export const ActionCause = Schema.Struct({
  decisionId: Schema.NullOr(NonEmpty),
  eventId: Schema.NullOr(NonEmpty),
})
/** What caused an action. */
export type ActionCause = typeof ActionCause.Type

/** The declared compensation of an action: the operation that undoes it. */
export const CompensationSpec = Schema.Struct({ kind: ActionKindName, parameters: ActionParameters })
/** The declared compensation of an action. */
export type CompensationSpec = typeof CompensationSpec.Type

/** Where an action sits in a saga. */
export const SagaRef = Schema.Struct({
  sagaId: SubjectToken,
  step: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
})
/** Where an action sits in a saga. */
export type SagaRef = typeof SagaRef.Type

/** Whether an attempt performs the action or its compensation. */
export const ActionPhase = Schema.Literals(["execute", "compensate"])
/** Whether an attempt performs the action or its compensation. */
export type ActionPhase = typeof ActionPhase.Type

/** One line of an action's history, as a parked action shows it to a human. */
export const ActionHistoryEntry = Schema.Struct({
  phase: ActionPhase,
  attempt: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  outcome: Schema.Literals(["started", "succeeded", "failed"]),
  reason: Schema.NullOr(Schema.String),
  at: Instant,
})
/** One line of an action's history. */
export type ActionHistoryEntry = typeof ActionHistoryEntry.Type

/** Why an attempt began: the first one, a retry after a recorded failure, or recovery after a crash. */
export const AttemptTrigger = Schema.Literals(["first", "retry", "recovery"])
/** Why an attempt began. */
export type AttemptTrigger = typeof AttemptTrigger.Type

/** What follows a failed attempt: another attempt, parking for a human, or the end (not retryable). */
export const FailureNext = Schema.Literals(["retry", "park", "fail"])
/** What follows a failed attempt. */
export type FailureNext = typeof FailureNext.Type

/** Why an attempt failed and whether trying again could help. */
export const AttemptFailure = Schema.Struct({ reason: NonEmpty, retryable: Schema.Boolean })
/** Why an attempt failed and whether trying again could help. */
export type AttemptFailure = typeof AttemptFailure.Type

/** Why an approval command was refused. */
export const ApprovalRefusal = Schema.Literals([
  "parameters-mismatch",
  "expired",
  "already-decided",
  "not-awaiting-approval",
  "self-approval",
  "not-a-named-approver",
])
/** Why an approval command was refused. */
export type ApprovalRefusal = typeof ApprovalRefusal.Type

const Attempt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** An agent asked for a side effect; the policy verdict that let it through (or not) is recorded with it. */
export const ActionRequested = defineEvent({
  type: "ActionRequested",
  domain,
  aggregateType,
  payload: Schema.Struct({
    actionId: ActionId,
    agent: SubjectToken,
    skill: NonEmpty,
    kind: ActionKindName,
    parameters: ActionParameters,
    parametersHash: Sha256Hex,
    cause: ActionCause,
    policy: PolicyDecision,
    saga: Schema.NullOr(SagaRef),
    compensation: Schema.NullOr(CompensationSpec),
    maxAttempts: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })),
    /** How long an approval of this action stays good, from the policy (absent in early records). */
    approvalTtlMs: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
    requestedAt: Instant,
  }),
  summary: "An agent asked for a side effect, with the policy verdict it got.",
  producer: "any agent",
  consumers: [producer],
})

/** The policy refused an action outright (not on the allow-list, a quota exhausted, a deny rule). */
export const ActionDenied = defineEvent({
  type: "ActionDenied",
  domain,
  aggregateType,
  payload: Schema.Struct({ reason: NonEmpty, rule: NonEmpty }),
  summary: "The policy refused the action; nothing was executed.",
  producer: "any agent",
})

/** An action waits for a human to approve exactly these parameters before the deadline. */
export const ActionAwaitingApproval = defineEvent({
  type: "ActionAwaitingApproval",
  domain,
  aggregateType,
  payload: Schema.Struct({ parametersHash: Sha256Hex, reason: NonEmpty, expiresAt: Instant }),
  summary: "The action waits in the approvals queue.",
  producer: "any agent",
  consumers: ["approvals"],
})

/** A human approved an action, bound to the hash of the parameters they saw. */
export const ActionApproved = defineEvent({
  type: "ActionApproved",
  domain,
  aggregateType,
  payload: Schema.Struct({
    approver: NonEmpty,
    parametersHash: Sha256Hex,
    approvedAt: Instant,
    expiresAt: Instant,
  }),
  summary: "A human approved the action's exact parameters.",
  producer: "approvals",
  consumers: [producer],
})

/** An approval command was refused (other parameters, too late, already decided); the action is unchanged. */
export const ActionApprovalRefused = defineEvent({
  type: "ActionApprovalRefused",
  domain,
  aggregateType,
  payload: Schema.Struct({
    approver: NonEmpty,
    refusal: ApprovalRefusal,
    presentedHash: Schema.NullOr(Sha256Hex),
    at: Instant,
  }),
  summary: "An approval was refused and changed nothing.",
  producer: "approvals",
})

/** A human rejected an action; it will never run. */
export const ActionRejected = defineEvent({
  type: "ActionRejected",
  domain,
  aggregateType,
  payload: Schema.Struct({ rejectedBy: NonEmpty, reason: NonEmpty, at: Instant }),
  summary: "A human rejected the action.",
  producer: "approvals",
  consumers: [producer],
})

/** Nobody approved an action before its deadline; it will never run. */
export const ActionExpired = defineEvent({
  type: "ActionExpired",
  domain,
  aggregateType,
  payload: Schema.Struct({ expiresAt: Instant, at: Instant }),
  summary: "The approval deadline passed; the action will not run.",
  producer,
})

/** An attempt began; recorded before the external call so that a crash after it is detectable. */
export const ActionAttemptStarted = defineEvent({
  type: "ActionAttemptStarted",
  domain,
  aggregateType,
  payload: Schema.Struct({
    phase: ActionPhase,
    attempt: Attempt,
    /** `recovery` when an earlier attempt of this phase started and never recorded a result (a crash). */
    trigger: AttemptTrigger,
    startedAt: Instant,
  }),
  summary: "An attempt at the action (or its compensation) began.",
  producer,
})

/** The external system performed the action. */
export const ActionSucceeded = defineEvent({
  type: "ActionSucceeded",
  domain,
  aggregateType,
  payload: Schema.Struct({
    attempt: Attempt,
    externalRef: NonEmpty,
    result: ActionResult,
    completedAt: Instant,
  }),
  summary: "The external system performed the action.",
  producer,
  consumers: ["any agent"],
})

/** An attempt failed; `next` says whether a retry follows, the action is parked, or it failed for good. */
export const ActionFailed = defineEvent({
  type: "ActionFailed",
  domain,
  aggregateType,
  payload: Schema.Struct({
    attempt: Attempt,
    failure: AttemptFailure,
    next: FailureNext,
    retryAt: Schema.NullOr(Instant),
    failedAt: Instant,
  }),
  summary: "An attempt at the action failed.",
  producer,
  consumers: ["any agent"],
})

/** Retries are exhausted; the action waits for a human with its full history. */
export const ActionParked = defineEvent({
  type: "ActionParked",
  domain,
  aggregateType,
  payload: Schema.Struct({
    phase: ActionPhase,
    reason: NonEmpty,
    attempts: Attempt,
    history: Schema.Array(ActionHistoryEntry),
    parkedAt: Instant,
  }),
  summary: "Retries are exhausted; the action is parked for a human.",
  producer,
  consumers: ["approvals"],
})

/** A succeeded action is to be undone (its saga failed later); the compensation has its own key. */
export const ActionCompensationRequested = defineEvent({
  type: "ActionCompensationRequested",
  domain,
  aggregateType,
  payload: Schema.Struct({
    compensationKey: NonEmpty,
    kind: ActionKindName,
    parameters: ActionParameters,
    reason: NonEmpty,
    requestedAt: Instant,
  }),
  summary: "The action is to be undone by its declared compensation.",
  producer,
})

/** A compensation attempt failed; `next` says whether a retry follows or the action is parked. */
export const ActionCompensationFailed = defineEvent({
  type: "ActionCompensationFailed",
  domain,
  aggregateType,
  payload: Schema.Struct({
    attempt: Attempt,
    failure: AttemptFailure,
    next: FailureNext,
    retryAt: Schema.NullOr(Instant),
    failedAt: Instant,
  }),
  summary: "An attempt at the compensation failed.",
  producer,
})

/** The external system undid the action. */
export const ActionCompensated = defineEvent({
  type: "ActionCompensated",
  domain,
  aggregateType,
  payload: Schema.Struct({
    attempt: Attempt,
    externalRef: NonEmpty,
    result: ActionResult,
    compensatedAt: Instant,
  }),
  summary: "The external system undid the action.",
  producer,
  consumers: ["any agent"],
})

/** A human was told about an action the policy let through with `notify`. */
export const ActionHumanNotified = defineEvent({
  type: "ActionHumanNotified",
  domain,
  aggregateType,
  payload: Schema.Struct({ channel: NonEmpty, at: Instant }),
  summary: "A human was told about an action taken under a notify policy.",
  producer,
})

/** One declared step of a saga: an action and the compensation that undoes it. */
export const SagaStep = Schema.Struct({
  kind: ActionKindName,
  parameters: ActionParameters,
  compensation: Schema.NullOr(CompensationSpec),
})
/** One declared step of a saga. */
export type SagaStep = typeof SagaStep.Type

/** What the policy gate may read about a saga's model decision (confidence, sentiment). */
export const PolicyContext = Schema.Struct({
  confidence: Schema.NullOr(Score),
  sentiment: Schema.NullOr(Sentiment),
})
/** What the policy gate may read about a model decision. */
export type PolicyContext = typeof PolicyContext.Type

/** A multi-step workflow began; each step runs as an action, in order. */
export const SagaStarted = defineEvent({
  type: "SagaStarted",
  domain,
  aggregateType,
  payload: Schema.Struct({
    sagaId: SubjectToken,
    agent: SubjectToken,
    skill: NonEmpty,
    name: NonEmpty,
    // Non-empty: the saga decider refuses an empty saga (array length checks defeat the schema arbitraries).
    steps: Schema.Array(SagaStep),
    cause: ActionCause,
    context: PolicyContext,
    startedAt: Instant,
  }),
  summary: "A multi-step workflow began.",
  producer: "any agent",
  consumers: [producer],
})

/** A saga step's action succeeded. */
export const SagaStepCompleted = defineEvent({
  type: "SagaStepCompleted",
  domain,
  aggregateType,
  payload: Schema.Struct({
    step: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    actionId: ActionId,
    externalRef: NonEmpty,
  }),
  summary: "A saga step's action succeeded.",
  producer,
})

/** A saga step failed; the completed steps are undone in reverse order. */
export const SagaCompensating = defineEvent({
  type: "SagaCompensating",
  domain,
  aggregateType,
  payload: Schema.Struct({
    failedStep: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    reason: NonEmpty,
    toCompensate: Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  }),
  summary: "A saga step failed; completed steps are being undone in reverse.",
  producer,
})

/** A completed saga step was undone (or had nothing to undo). */
export const SagaStepCompensated = defineEvent({
  type: "SagaStepCompensated",
  domain,
  aggregateType,
  payload: Schema.Struct({
    step: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    actionId: ActionId,
    outcome: Schema.Literals(["compensated", "nothing-to-compensate"]),
  }),
  summary: "A completed saga step was undone.",
  producer,
})

/** Every step of a saga succeeded. */
export const SagaCompleted = defineEvent({
  type: "SagaCompleted",
  domain,
  aggregateType,
  payload: Schema.Struct({ steps: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)) }),
  summary: "Every step of the saga succeeded.",
  producer,
  consumers: ["any agent"],
})

/** A saga failed and every completed step was undone: the world is as it was. */
export const SagaCompensated = defineEvent({
  type: "SagaCompensated",
  domain,
  aggregateType,
  payload: Schema.Struct({
    failedStep: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    reason: NonEmpty,
  }),
  summary: "The saga failed and its completed steps were undone.",
  producer,
  consumers: ["any agent"],
})

/** The events of one action. */
export const actionAggregateEvents = [
  ActionRequested,
  ActionDenied,
  ActionAwaitingApproval,
  ActionApproved,
  ActionApprovalRefused,
  ActionRejected,
  ActionExpired,
  ActionAttemptStarted,
  ActionSucceeded,
  ActionFailed,
  ActionParked,
  ActionCompensationRequested,
  ActionCompensationFailed,
  ActionCompensated,
  ActionHumanNotified,
] as const

/** The events of one saga. */
export const sagaEvents = [
  SagaStarted,
  SagaStepCompleted,
  SagaCompensating,
  SagaStepCompensated,
  SagaCompleted,
  SagaCompensated,
] as const

/** Every public event of the actions domain. */
export const actionEvents = [...actionAggregateEvents, ...sagaEvents] as const
