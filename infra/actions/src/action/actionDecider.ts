import type {
  ActionCause,
  ActionHistoryEntry,
  ActionParameters,
  ActionPhase,
  ActionResult,
  ApprovalRefusal,
  AttemptFailure,
  actionAggregateEvents,
  CompensationSpec,
  PolicyDecision,
  PolicyMode,
  SagaRef,
} from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel/deciders"

// One action is one aggregate: `mesh.actions.<agent>.<actionId>`. Its decider is the whole life of
// an intent (policy gate, approval, attempts, retries, parking, compensation) as pure functions;
// the executor is only the shell that calls the connector and records what happened. Time enters
// in every command as an ISO instant (`now`), never from a clock.

/** The events of one action, as the decider sees them. */
export type ActionEvent = DecidedEvent<(typeof actionAggregateEvents)[number]>

/** What an agent asks for: the side effect, its cause and how to undo it. */
export interface ActionRequest {
  readonly actionId: string
  readonly agent: string
  readonly skill: string
  readonly kind: string
  readonly parameters: ActionParameters
  readonly cause: ActionCause
  readonly saga: SagaRef | null
  readonly compensation: CompensationSpec | null
  readonly maxAttempts: number
}

/** The facts of a requested action that every later state keeps. */
export interface RequestedAction extends ActionRequest {
  readonly parametersHash: string
  readonly mode: PolicyMode
  /** How long an approval given to this action stays good (the policy's, recorded with the request). */
  readonly approvalTtlMs: number | null
  /** The policy verdict the request got, with the workflow, version and inputs. */
  readonly policy: PolicyDecision
  readonly requestedAt: string
}

/** Attempts of one phase so far: how many started, how many the budget allows, and the history. */
export interface Attempts {
  readonly started: number
  readonly budget: number
  readonly history: ReadonlyArray<ActionHistoryEntry>
}

/**
 * A human's approval: who, until when, and how many attempts had started when it was given. It
 * lapses only if no attempt of its round started in time; once one has, the effect may have
 * happened, so the round runs to its end rather than expiring half-done.
 */
export interface Approval {
  readonly approver: string
  readonly expiresAt: string
  readonly startedAtApproval: number
}

/** The compensation of a succeeded action once it was requested. */
export interface PendingCompensation {
  readonly key: string
  readonly kind: string
  readonly parameters: ActionParameters
  readonly reason: string
}

/** The state of an action, discriminated on `status`. */
export type ActionState =
  | { readonly status: "none" }
  | { readonly status: "denied"; readonly request: RequestedAction; readonly reason: string }
  | {
      readonly status: "awaiting-approval"
      readonly request: RequestedAction
      readonly expiresAt: string
    }
  | {
      /** Cleared to run (auto, notify, approved, or a retry after a failure); waits for `retryAt` if set. */
      readonly status: "pending"
      readonly request: RequestedAction
      readonly approval: Approval | null
      readonly attempts: Attempts
      readonly retryAt: string | null
    }
  | {
      /** An attempt started and has no recorded result yet (in flight, or its executor crashed). */
      readonly status: "attempting"
      readonly request: RequestedAction
      readonly approval: Approval | null
      readonly attempts: Attempts
      readonly startedAt: string
    }
  | {
      readonly status: "succeeded"
      readonly request: RequestedAction
      readonly externalRef: string
      readonly result: ActionResult
      readonly notified: boolean
      readonly attempts: Attempts
    }
  | {
      readonly status: "failed"
      readonly request: RequestedAction
      readonly reason: string
      readonly attempts: Attempts
    }
  | {
      /** Retries are exhausted: a human approves another round of attempts or rejects. */
      readonly status: "parked"
      readonly request: RequestedAction
      readonly phase: ActionPhase
      readonly reason: string
      readonly attempts: Attempts
      /** Set when the compensation phase parked: the effect being undone. */
      readonly undo: { readonly externalRef: string; readonly compensation: PendingCompensation } | null
    }
  | {
      readonly status: "rejected"
      readonly request: RequestedAction
      readonly by: string
      readonly reason: string
    }
  | { readonly status: "expired"; readonly request: RequestedAction }
  | {
      readonly status: "compensation-pending"
      readonly request: RequestedAction
      readonly externalRef: string
      readonly compensation: PendingCompensation
      readonly attempts: Attempts
      readonly retryAt: string | null
    }
  | {
      readonly status: "compensating"
      readonly request: RequestedAction
      readonly externalRef: string
      readonly compensation: PendingCompensation
      readonly attempts: Attempts
      readonly startedAt: string
    }
  | {
      readonly status: "compensated"
      readonly request: RequestedAction
      readonly externalRef: string
      readonly compensationRef: string
    }

/** Commands of the action aggregate. Every `now` is an ISO instant supplied by the shell. */
export type ActionCommand =
  | {
      readonly _tag: "RequestAction"
      readonly request: ActionRequest
      readonly parametersHash: string
      readonly policy: PolicyDecision
      readonly approvalTtlMs: number
      readonly now: string
    }
  | {
      readonly _tag: "StartAttempt"
      readonly now: string
      /** How long an attempt in flight belongs to its executor; only after it is the attempt recovered. */
      readonly leaseMs: number
    }
  | {
      readonly _tag: "RecordSuccess"
      readonly attempt: number
      readonly externalRef: string
      readonly result: ActionResult
      readonly now: string
    }
  | {
      readonly _tag: "RecordFailure"
      readonly attempt: number
      readonly failure: AttemptFailure
      /** The backoff before the next attempt, should one follow. */
      readonly retryDelayMs: number
      readonly now: string
    }
  | { readonly _tag: "RecordNotified"; readonly channel: string; readonly now: string }
  | {
      readonly _tag: "Approve"
      readonly approver: string
      /** The hash of the parameters the approver was shown. */
      readonly parametersHash: string
      readonly approvalTtlMs: number
      readonly now: string
    }
  | { readonly _tag: "Reject"; readonly by: string; readonly reason: string; readonly now: string }
  | { readonly _tag: "Expire"; readonly now: string }
  | { readonly _tag: "RequestCompensation"; readonly reason: string; readonly now: string }

/** The idempotency key of an action's compensation: derived, so every executor sends the same one. */
export const compensationKeyOf = (actionId: string): string => `${actionId}-undo`

const plus = (instant: string, ms: number): string => new Date(Date.parse(instant) + ms).toISOString()
const isAfter = (a: string, b: string): boolean => Date.parse(a) > Date.parse(b)

const freshAttempts = (budget: number): Attempts => ({ started: 0, budget, history: [] })

/**
 * Whether and how an action's next attempt may begin: the lease, retry and lapse rules, stated
 * once. `decide(StartAttempt)` records what it says; `nextExecutorMove` waits for it or asks for it.
 */
export type AttemptRule =
  /** Nothing to attempt in this state. */
  | { readonly _tag: "NoAttempt" }
  /** The approval ran out before any attempt of its round started: the action expires instead. */
  | { readonly _tag: "Lapsed"; readonly expiresAt: string }
  /** Not before `at`: a retry's backoff, or the lease of an attempt in flight. */
  | { readonly _tag: "NotBefore"; readonly at: string }
  | {
      readonly _tag: "Start"
      readonly phase: ActionPhase
      readonly attempt: number
      readonly trigger: "first" | "retry"
    }
  /** Attempt `abandoned` started, its lease ended, and no result came: its executor died. */
  | {
      readonly _tag: "Recover"
      readonly phase: ActionPhase
      readonly abandoned: number
      /** No attempt is left in the budget: the action parks instead of trying again. */
      readonly budgetSpent: boolean
    }

/**
 * The attempt rule of an action at `now`. `leaseMs` is how long an attempt in flight belongs to
 * the executor that started it; only after it is an attempt without a result taken as abandoned,
 * so two executors never repeat each other's call. An approval lapses only if no attempt of its
 * round started in time: once one has, the effect may be out, so the round runs to its end.
 */
export const attemptRule = (state: ActionState, now: string, leaseMs: number): AttemptRule => {
  switch (state.status) {
    case "pending":
    case "compensation-pending": {
      const phase: ActionPhase = state.status === "pending" ? "execute" : "compensate"
      if (
        state.status === "pending" &&
        state.approval !== null &&
        state.attempts.started === state.approval.startedAtApproval &&
        isAfter(now, state.approval.expiresAt)
      ) {
        return { _tag: "Lapsed", expiresAt: state.approval.expiresAt }
      }
      if (state.retryAt !== null && isAfter(state.retryAt, now))
        return { _tag: "NotBefore", at: state.retryAt }
      return {
        _tag: "Start",
        phase,
        attempt: state.attempts.started + 1,
        trigger: state.attempts.started === 0 ? "first" : "retry",
      }
    }
    case "attempting":
    case "compensating": {
      const leaseEnds = plus(state.startedAt, leaseMs)
      if (isAfter(leaseEnds, now)) return { _tag: "NotBefore", at: leaseEnds }
      return {
        _tag: "Recover",
        phase: state.status === "attempting" ? "execute" : "compensate",
        abandoned: state.attempts.started,
        budgetSpent: state.attempts.started >= state.attempts.budget,
      }
    }
    case "none":
    case "denied":
    case "awaiting-approval":
    case "succeeded":
    case "failed":
    case "parked":
    case "rejected":
    case "expired":
    case "compensated":
      return { _tag: "NoAttempt" }
  }
}

const withHistory = (attempts: Attempts, entry: ActionHistoryEntry): Attempts => ({
  ...attempts,
  history: [...attempts.history, entry],
})

/** The request facts, whichever state holds them (undefined before the request). */
export const requestOf = (state: ActionState): RequestedAction | undefined =>
  state.status === "none" ? undefined : state.request

/** Whether an action has reached a state no executor will move it out of without a human. */
export const isSettled = (state: ActionState): boolean => {
  switch (state.status) {
    case "denied":
    case "succeeded":
    case "failed":
    case "rejected":
    case "expired":
    case "compensated":
    case "parked":
    case "awaiting-approval":
      return true
    case "none":
    case "pending":
    case "attempting":
    case "compensation-pending":
    case "compensating":
      return false
  }
}

const evolve = (state: ActionState, event: ActionEvent): ActionState => {
  switch (event.type) {
    case "ActionRequested": {
      const p = event.payload
      const request: RequestedAction = {
        actionId: p.actionId,
        agent: p.agent,
        skill: p.skill,
        kind: p.kind,
        parameters: p.parameters,
        cause: p.cause,
        saga: p.saga,
        compensation: p.compensation,
        maxAttempts: p.maxAttempts,
        parametersHash: p.parametersHash,
        mode: p.policy.verdict.mode,
        approvalTtlMs: p.approvalTtlMs ?? null,
        policy: p.policy,
        requestedAt: p.requestedAt,
      }
      return {
        status: "pending",
        request,
        approval: null,
        attempts: freshAttempts(p.maxAttempts),
        retryAt: null,
      }
    }
    case "ActionDenied":
      return state.status === "none"
        ? state
        : { status: "denied", request: state.request, reason: event.payload.reason }
    case "ActionAwaitingApproval":
      return state.status === "none"
        ? state
        : { status: "awaiting-approval", request: state.request, expiresAt: event.payload.expiresAt }
    case "ActionApproved": {
      const approval: Approval = {
        approver: event.payload.approver,
        expiresAt: event.payload.expiresAt,
        startedAtApproval: state.status === "parked" ? state.attempts.started : 0,
      }
      if (state.status === "awaiting-approval") {
        return {
          status: "pending",
          request: state.request,
          approval,
          attempts: freshAttempts(state.request.maxAttempts),
          retryAt: null,
        }
      }
      if (state.status === "parked") {
        // Another round of attempts in the phase that parked.
        const attempts = { ...state.attempts, budget: state.attempts.started + state.request.maxAttempts }
        return state.phase === "execute" || state.undo === null
          ? { status: "pending", request: state.request, approval, attempts, retryAt: null }
          : {
              status: "compensation-pending",
              request: state.request,
              externalRef: state.undo.externalRef,
              compensation: state.undo.compensation,
              attempts,
              retryAt: null,
            }
      }
      return state
    }
    case "ActionApprovalRefused":
      return state
    case "ActionHumanNotified":
      return state.status === "succeeded" ? { ...state, notified: true } : state
    case "ActionRejected":
      return state.status === "none"
        ? state
        : {
            status: "rejected",
            request: state.request,
            by: event.payload.rejectedBy,
            reason: event.payload.reason,
          }
    case "ActionExpired":
      return state.status === "none" ? state : { status: "expired", request: state.request }
    case "ActionAttemptStarted": {
      const p = event.payload
      const entry: ActionHistoryEntry = {
        phase: p.phase,
        attempt: p.attempt,
        outcome: "started",
        reason: p.trigger === "first" ? null : p.trigger,
        at: p.startedAt,
      }
      if (p.phase === "execute" && (state.status === "pending" || state.status === "attempting")) {
        return {
          status: "attempting",
          request: state.request,
          approval: state.approval,
          attempts: withHistory({ ...state.attempts, started: p.attempt }, entry),
          startedAt: p.startedAt,
        }
      }
      if (
        p.phase === "compensate" &&
        (state.status === "compensation-pending" || state.status === "compensating")
      ) {
        return {
          status: "compensating",
          request: state.request,
          externalRef: state.externalRef,
          compensation: state.compensation,
          attempts: withHistory({ ...state.attempts, started: p.attempt }, entry),
          startedAt: p.startedAt,
        }
      }
      return state
    }
    case "ActionSucceeded": {
      if (state.status !== "attempting") return state
      const p = event.payload
      return {
        status: "succeeded",
        request: state.request,
        externalRef: p.externalRef,
        result: p.result,
        notified: false,
        attempts: withHistory(state.attempts, {
          phase: "execute",
          attempt: p.attempt,
          outcome: "succeeded",
          reason: null,
          at: p.completedAt,
        }),
      }
    }
    case "ActionFailed": {
      if (state.status !== "attempting") return state
      const p = event.payload
      const attempts = withHistory(state.attempts, {
        phase: "execute",
        attempt: p.attempt,
        outcome: "failed",
        reason: p.failure.reason,
        at: p.failedAt,
      })
      switch (p.next) {
        case "retry":
          return {
            status: "pending",
            request: state.request,
            approval: state.approval,
            attempts,
            retryAt: p.retryAt,
          }
        case "fail":
          return { status: "failed", request: state.request, reason: p.failure.reason, attempts }
        case "park":
          // ActionParked follows in the same commit and carries the reason.
          return {
            status: "parked",
            request: state.request,
            phase: "execute",
            reason: p.failure.reason,
            attempts,
            undo: null,
          }
      }
      return state
    }
    case "ActionParked":
      return state.status === "parked" ? { ...state, reason: event.payload.reason } : state
    case "ActionCompensationRequested": {
      if (state.status !== "succeeded") return state
      const p = event.payload
      return {
        status: "compensation-pending",
        request: state.request,
        externalRef: state.externalRef,
        compensation: { key: p.compensationKey, kind: p.kind, parameters: p.parameters, reason: p.reason },
        attempts: freshAttempts(state.request.maxAttempts),
        retryAt: null,
      }
    }
    case "ActionCompensationFailed": {
      if (state.status !== "compensating") return state
      const p = event.payload
      const attempts = withHistory(state.attempts, {
        phase: "compensate",
        attempt: p.attempt,
        outcome: "failed",
        reason: p.failure.reason,
        at: p.failedAt,
      })
      return p.next === "retry"
        ? {
            status: "compensation-pending",
            request: state.request,
            externalRef: state.externalRef,
            compensation: state.compensation,
            attempts,
            retryAt: p.retryAt,
          }
        : {
            status: "parked",
            request: state.request,
            phase: "compensate",
            reason: p.failure.reason,
            attempts,
            undo: { externalRef: state.externalRef, compensation: state.compensation },
          }
    }
    case "ActionCompensated":
      return state.status === "compensating"
        ? {
            status: "compensated",
            request: state.request,
            externalRef: state.externalRef,
            compensationRef: event.payload.externalRef,
          }
        : state
  }
}

/** Whether a human already decided this action (approved, rejected, or it expired). */
const humanDecided = (state: ActionState): boolean => {
  switch (state.status) {
    case "rejected":
    case "expired":
      return true
    case "none":
    case "denied":
    case "awaiting-approval":
      return false
    case "pending":
    case "attempting":
      return state.approval !== null || state.request.mode === "require-approval"
    case "succeeded":
    case "failed":
    case "parked":
    case "compensation-pending":
    case "compensating":
    case "compensated":
      return state.request.mode === "require-approval"
  }
}

const refuse = (
  approver: string,
  refusal: ApprovalRefusal,
  presentedHash: string | null,
  now: string,
): ActionEvent => ({ type: "ActionApprovalRefused", payload: { approver, refusal, presentedHash, at: now } })

// Only the people the policy named when the action was requested may decide it; none named, anyone may.
const namedApprover = (request: RequestedAction, person: string): boolean =>
  request.policy.verdict.approvers === undefined || request.policy.verdict.approvers.includes(person)

const unknownAction = (command: ActionCommand): never => {
  throw new Error(`${command._tag}: no such action (it was never requested)`)
}

const decide = (command: ActionCommand, state: ActionState): ReadonlyArray<ActionEvent> => {
  switch (command._tag) {
    case "RequestAction": {
      // A repeated request (a redelivery, a retry after a lost reply) decides nothing.
      if (state.status !== "none") return []
      const { request, policy, now } = command
      if (request.maxAttempts < 1) throw new Error("RequestAction: maxAttempts must be at least 1")
      const requested: ActionEvent = {
        type: "ActionRequested",
        payload: {
          actionId: request.actionId,
          agent: request.agent,
          skill: request.skill,
          kind: request.kind,
          parameters: request.parameters,
          parametersHash: command.parametersHash,
          cause: request.cause,
          policy,
          saga: request.saga,
          compensation: request.compensation,
          maxAttempts: request.maxAttempts,
          approvalTtlMs: command.approvalTtlMs,
          requestedAt: now,
        },
      }
      switch (policy.verdict.mode) {
        case "deny":
          return [
            requested,
            { type: "ActionDenied", payload: { reason: policy.verdict.reason, rule: policy.verdict.rule } },
          ]
        case "require-approval":
          return [
            requested,
            {
              type: "ActionAwaitingApproval",
              payload: {
                parametersHash: command.parametersHash,
                reason: policy.verdict.reason,
                expiresAt: plus(now, command.approvalTtlMs),
              },
            },
          ]
        case "auto":
        case "notify":
          return [requested]
      }
      return []
    }
    case "StartAttempt": {
      const { now } = command
      const rule = attemptRule(state, now, command.leaseMs)
      switch (rule._tag) {
        case "NoAttempt":
        case "NotBefore":
          return []
        case "Lapsed":
          // An approval is good for a while only: past it, a human must look again.
          return [{ type: "ActionExpired", payload: { expiresAt: rule.expiresAt, at: now } }]
        case "Start":
          return [
            {
              type: "ActionAttemptStarted",
              payload: { phase: rule.phase, attempt: rule.attempt, trigger: rule.trigger, startedAt: now },
            },
          ]
        case "Recover": {
          if (state.status !== "attempting" && state.status !== "compensating") return []
          if (rule.budgetSpent) {
            const reason = `attempt ${rule.abandoned} was interrupted and the budget of ${state.attempts.budget} attempts is spent`
            return recordFailure(state, rule.abandoned, { reason, retryable: true }, 0, now, true)
          }
          // Its executor died: try again with the same key (the external system performs one
          // effect per key).
          return [
            {
              type: "ActionAttemptStarted",
              payload: {
                phase: rule.phase,
                attempt: rule.abandoned + 1,
                trigger: "recovery",
                startedAt: now,
              },
            },
          ]
        }
      }
      return []
    }
    case "RecordSuccess": {
      const { attempt, now } = command
      if (state.status === "attempting" && state.attempts.started === attempt) {
        return [
          {
            type: "ActionSucceeded",
            payload: { attempt, externalRef: command.externalRef, result: command.result, completedAt: now },
          },
        ]
      }
      if (state.status === "compensating" && state.attempts.started === attempt) {
        return [
          {
            type: "ActionCompensated",
            payload: {
              attempt,
              externalRef: command.externalRef,
              result: command.result,
              compensatedAt: now,
            },
          },
        ]
      }
      // A stale or repeated result (another attempt superseded it) changes nothing.
      return []
    }
    case "RecordFailure": {
      if (
        (state.status !== "attempting" && state.status !== "compensating") ||
        state.attempts.started !== command.attempt
      )
        return []
      return recordFailure(state, command.attempt, command.failure, command.retryDelayMs, command.now, false)
    }
    case "RecordNotified":
      return state.status === "succeeded" && state.request.mode === "notify" && !state.notified
        ? [{ type: "ActionHumanNotified", payload: { channel: command.channel, at: command.now } }]
        : []
    case "Approve": {
      const { approver, parametersHash, now } = command
      if (state.status === "none") return unknownAction(command)
      if (state.status === "expired") return [refuse(approver, "expired", parametersHash, now)]
      if (state.status !== "awaiting-approval" && state.status !== "parked") {
        return [
          refuse(
            approver,
            humanDecided(state) ? "already-decided" : "not-awaiting-approval",
            parametersHash,
            now,
          ),
        ]
      }
      if (approver === state.request.agent) return [refuse(approver, "self-approval", parametersHash, now)]
      if (!namedApprover(state.request, approver))
        return [refuse(approver, "not-a-named-approver", parametersHash, now)]
      if (state.status === "awaiting-approval" && isAfter(now, state.expiresAt)) {
        return [
          refuse(approver, "expired", parametersHash, now),
          { type: "ActionExpired", payload: { expiresAt: state.expiresAt, at: now } },
        ]
      }
      if (parametersHash !== state.request.parametersHash) {
        return [refuse(approver, "parameters-mismatch", parametersHash, now)]
      }
      return [
        {
          type: "ActionApproved",
          payload: {
            approver,
            parametersHash,
            approvedAt: now,
            expiresAt: plus(now, state.request.approvalTtlMs ?? command.approvalTtlMs),
          },
        },
      ]
    }
    case "Reject": {
      const { by, now } = command
      if (state.status === "none") return unknownAction(command)
      if (state.status !== "awaiting-approval" && state.status !== "parked") {
        return [refuse(by, humanDecided(state) ? "already-decided" : "not-awaiting-approval", null, now)]
      }
      if (!namedApprover(state.request, by)) return [refuse(by, "not-a-named-approver", null, now)]
      // A compensation that parked has an effect out in the world: rejecting it would close the
      // action with the effect still there. A human retries it (approve) or undoes it by hand.
      if (state.status === "parked" && state.undo !== null)
        return [refuse(by, "not-awaiting-approval", null, now)]
      return [{ type: "ActionRejected", payload: { rejectedBy: by, reason: command.reason, at: now } }]
    }
    case "Expire":
      return state.status === "awaiting-approval" && !isAfter(state.expiresAt, command.now)
        ? [{ type: "ActionExpired", payload: { expiresAt: state.expiresAt, at: command.now } }]
        : []
    case "RequestCompensation": {
      if (state.status !== "succeeded" || state.request.compensation === null) return []
      return [
        {
          type: "ActionCompensationRequested",
          payload: {
            compensationKey: compensationKeyOf(state.request.actionId),
            kind: state.request.compensation.kind,
            parameters: state.request.compensation.parameters,
            reason: command.reason,
            requestedAt: command.now,
          },
        },
      ]
    }
  }
}

const recordFailure = (
  state: Extract<ActionState, { status: "attempting" | "compensating" }>,
  attempt: number,
  failure: AttemptFailure,
  retryDelayMs: number,
  now: string,
  forcePark: boolean,
): ReadonlyArray<ActionEvent> => {
  const phase: ActionPhase = state.status === "attempting" ? "execute" : "compensate"
  const budgetLeft = attempt < state.attempts.budget
  // A compensation that cannot be done leaves the world half-changed: a human must look, so it
  // parks rather than failing quietly.
  const next =
    forcePark || (failure.retryable && !budgetLeft)
      ? ("park" as const)
      : failure.retryable
        ? ("retry" as const)
        : phase === "execute"
          ? ("fail" as const)
          : ("park" as const)
  const retryAt = next === "retry" ? plus(now, retryDelayMs) : null
  const failed: ActionEvent =
    phase === "execute"
      ? { type: "ActionFailed", payload: { attempt, failure, next, retryAt, failedAt: now } }
      : { type: "ActionCompensationFailed", payload: { attempt, failure, next, retryAt, failedAt: now } }
  if (next !== "park") return [failed]
  const history = [
    ...state.attempts.history,
    { phase, attempt, outcome: "failed" as const, reason: failure.reason, at: now },
  ]
  return [
    failed,
    {
      type: "ActionParked",
      payload: {
        phase,
        reason: forcePark || failure.retryable ? `retries exhausted: ${failure.reason}` : failure.reason,
        attempts: attempt,
        history,
        parkedAt: now,
      },
    },
  ]
}

/** The action decider. */
export const actionDecider: Decider<ActionCommand, ActionEvent, ActionState> = {
  initialState: () => ({ status: "none" }),
  evolve,
  decide,
}

/** What an executor should do next with an action, given its state and the time. */
export type ExecutorMove =
  | { readonly _tag: "Attempt"; readonly phase: ActionPhase }
  /** An attempt started without a result: look the key up before trying again. */
  | { readonly _tag: "Recover"; readonly phase: ActionPhase; readonly attempt: number }
  | { readonly _tag: "WaitUntil"; readonly at: string }
  | { readonly _tag: "Notify" }
  | { readonly _tag: "ExpireApproval" }
  /** Nothing to do until something else happens (a human, a saga, the end). */
  | { readonly _tag: "Rest" }

/**
 * The executor's next move. `leaseMs` is how long an attempt in flight belongs to the executor that
 * started it; after that an attempt without a result is taken to be abandoned (its executor died).
 */
export const nextExecutorMove = (state: ActionState, now: string, leaseMs: number): ExecutorMove => {
  switch (state.status) {
    case "pending":
    case "compensation-pending":
    case "attempting":
    case "compensating": {
      const rule = attemptRule(state, now, leaseMs)
      switch (rule._tag) {
        case "NotBefore":
          return { _tag: "WaitUntil", at: rule.at }
        // A lapsed approval is StartAttempt's to record (as the action's expiry).
        case "Lapsed":
          return { _tag: "Attempt", phase: "execute" }
        case "Start":
          return { _tag: "Attempt", phase: rule.phase }
        case "Recover":
          return { _tag: "Recover", phase: rule.phase, attempt: rule.abandoned }
        case "NoAttempt":
          return { _tag: "Rest" }
      }
      return { _tag: "Rest" }
    }
    case "succeeded":
      return state.request.mode === "notify" && !state.notified ? { _tag: "Notify" } : { _tag: "Rest" }
    case "awaiting-approval":
      return isAfter(now, state.expiresAt) ? { _tag: "ExpireApproval" } : { _tag: "Rest" }
    case "none":
    case "denied":
    case "failed":
    case "parked":
    case "rejected":
    case "expired":
    case "compensated":
      return { _tag: "Rest" }
  }
}

/**
 * Whether the decider always writes another event after `event` in the same commit, given the
 * state `event` was decided on: a request with its verdict, a failure with the parking, a late
 * approval's refusal with the expiry. A reader that folds an action's events one at a time (the
 * executor from its consumer) acts only at the end of a commit, since the state inside one is no
 * state the log ever held, and an append expecting its position would land in the middle of it.
 */
export const continuesInCommit = (state: ActionState, event: ActionEvent): boolean => {
  switch (event.type) {
    case "ActionRequested":
      return (
        event.payload.policy.verdict.mode === "deny" ||
        event.payload.policy.verdict.mode === "require-approval"
      )
    case "ActionFailed":
    case "ActionCompensationFailed":
      return event.payload.next === "park"
    case "ActionApprovalRefused":
      return event.payload.refusal === "expired" && state.status === "awaiting-approval"
    case "ActionDenied":
    case "ActionAwaitingApproval":
    case "ActionApproved":
    case "ActionRejected":
    case "ActionExpired":
    case "ActionAttemptStarted":
    case "ActionSucceeded":
    case "ActionParked":
    case "ActionCompensationRequested":
    case "ActionCompensated":
    case "ActionHumanNotified":
      return false
  }
}
