import { type ActionPolicy, type RecordedPolicyRequest, reevaluatePolicy, sameVerdict } from "@mesh/actions"
import type { PolicyMode, PolicyVerdict } from "@mesh/contracts"

// A counterfactual of the policy gate: every recorded action request weighed again by a candidate
// policy (a new threshold, rule, quota or allow-list) with the inputs the gate saw then. The gate is
// a pure function of the policy and those inputs, so the recorded policy itself reproduces every
// recorded verdict, and a candidate's differences are exactly the decisions it changes.

/** One recorded request as the diff reads it from the actions stream. */
export interface RecordedRequest extends RecordedPolicyRequest {
  readonly sequence: number
  readonly actionId: string
  readonly requestedAt: string
  readonly correlationId: string
  /** What became of the action: its last event's type. */
  readonly outcome: string
}

/** A verdict as the diff reports it: what it decided, by which rule, under which policy version. */
export interface WeighedVerdict {
  readonly version: string
  readonly mode: PolicyMode
  readonly rule: string
  readonly reason: string
  readonly approvers: ReadonlyArray<string> | null
}

/** A request whose verdict the candidate changes. */
export interface PolicyChange {
  readonly sequence: number
  readonly actionId: string
  readonly agent: string
  readonly workflow: string
  readonly kind: string
  readonly skill: string
  readonly requestedAt: string
  readonly correlationId: string
  readonly recorded: WeighedVerdict
  readonly candidate: WeighedVerdict
  /** What became of the action under the recorded verdict. */
  readonly outcome: string
}

/** What the candidates change over a recorded history. */
export interface PolicyDiff {
  /** Requests weighed again, by workflow. */
  readonly examined: Readonly<Record<string, number>>
  /** Requests of workflows no candidate covers, by workflow: left as they were. */
  readonly uncovered: Readonly<Record<string, number>>
  /** The changes, in stream order. */
  readonly changes: ReadonlyArray<PolicyChange>
  /** How many changes go from one mode to another, as `auto→require-approval`. */
  readonly transitions: Readonly<Record<string, number>>
  /** Requests whose verdict stays but is given by another rule. */
  readonly otherRule: number
  /** Requests the candidate cannot weigh from what was recorded (a spend quota where none was counted). */
  readonly unweighable: ReadonlyArray<{
    readonly sequence: number
    readonly actionId: string
    readonly reason: string
  }>
}

const weighed = (version: string, verdict: PolicyVerdict): WeighedVerdict => ({
  version,
  mode: verdict.mode,
  rule: verdict.rule,
  reason: verdict.reason,
  approvers: verdict.approvers === undefined ? null : [...verdict.approvers],
})

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1
}

/**
 * Weighs every recorded request of a workflow a candidate covers (by the policy's `workflow`) by
 * that candidate, and reports each whose verdict differs in mode or approvers.
 */
export const diffPolicies = (
  candidates: ReadonlyArray<ActionPolicy>,
  requests: Iterable<RecordedRequest>,
): PolicyDiff => {
  const byWorkflow = new Map(candidates.map((policy) => [policy.workflow, policy]))
  const examined: Record<string, number> = {}
  const uncovered: Record<string, number> = {}
  const transitions: Record<string, number> = {}
  const changes: Array<PolicyChange> = []
  let otherRule = 0
  const unweighable: Array<{ sequence: number; actionId: string; reason: string }> = []
  for (const request of requests) {
    const workflow = request.policy.workflow
    const candidate = byWorkflow.get(workflow)
    if (candidate === undefined) {
      bump(uncovered, workflow)
      continue
    }
    bump(examined, workflow)
    let decided: ReturnType<typeof reevaluatePolicy>
    try {
      decided = reevaluatePolicy(candidate, request)
    } catch (cause) {
      unweighable.push({
        sequence: request.sequence,
        actionId: request.actionId,
        reason: cause instanceof Error ? cause.message : String(cause),
      })
      continue
    }
    if (sameVerdict(decided.verdict, request.policy.verdict)) {
      if (decided.verdict.rule !== request.policy.verdict.rule) otherRule += 1
      continue
    }
    const recorded = weighed(request.policy.version, request.policy.verdict)
    const now = weighed(decided.version, decided.verdict)
    bump(transitions, `${recorded.mode}→${now.mode}`)
    changes.push({
      sequence: request.sequence,
      actionId: request.actionId,
      agent: request.agent,
      workflow,
      kind: request.kind,
      skill: request.skill,
      requestedAt: request.requestedAt,
      correlationId: request.correlationId,
      recorded,
      candidate: now,
      outcome: request.outcome,
    })
  }
  return { examined, uncovered, changes, transitions, otherRule, unweighable }
}
