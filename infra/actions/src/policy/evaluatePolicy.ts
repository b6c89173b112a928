import {
  formatMoney,
  type Money,
  type PolicyDecision,
  type PolicyFloor,
  type PolicyInputs,
  type PolicyMode,
  type PolicyVerdict,
} from "@mesh/contracts"
import type { ActionPolicy, PolicyCondition, PolicyRule } from "./actionPolicy.ts"
import { policyModeRank } from "./actionPolicy.ts"

// The policy gate is a pure function of the policy, the request and the agent's counters, so a
// recorded verdict can be explained and replayed. The order is fixed: the allow-list first (model
// output can never widen a policy), then the quotas, then the strictest of the kind's mode and its
// matching rules.

/** What the gate is asked about: who wants which action, and what the model and the world said. */
export interface PolicyRequest {
  readonly agent: string
  readonly skill: string
  readonly kind: string
  readonly amount: Money | null
  readonly confidence: number | null
  readonly sentiment: "negative" | "neutral" | "positive" | null
  readonly firstTimeSupplier: boolean | null
  /**
   * The agent's own verdict from its domain policy (a reply that promises what no record says, an
   * escalation): the gate takes it when it is stricter, and never when it is looser, so nothing an
   * agent decides (or a model steers it to) can widen what the workflow's policy allows.
   */
  readonly floor?: PolicyFloor | null
}

/** An agent's own verdict on an action, which can only tighten the gate's. */
export type { PolicyFloor }

/** The agent's counters the quotas read, from `quotaInputs`. */
export type QuotaCounters = Pick<PolicyInputs, "actionsLastHour" | "spendToday">

/** One earlier request of an agent, as the quota counters need it. */
export interface QuotaHistoryEntry {
  readonly agent: string
  /** ISO instant. */
  readonly requestedAt: string
  readonly amount: Money | null
  /** The verdict's mode; denied requests do not count. */
  readonly mode: PolicyMode
}

const hourMs = 60 * 60 * 1000
const dayMs = 24 * hourMs

const parseInstant = (what: string, instant: string): number => {
  const ms = Date.parse(instant)
  if (Number.isNaN(ms)) throw new TypeError(`${what} ${JSON.stringify(instant)} is not an ISO instant`)
  return ms
}

/**
 * The quota counters of `agent` at `now` from its earlier requests: actions in the last hour, and
 * spend in `currency` (null: the request has no amount) in the last 24 hours; denied requests do not count.
 */
export const quotaInputs = (
  history: ReadonlyArray<QuotaHistoryEntry>,
  agent: string,
  now: string,
  currency: string | null,
): QuotaCounters => {
  const at = parseInstant("now", now)
  let actionsLastHour = 0
  let spentMinor = 0
  for (const entry of history) {
    if (entry.agent !== agent || entry.mode === "deny") continue
    // Anything stamped after `now` (clock skew between replicas) counts too: quotas err on the safe side.
    const requestedAt = parseInstant("requestedAt", entry.requestedAt)
    if (requestedAt > at - hourMs) actionsLastHour++
    if (requestedAt > at - dayMs && entry.amount !== null && entry.amount.currency === currency) {
      spentMinor += entry.amount.amountMinor
    }
  }
  return {
    actionsLastHour,
    spendToday: currency === null ? null : { amountMinor: spentMinor, currency },
  }
}

const verdict = (mode: PolicyMode, rule: string, reason: string): PolicyVerdict => ({ mode, rule, reason })

const allowListVerdict = (policy: ActionPolicy, request: PolicyRequest): PolicyVerdict | null => {
  const allowed = policy.skills[request.skill]
  if (allowed === undefined) {
    return verdict(
      "deny",
      "allow-list",
      `skill ${request.skill} has no allow-list in policy ${policy.workflow}, so it may request no action`,
    )
  }
  if (allowed.includes(request.kind)) return null
  const list = allowed.length === 0 ? "none" : allowed.join(", ")
  return verdict(
    "deny",
    "allow-list",
    `skill ${request.skill} may not request ${request.kind} (its allow-list: ${list})`,
  )
}

const quotaVerdict = (
  policy: ActionPolicy,
  request: PolicyRequest,
  counters: QuotaCounters,
): PolicyVerdict | null => {
  const { actionsPerHour, spendPerDay } = policy.quotas
  if (actionsPerHour !== undefined && counters.actionsLastHour >= actionsPerHour) {
    return verdict(
      "deny",
      "quota:actionsPerHour",
      `agent ${request.agent} has requested ${counters.actionsLastHour} actions in the last hour; ` +
        `the quota is ${actionsPerHour} per hour`,
    )
  }
  if (spendPerDay === undefined || request.amount === null) return null
  const amount = request.amount
  if (amount.currency !== spendPerDay.currency) {
    // Without an exchange rate the amount cannot be held against the quota: refuse rather than let it through.
    return verdict(
      "deny",
      "quota:spendPerDay",
      `the spend quota is in ${spendPerDay.currency}; an amount in ${amount.currency} ` +
        `(${formatMoney(amount)}) cannot be checked against it`,
    )
  }
  const spent = counters.spendToday
  if (spent === null || spent.currency !== amount.currency) {
    throw new TypeError(
      `the counters' spendToday must be in ${amount.currency}, the request's currency ` +
        `(compute them with quotaInputs(history, agent, now, "${amount.currency}"))`,
    )
  }
  const after = spent.amountMinor + amount.amountMinor
  if (after <= spendPerDay.amountMinor) return null
  const money = (amountMinor: number) => formatMoney({ amountMinor, currency: amount.currency })
  return verdict(
    "deny",
    "quota:spendPerDay",
    `agent ${request.agent} has committed ${formatMoney(spent)} in the last 24 hours; ` +
      `${formatMoney(amount)} more would make ${money(after)}, over the quota of ${formatMoney(spendPerDay)} per day`,
  )
}

// Each stated condition as a phrase when it holds, or null when it does not. An input the request
// does not have (or an amount in another currency) counts as holding: a rule can only tighten, so
// not knowing must not loosen.
const conditionPhrases = (when: PolicyCondition, request: PolicyRequest): ReadonlyArray<string> | null => {
  const phrases: Array<string> = []
  if (when.amountAtLeast !== undefined) {
    const threshold = when.amountAtLeast
    const amount = request.amount
    if (amount === null) phrases.push(`the amount is unknown (threshold ${formatMoney(threshold)})`)
    else if (amount.currency !== threshold.currency) {
      phrases.push(`${formatMoney(amount)} cannot be compared with ${formatMoney(threshold)}`)
    } else if (amount.amountMinor >= threshold.amountMinor) {
      phrases.push(`the amount ${formatMoney(amount)} is at least ${formatMoney(threshold)}`)
    } else return null
  }
  if (when.confidenceBelow !== undefined) {
    const confidence = request.confidence
    if (confidence === null) phrases.push(`the confidence is unknown (threshold ${when.confidenceBelow})`)
    else if (confidence < when.confidenceBelow) {
      phrases.push(`the confidence ${confidence} is below ${when.confidenceBelow}`)
    } else return null
  }
  if (when.sentimentIn !== undefined) {
    const sentiment = request.sentiment
    if (sentiment === null) phrases.push("the sentiment is unknown")
    else if (when.sentimentIn.includes(sentiment)) phrases.push(`the sentiment is ${sentiment}`)
    else return null
  }
  if (when.firstTimeSupplier !== undefined) {
    const firstTime = request.firstTimeSupplier
    if (firstTime === null) phrases.push("whether the supplier is new is unknown")
    else if (firstTime === when.firstTimeSupplier) {
      phrases.push(
        firstTime ? "the supplier is a first-time supplier" : "the supplier is not a first-time supplier",
      )
    } else return null
  }
  return phrases
}

const modeVerdict = (policy: ActionPolicy, request: PolicyRequest): PolicyVerdict => {
  const kindPolicy = policy.kinds[request.kind]
  if (kindPolicy === undefined) {
    return verdict(
      policy.defaultMode,
      "default",
      `${request.kind} is not listed in policy ${policy.workflow}; its default mode is ${policy.defaultMode}`,
    )
  }
  let decided = verdict(kindPolicy.mode, "default", `${request.kind} is ${kindPolicy.mode} by default`)
  for (const rule of kindPolicy.rules as ReadonlyArray<PolicyRule>) {
    // Strictly stricter: on a tie the earlier verdict (the kind's mode, then rules in order) stands.
    if (policyModeRank[rule.mode] <= policyModeRank[decided.mode]) continue
    const phrases = conditionPhrases(rule.when, request)
    if (phrases === null) continue
    decided = verdict(rule.mode, rule.id, `${request.kind} is ${rule.mode} because ${phrases.join(" and ")}`)
  }
  return decided
}

// The agent's floor replaces the policy's verdict only when strictly stricter: on a tie the policy's own rule stands.
const floorVerdict = (decided: PolicyVerdict, floor: PolicyFloor | null): PolicyVerdict =>
  floor !== null && policyModeRank[floor.mode] > policyModeRank[decided.mode]
    ? verdict(floor.mode, `agent:${floor.rule}`, floor.reason)
    : decided

/**
 * The policy gate: `deny` by the allow-list, then `deny` by an exhausted quota, else the strictest
 * of the kind's mode (or the policy's default) and its matching rules; with the inputs it saw.
 */
export const evaluatePolicy = (
  policy: ActionPolicy,
  request: PolicyRequest,
  counters: QuotaCounters,
): PolicyDecision => {
  const inputs: PolicyInputs = {
    amount: request.amount,
    confidence: request.confidence,
    sentiment: request.sentiment,
    firstTimeSupplier: request.firstTimeSupplier,
    actionsLastHour: counters.actionsLastHour,
    spendToday: counters.spendToday,
    ...(request.floor === undefined || request.floor === null ? {} : { floor: request.floor }),
  }
  const verdictGiven =
    allowListVerdict(policy, request) ??
    quotaVerdict(policy, request, counters) ??
    floorVerdict(modeVerdict(policy, request), request.floor ?? null)
  // An action that waits for a person waits for the people the policy names for its kind.
  const approvers = policy.kinds[request.kind]?.approvers
  const decided =
    approvers !== undefined && verdictGiven.mode === "require-approval"
      ? { ...verdictGiven, approvers: [...approvers] }
      : verdictGiven
  return { workflow: policy.workflow, version: policy.version, verdict: decided, inputs }
}

/** What an `ActionRequested` recorded of its request and verdict: enough to weigh it again. */
export interface RecordedPolicyRequest {
  readonly agent: string
  readonly skill: string
  readonly kind: string
  readonly policy: PolicyDecision
}

const agentRulePrefix = "agent:"

/**
 * The agent's floor as a record shows it: kept with the inputs since floors were recorded; before
 * that, known only when it decided the verdict (its rule is `agent:<rule>`), and otherwise taken as
 * none, which can only make a re-evaluation looser than the agent would have been.
 */
export const recordedFloor = (recorded: PolicyDecision): PolicyFloor | null => {
  if (recorded.inputs.floor !== undefined) return recorded.inputs.floor
  const { verdict } = recorded
  return verdict.rule.startsWith(agentRulePrefix)
    ? { mode: verdict.mode, rule: verdict.rule.slice(agentRulePrefix.length), reason: verdict.reason }
    : null
}

/**
 * The verdict a recorded request would get from `policy`: the same request, the agent's recorded
 * floor and the quota counters as they stood then. A counterfactual of one request: earlier verdicts
 * that would have changed are not carried into the counters.
 */
export const reevaluatePolicy = (policy: ActionPolicy, recorded: RecordedPolicyRequest): PolicyDecision => {
  const { inputs } = recorded.policy
  return evaluatePolicy(
    policy,
    {
      agent: recorded.agent,
      skill: recorded.skill,
      kind: recorded.kind,
      amount: inputs.amount,
      confidence: inputs.confidence,
      sentiment: inputs.sentiment,
      firstTimeSupplier: inputs.firstTimeSupplier,
      floor: recordedFloor(recorded.policy),
    },
    { actionsLastHour: inputs.actionsLastHour, spendToday: inputs.spendToday },
  )
}

/**
 * Whether two verdicts decide the same: the same mode, for the same approvers. Which rule gave it
 * (two rules of one mode can both apply) explains the verdict; it does not change what happens.
 */
export const sameVerdict = (a: PolicyVerdict, b: PolicyVerdict): boolean =>
  a.mode === b.mode && (a.approvers ?? []).join("\u0000") === (b.approvers ?? []).join("\u0000")
