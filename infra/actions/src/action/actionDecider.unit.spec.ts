import { DeciderSpecification } from "@mesh/kernel/testing"
import { describe, expect, it } from "vitest"
import {
  type ActionCommand,
  type ActionEvent,
  type ActionRequest,
  type ActionState,
  actionDecider,
  attemptRule,
  compensationKeyOf,
  continuesInCommit,
  nextExecutorMove,
} from "./actionDecider.ts"

const action = DeciderSpecification.for(actionDecider)
const hash = "a".repeat(64)
const otherHash = "b".repeat(64)
const t0 = "2026-11-27T10:00:00.000Z"
const at = (seconds: number) => new Date(Date.parse(t0) + seconds * 1000).toISOString()
const hour = 3_600_000

const refund: ActionRequest = {
  actionId: "refund-1",
  agent: "customer-ops",
  skill: "resolveTicket",
  kind: "payment.refund",
  parameters: { orderId: "O-1", amountMinor: 4200, currency: "EUR" },
  cause: { decisionId: null, eventId: "e-1" },
  saga: null,
  compensation: { kind: "payment.cancel-refund", parameters: {} },
  maxAttempts: 3,
}

const verdict = (mode: "auto" | "notify" | "require-approval" | "deny") => ({
  workflow: "refunds",
  version: "3",
  verdict: { mode, reason: `policy says ${mode}`, rule: mode === "auto" ? "default" : "refund-rule" },
  inputs: {
    amount: { amountMinor: 4200, currency: "EUR" },
    confidence: 0.9,
    sentiment: null,
    firstTimeSupplier: null,
    actionsLastHour: 0,
    spendToday: null,
  },
})

const requested = (mode: "auto" | "notify" | "require-approval" | "deny"): ActionEvent => ({
  type: "ActionRequested",
  payload: {
    ...refund,
    parametersHash: hash,
    policy: verdict(mode),
    approvalTtlMs: hour,
    requestedAt: t0,
  },
})
const awaiting: ActionEvent = {
  type: "ActionAwaitingApproval",
  payload: { parametersHash: hash, reason: "policy says require-approval", expiresAt: at(3600) },
}
const approved: ActionEvent = {
  type: "ActionApproved",
  payload: { approver: "maria", parametersHash: hash, approvedAt: at(60), expiresAt: at(60 + 3600) },
}
const started = (
  attempt: number,
  startedAt: string,
  trigger: "first" | "retry" | "recovery" = "first",
): ActionEvent => ({
  type: "ActionAttemptStarted",
  payload: { phase: "execute", attempt, trigger, startedAt },
})
const succeeded = (attempt: number): ActionEvent => ({
  type: "ActionSucceeded",
  payload: { attempt, externalRef: "re_1", result: { id: "re_1" }, completedAt: at(2) },
})
const failedRetry = (attempt: number, failedAt: string, retryAt: string): ActionEvent => ({
  type: "ActionFailed",
  payload: {
    attempt,
    failure: { reason: "503 from payment", retryable: true },
    next: "retry",
    retryAt,
    failedAt,
  },
})

/** A succeeded refund whose compensation attempt 1 started at 6 s and has no result yet. */
const compensationInFlight: ReadonlyArray<ActionEvent> = [
  requested("auto"),
  started(1, at(1)),
  succeeded(1),
  {
    type: "ActionCompensationRequested",
    payload: {
      compensationKey: "k",
      kind: "payment.cancel-refund",
      parameters: {},
      reason: "r",
      requestedAt: at(5),
    },
  },
  {
    type: "ActionAttemptStarted",
    payload: { phase: "compensate", attempt: 1, trigger: "first", startedAt: at(6) },
  },
]

describe("action decider: the policy gate", () => {
  it("records an auto action as requested, cleared to run", () => {
    action
      .given([])
      .when({
        _tag: "RequestAction",
        request: refund,
        parametersHash: hash,
        policy: verdict("auto"),
        approvalTtlMs: hour,
        now: t0,
      })
      .thenEmits([requested("auto")])
  })

  it("puts an action that needs approval in the queue with a deadline", () => {
    action
      .given([])
      .when({
        _tag: "RequestAction",
        request: refund,
        parametersHash: hash,
        policy: verdict("require-approval"),
        approvalTtlMs: hour,
        now: t0,
      })
      .thenEmits([requested("require-approval"), awaiting])
  })

  it("records a denied action with the rule that denied it", () => {
    action
      .given([])
      .when({
        _tag: "RequestAction",
        request: refund,
        parametersHash: hash,
        policy: verdict("deny"),
        approvalTtlMs: hour,
        now: t0,
      })
      .thenEmits([
        requested("deny"),
        { type: "ActionDenied", payload: { reason: "policy says deny", rule: "refund-rule" } },
      ])
  })

  it("decides nothing for a repeated request", () => {
    action
      .given([requested("auto")])
      .when({
        _tag: "RequestAction",
        request: refund,
        parametersHash: hash,
        policy: verdict("auto"),
        approvalTtlMs: hour,
        now: at(5),
      })
      .thenNothingHappens()
  })

  it("never starts a denied action", () => {
    action
      .given([
        requested("deny"),
        { type: "ActionDenied", payload: { reason: "no", rule: "quota:actionsPerHour" } },
      ])
      .when({ _tag: "StartAttempt", now: at(1), leaseMs: 10_000 })
      .thenNothingHappens()
  })
})

describe("action decider: human approval", () => {
  const approve = (parametersHash: string, now: string, approver = "maria") =>
    ({ _tag: "Approve", approver, parametersHash, approvalTtlMs: hour, now }) as const

  it("approves the exact parameters the approver saw", () => {
    action
      .given([requested("require-approval"), awaiting])
      .when(approve(hash, at(60)))
      .thenEmits([approved])
  })

  it("refuses an approval of other parameters, changing nothing", () => {
    action
      .given([requested("require-approval"), awaiting])
      .when(approve(otherHash, at(60)))
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: {
            approver: "maria",
            refusal: "parameters-mismatch",
            presentedHash: otherHash,
            at: at(60),
          },
        },
      ])
  })

  it("refuses an approval after the deadline and expires the action", () => {
    action
      .given([requested("require-approval"), awaiting])
      .when(approve(hash, at(3601)))
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: { approver: "maria", refusal: "expired", presentedHash: hash, at: at(3601) },
        },
        { type: "ActionExpired", payload: { expiresAt: at(3600), at: at(3601) } },
      ])
  })

  it("refuses approving an action that already expired, naming the deadline as the reason", () => {
    action
      .given([
        requested("require-approval"),
        awaiting,
        { type: "ActionExpired", payload: { expiresAt: at(3600), at: at(3601) } },
      ])
      .when(approve(hash, at(4000)))
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: { approver: "maria", refusal: "expired", presentedHash: hash, at: at(4000) },
        },
      ])
  })

  it("refuses a replayed approval as already decided", () => {
    action
      .given([requested("require-approval"), awaiting, approved])
      .when(approve(hash, at(70)))
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: { approver: "maria", refusal: "already-decided", presentedHash: hash, at: at(70) },
        },
      ])
  })

  it("refuses an agent approving its own action", () => {
    action
      .given([requested("require-approval"), awaiting])
      .when(approve(hash, at(60), "customer-ops"))
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: { approver: "customer-ops", refusal: "self-approval", presentedHash: hash, at: at(60) },
        },
      ])
  })

  it("lets only the people the policy named decide, and records anyone else's try", () => {
    const named = requested("require-approval")
    const namedOwner: ActionEvent =
      named.type === "ActionRequested"
        ? {
            ...named,
            payload: {
              ...named.payload,
              policy: {
                ...named.payload.policy,
                verdict: { ...named.payload.policy.verdict, approvers: ["owner"] },
              },
            },
          }
        : named
    action
      .given([namedOwner, awaiting])
      .when(approve(hash, at(60), "maria"))
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: { approver: "maria", refusal: "not-a-named-approver", presentedHash: hash, at: at(60) },
        },
      ])
    action
      .given([namedOwner, awaiting])
      .when({ _tag: "Reject", by: "maria", reason: "no", now: at(60) })
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: { approver: "maria", refusal: "not-a-named-approver", presentedHash: null, at: at(60) },
        },
      ])
    action
      .given([namedOwner, awaiting])
      .when(approve(hash, at(60), "owner"))
      .thenEmits([
        {
          type: "ActionApproved",
          payload: { approver: "owner", parametersHash: hash, approvedAt: at(60), expiresAt: at(60 + 3600) },
        },
      ])
  })

  it("refuses approving an action that never needed approval", () => {
    action
      .given([requested("auto")])
      .when(approve(hash, at(60)))
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: { approver: "maria", refusal: "not-awaiting-approval", presentedHash: hash, at: at(60) },
        },
      ])
  })

  it("rejects a waiting action for good", () => {
    action
      .given([requested("require-approval"), awaiting])
      .when({ _tag: "Reject", by: "maria", reason: "customer already refunded by hand", now: at(60) })
      .thenEmits([
        {
          type: "ActionRejected",
          payload: { rejectedBy: "maria", reason: "customer already refunded by hand", at: at(60) },
        },
      ])
  })

  it("expires an approval unused past its own deadline instead of running it", () => {
    action
      .given([requested("require-approval"), awaiting, approved])
      .when({ _tag: "StartAttempt", now: at(60 + 3601), leaseMs: 10_000 })
      .thenEmits([{ type: "ActionExpired", payload: { expiresAt: at(3660), at: at(3661) } }])
  })

  it("keeps retrying an approved action past its approval once an attempt has started: the effect may be out", () => {
    const afterFirstAttempt = [
      requested("require-approval"),
      awaiting,
      approved,
      started(1, at(61)),
      failedRetry(1, at(62), at(63)),
    ]
    action
      .given(afterFirstAttempt)
      .when({ _tag: "StartAttempt", now: at(60 + 3_700), leaseMs: 10_000 })
      .thenEmits([started(2, at(60 + 3_700), "retry")])
  })

  it("refuses to reject a parked compensation, whose effect is still out in the world", () => {
    const parkedUndo: ReadonlyArray<ActionEvent> = [
      ...compensationInFlight,
      {
        type: "ActionCompensationFailed",
        payload: {
          attempt: 1,
          failure: { reason: "settled", retryable: false },
          next: "park",
          retryAt: null,
          failedAt: at(7),
        },
      },
      {
        type: "ActionParked",
        payload: { phase: "compensate", reason: "settled", attempts: 1, history: [], parkedAt: at(7) },
      },
    ]
    action
      .given(parkedUndo)
      .when({ _tag: "Reject", by: "maria", reason: "give up", now: at(8) })
      .thenEmits([
        {
          type: "ActionApprovalRefused",
          payload: { approver: "maria", refusal: "not-awaiting-approval", presentedHash: null, at: at(8) },
        },
      ])
  })

  it("does not start an action waiting for approval", () => {
    action
      .given([requested("require-approval"), awaiting])
      .when({ _tag: "StartAttempt", now: at(1), leaseMs: 10_000 })
      .thenNothingHappens()
  })

  it("refuses approval commands for an action that was never requested", () => {
    action
      .given([])
      .when(approve(hash, at(1)))
      .thenThrows(/never requested/)
  })
})

describe("action decider: attempts, retries and parking", () => {
  it("starts the first attempt of a cleared action", () => {
    action
      .given([requested("auto")])
      .when({ _tag: "StartAttempt", now: at(1), leaseMs: 10_000 })
      .thenEmits([started(1, at(1))])
  })

  it("records the success of the attempt in flight", () => {
    action
      .given([requested("auto"), started(1, at(1))])
      .when({ _tag: "RecordSuccess", attempt: 1, externalRef: "re_1", result: { id: "re_1" }, now: at(2) })
      .thenEmits([succeeded(1)])
  })

  it("ignores a stale result of a superseded attempt", () => {
    action
      .given([requested("auto"), started(1, at(1)), started(2, at(40), "recovery")])
      .when({ _tag: "RecordSuccess", attempt: 1, externalRef: "re_1", result: {}, now: at(41) })
      .thenNothingHappens()
  })

  it("schedules a retry after a retryable failure, and waits for it", () => {
    action
      .given([requested("auto"), started(1, at(1))])
      .when({
        _tag: "RecordFailure",
        attempt: 1,
        failure: { reason: "503 from payment", retryable: true },
        retryDelayMs: 500,
        now: at(2),
      })
      .thenEmits([failedRetry(1, at(2), "2026-11-27T10:00:02.500Z")])
    action
      .given([requested("auto"), started(1, at(1)), failedRetry(1, at(2), at(3))])
      .when({ _tag: "StartAttempt", now: at(2), leaseMs: 10_000 })
      .thenNothingHappens()
    action
      .given([requested("auto"), started(1, at(1)), failedRetry(1, at(2), at(3))])
      .when({ _tag: "StartAttempt", now: at(3), leaseMs: 10_000 })
      .thenEmits([started(2, at(3), "retry")])
  })

  it("fails for good on a failure no retry can fix", () => {
    action
      .given([requested("auto"), started(1, at(1))])
      .when({
        _tag: "RecordFailure",
        attempt: 1,
        failure: { reason: "402 refund_declined", retryable: false },
        retryDelayMs: 500,
        now: at(2),
      })
      .thenEmits([
        {
          type: "ActionFailed",
          payload: {
            attempt: 1,
            failure: { reason: "402 refund_declined", retryable: false },
            next: "fail",
            retryAt: null,
            failedAt: at(2),
          },
        },
      ])
  })

  it("parks the action with its whole history when the retries are spent", () => {
    const history = [
      requested("auto"),
      started(1, at(1)),
      failedRetry(1, at(2), at(3)),
      started(2, at(3), "retry"),
      failedRetry(2, at(4), at(5)),
      started(3, at(5), "retry"),
    ]
    const events = actionDecider.decide(
      {
        _tag: "RecordFailure",
        attempt: 3,
        failure: { reason: "503 again", retryable: true },
        retryDelayMs: 1,
        now: at(6),
      },
      history.reduce(actionDecider.evolve, actionDecider.initialState()),
    )
    expect(events.map((e) => e.type)).toEqual(["ActionFailed", "ActionParked"])
    const parked = events[1]
    if (parked?.type !== "ActionParked") throw new Error("expected ActionParked")
    expect(parked.payload.reason).toBe("retries exhausted: 503 again")
    expect(parked.payload.history.map((h) => `${h.attempt}:${h.outcome}`)).toEqual([
      "1:started",
      "1:failed",
      "2:started",
      "2:failed",
      "3:started",
      "3:failed",
    ])
  })

  it("leaves an attempt in flight alone until its lease ends", () => {
    action
      .given([requested("auto"), started(1, at(1))])
      .when({ _tag: "StartAttempt", now: at(5), leaseMs: 10_000 })
      .thenNothingHappens()
  })

  it("recovers an attempt whose executor died, with the same key and a recovery trigger", () => {
    action
      .given([requested("auto"), started(1, at(1))])
      .when({ _tag: "StartAttempt", now: at(60), leaseMs: 10_000 })
      .thenEmits([started(2, at(60), "recovery")])
  })

  it("parks instead of recovering once interrupted attempts spent the budget", () => {
    const history = [
      requested("auto"),
      started(1, at(1)),
      started(2, at(2), "recovery"),
      started(3, at(3), "recovery"),
    ]
    const events = actionDecider.decide(
      { _tag: "StartAttempt", now: at(30), leaseMs: 10_000 },
      history.reduce(actionDecider.evolve, actionDecider.initialState()),
    )
    expect(events.map((e) => e.type)).toEqual(["ActionFailed", "ActionParked"])
  })

  it("lets a human approve another round of attempts for a parked action", () => {
    const parkedHistory = [
      requested("auto"),
      started(1, at(1)),
      {
        type: "ActionFailed",
        payload: {
          attempt: 1,
          failure: { reason: "down", retryable: true },
          next: "park",
          retryAt: null,
          failedAt: at(2),
        },
      } as const,
      {
        type: "ActionParked",
        payload: {
          phase: "execute",
          reason: "retries exhausted: down",
          attempts: 1,
          history: [],
          parkedAt: at(2),
        },
      } as const,
    ]
    const resumed: ActionEvent = {
      type: "ActionApproved",
      payload: { approver: "maria", parametersHash: hash, approvedAt: at(10), expiresAt: at(3610) },
    }
    action
      .given(parkedHistory)
      .when({ _tag: "Approve", approver: "maria", parametersHash: hash, approvalTtlMs: hour, now: at(10) })
      .thenEmits([resumed])
    action
      .given([...parkedHistory, resumed])
      .when({ _tag: "StartAttempt", now: at(11), leaseMs: 10_000 })
      .thenEmits([started(2, at(11), "retry")])
  })
})

describe("action decider: notify and compensation", () => {
  it("tells a human once about an action run under a notify policy", () => {
    const done = [requested("notify"), started(1, at(1)), succeeded(1)]
    action
      .given(done)
      .when({ _tag: "RecordNotified", channel: "mailbox", now: at(3) })
      .thenEmits([{ type: "ActionHumanNotified", payload: { channel: "mailbox", at: at(3) } }])
    action
      .given([...done, { type: "ActionHumanNotified", payload: { channel: "mailbox", at: at(3) } }])
      .when({ _tag: "RecordNotified", channel: "mailbox", now: at(4) })
      .thenNothingHappens()
  })

  it("requests the declared compensation of a succeeded action under its own key, then records it", () => {
    const done = [requested("auto"), started(1, at(1)), succeeded(1)]
    const compensation: ActionEvent = {
      type: "ActionCompensationRequested",
      payload: {
        compensationKey: compensationKeyOf("refund-1"),
        kind: "payment.cancel-refund",
        parameters: {},
        reason: "saga step 2 failed",
        requestedAt: at(5),
      },
    }
    action
      .given(done)
      .when({ _tag: "RequestCompensation", reason: "saga step 2 failed", now: at(5) })
      .thenEmits([compensation])
    const compStarted: ActionEvent = {
      type: "ActionAttemptStarted",
      payload: { phase: "compensate", attempt: 1, trigger: "first", startedAt: at(6) },
    }
    action
      .given([...done, compensation])
      .when({ _tag: "StartAttempt", now: at(6), leaseMs: 10_000 })
      .thenEmits([compStarted])
    action
      .given([...done, compensation, compStarted])
      .when({
        _tag: "RecordSuccess",
        attempt: 1,
        externalRef: "re_1",
        result: { status: "cancelled" },
        now: at(7),
      })
      .thenEmits([
        {
          type: "ActionCompensated",
          payload: { attempt: 1, externalRef: "re_1", result: { status: "cancelled" }, compensatedAt: at(7) },
        },
      ])
  })

  it("parks a compensation that cannot be done rather than failing quietly", () => {
    const history: ReadonlyArray<ActionEvent> = [...compensationInFlight]
    const events = actionDecider.decide(
      {
        _tag: "RecordFailure",
        attempt: 1,
        failure: { reason: "already settled", retryable: false },
        retryDelayMs: 1,
        now: at(7),
      },
      history.reduce(actionDecider.evolve, actionDecider.initialState()),
    )
    expect(events.map((e) => e.type)).toEqual(["ActionCompensationFailed", "ActionParked"])
  })

  it("has nothing to compensate when no compensation was declared", () => {
    const noUndo = { ...(requested("auto") as Extract<ActionEvent, { type: "ActionRequested" }>) }
    const history = [
      { ...noUndo, payload: { ...noUndo.payload, compensation: null } },
      started(1, at(1)),
      succeeded(1),
    ]
    action
      .given(history)
      .when({ _tag: "RequestCompensation", reason: "r", now: at(5) })
      .thenNothingHappens()
  })
})

describe("the executor's next move", () => {
  const fold = (events: ReadonlyArray<ActionEvent>) =>
    events.reduce(actionDecider.evolve, actionDecider.initialState())

  it("attempts a cleared action, waits for a retry, and rests when settled", () => {
    expect(nextExecutorMove(fold([requested("auto")]), at(1), 10_000)).toEqual({
      _tag: "Attempt",
      phase: "execute",
    })
    expect(
      nextExecutorMove(
        fold([requested("auto"), started(1, at(1)), failedRetry(1, at(2), at(9))]),
        at(3),
        10_000,
      ),
    ).toEqual({
      _tag: "WaitUntil",
      at: at(9),
    })
    expect(
      nextExecutorMove(fold([requested("auto"), started(1, at(1)), succeeded(1)]), at(3), 10_000),
    ).toEqual({ _tag: "Rest" })
    expect(nextExecutorMove(fold([requested("require-approval"), awaiting]), at(3), 10_000)).toEqual({
      _tag: "Rest",
    })
  })

  it("leaves an attempt in flight to its executor until the lease ends, then recovers it", () => {
    const inFlight = fold([requested("auto"), started(1, at(1))])
    expect(nextExecutorMove(inFlight, at(5), 10_000)).toEqual({ _tag: "WaitUntil", at: at(11) })
    expect(nextExecutorMove(inFlight, at(12), 10_000)).toEqual({
      _tag: "Recover",
      phase: "execute",
      attempt: 1,
    })
  })

  it("expires an unanswered approval request after its deadline", () => {
    expect(nextExecutorMove(fold([requested("require-approval"), awaiting]), at(3601), 10_000)).toEqual({
      _tag: "ExpireApproval",
    })
  })
})

describe("the attempt rule, stated once", () => {
  const fold = (events: ReadonlyArray<ActionEvent>) =>
    events.reduce(actionDecider.evolve, actionDecider.initialState())
  const lease = 10_000
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<ActionEvent>, string]> = [
    ["a cleared action", [requested("auto")], at(1)],
    ["a retry not yet due", [requested("auto"), started(1, at(1)), failedRetry(1, at(2), at(9))], at(3)],
    ["a retry due", [requested("auto"), started(1, at(1)), failedRetry(1, at(2), at(9))], at(10)],
    ["an attempt in its lease", [requested("auto"), started(1, at(1))], at(5)],
    ["an attempt past its lease", [requested("auto"), started(1, at(1))], at(12)],
    [
      "an interrupted attempt with the budget spent",
      [requested("auto"), started(1, at(1)), started(2, at(2), "recovery"), started(3, at(3), "recovery")],
      at(30),
    ],
    ["an approval unused past its deadline", [requested("require-approval"), awaiting, approved], at(3661)],
    ["a compensation in flight", compensationInFlight, at(7)],
    ["a compensation abandoned", compensationInFlight, at(60)],
    ["a succeeded action", [requested("auto"), started(1, at(1)), succeeded(1)], at(3)],
  ]

  it.each(cases)(
    "is what StartAttempt records and the executor waits for or asks for: %s",
    (_, events, now) => {
      const state = fold(events)
      const rule = attemptRule(state, now, lease)
      const decided = actionDecider.decide({ _tag: "StartAttempt", now, leaseMs: lease }, state)
      const move = nextExecutorMove(state, now, lease)
      switch (rule._tag) {
        case "NoAttempt":
          expect(decided).toEqual([])
          expect(["Rest", "Notify", "ExpireApproval"]).toContain(move._tag)
          break
        case "NotBefore":
          expect(decided).toEqual([])
          expect(move).toEqual({ _tag: "WaitUntil", at: rule.at })
          break
        case "Lapsed":
          expect(decided).toEqual([
            { type: "ActionExpired", payload: { expiresAt: rule.expiresAt, at: now } },
          ])
          expect(move._tag).toBe("Attempt")
          break
        case "Start":
          expect(decided).toEqual([
            {
              type: "ActionAttemptStarted",
              payload: { phase: rule.phase, attempt: rule.attempt, trigger: rule.trigger, startedAt: now },
            },
          ])
          expect(move).toEqual({ _tag: "Attempt", phase: rule.phase })
          break
        case "Recover":
          expect(move).toEqual({ _tag: "Recover", phase: rule.phase, attempt: rule.abandoned })
          expect(decided.map((e) => e.type)).toEqual(
            rule.budgetSpent
              ? [rule.phase === "execute" ? "ActionFailed" : "ActionCompensationFailed", "ActionParked"]
              : ["ActionAttemptStarted"],
          )
          break
      }
    },
  )
})

describe("commit boundaries", () => {
  const fold = (events: ReadonlyArray<ActionEvent>) =>
    events.reduce(actionDecider.evolve, actionDecider.initialState())
  const request = (mode: "auto" | "notify" | "require-approval" | "deny"): ActionCommand => ({
    _tag: "RequestAction",
    request: refund,
    parametersHash: hash,
    policy: verdict(mode),
    approvalTtlMs: hour,
    now: t0,
  })
  const approve = (now: string): ActionCommand => ({
    _tag: "Approve",
    approver: "maria",
    parametersHash: hash,
    approvalTtlMs: hour,
    now,
  })
  const fail = (attempt: number, retryable: boolean, now: string): ActionCommand => ({
    _tag: "RecordFailure",
    attempt,
    failure: { reason: "no", retryable },
    retryDelayMs: 1_000,
    now,
  })
  const expired: ActionEvent = { type: "ActionExpired", payload: { expiresAt: at(3600), at: at(3601) } }
  // Every kind of decision, the multi-event ones included.
  const decisions: ReadonlyArray<readonly [string, ReadonlyArray<ActionEvent>, ActionCommand]> = [
    ["an auto request", [], request("auto")],
    ["a notify request", [], request("notify")],
    ["a request that waits for approval", [], request("require-approval")],
    ["a denied request", [], request("deny")],
    ["an approval", [requested("require-approval"), awaiting], approve(at(60))],
    ["a late approval", [requested("require-approval"), awaiting], approve(at(3601))],
    [
      "an approval of an expired action",
      [requested("require-approval"), awaiting, expired],
      approve(at(4000)),
    ],
    ["a retryable failure", [requested("auto"), started(1, at(1))], fail(1, true, at(2))],
    ["a final failure", [requested("auto"), started(1, at(1))], fail(1, false, at(2))],
    [
      "a failure that spends the budget",
      [
        requested("auto"),
        started(1, at(1)),
        failedRetry(1, at(2), at(3)),
        started(2, at(3), "retry"),
        failedRetry(2, at(4), at(5)),
        started(3, at(5), "retry"),
      ],
      fail(3, true, at(6)),
    ],
    ["a compensation's failure", compensationInFlight, fail(1, false, at(7))],
    ["a compensation's retryable failure", compensationInFlight, fail(1, true, at(7))],
    [
      "a recovery with the budget spent",
      [requested("auto"), started(1, at(1)), started(2, at(2), "recovery"), started(3, at(3), "recovery")],
      { _tag: "StartAttempt", now: at(30), leaseMs: 10_000 },
    ],
    ["a start", [requested("auto")], { _tag: "StartAttempt", now: at(1), leaseMs: 10_000 }],
    [
      "a success",
      [requested("auto"), started(1, at(1))],
      { _tag: "RecordSuccess", attempt: 1, externalRef: "r", result: {}, now: at(2) },
    ],
    [
      "a rejection",
      [requested("require-approval"), awaiting],
      { _tag: "Reject", by: "jo", reason: "no", now: at(9) },
    ],
    ["an expiry", [requested("require-approval"), awaiting], { _tag: "Expire", now: at(3601) }],
  ]

  it.each(decisions)(
    "marks every event of %s but the last as continued in its commit",
    (_, history, command) => {
      let state: ActionState = fold(history)
      const events = actionDecider.decide(command, state)
      expect(events.length).toBeGreaterThan(0)
      const continued = events.map((event) => {
        const more = continuesInCommit(state, event)
        state = actionDecider.evolve(state, event)
        return more
      })
      expect(continued).toEqual(events.map((_, i) => i < events.length - 1))
    },
  )
})
