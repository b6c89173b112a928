/**
 * What each agent's model calls cost per action it got done, folded from the log alone: the
 * decisions stream (`DecisionRecorded`, with cost, tokens and latency) and the actions stream
 * (`ActionRequested` and its outcomes). Pure: the caller reads the streams and names the window.
 */
import type { DecisionRecorded, EventOf } from "@mesh/contracts"
import type { ActionDomainEvent } from "../action/actionCommands.ts"

/** A recorded decision as the cost report reads it. */
export type DecisionEvent = EventOf<typeof DecisionRecorded>

/** An executed action and the model cost its chain's decisions put on it. */
export interface ExecutedActionCost {
  readonly agent: string
  readonly actionId: string
  readonly kind: string
  readonly correlationId: string
  /** Its share of the cost of every decision of its chain (see {@link modelCostReport}). */
  readonly costUsd: number
  /** How many decisions of its chain shared their cost with it. */
  readonly decisions: number
}

/** Decision latency percentiles (nearest rank), in milliseconds. */
export interface LatencyPercentiles {
  readonly p50: number
  readonly p95: number
}

/** One agent's model cost against the actions it requested and got executed. */
export interface AgentModelCost {
  readonly agent: string
  readonly decisions: number
  /** The sum of its decisions' `costUsd`. */
  readonly modelCostUsd: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly actionsRequested: number
  /** Actions that succeeded (`ActionSucceeded`). */
  readonly actionsExecuted: number
  /** Model cost over executed actions; null when none executed. */
  readonly costPerExecutedActionUsd: number | null
  /** The cost of its decisions whose chain executed no action at all. */
  readonly unattributedCostUsd: number
  /** Actions that waited for a human (approval, or parked) over actions requested; null when none. */
  readonly interventionRate: number | null
  /** Null when it recorded no decision. */
  readonly decisionLatencyMs: LatencyPercentiles | null
  /** Its executed actions, each with the cost of its chain's decisions, oldest request first. */
  readonly executed: ReadonlyArray<ExecutedActionCost>
}

/** Which part of the log to count: an agent, and decisions and actions from an instant on. */
export interface ModelCostWindow {
  readonly agent?: string
  /** ISO-8601 instant: decisions decided and actions requested at or after it. */
  readonly since?: string
}

interface ActionTally {
  agent: string
  actionId: string
  kind: string
  correlationId: string
  requestedAt: string
  executed: boolean
  waitedForHuman: boolean
}

/** Nearest-rank percentile of sorted values (non-empty). */
const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

/**
 * The model cost of each agent (agents sorted by name), from the decisions (in any order) and the
 * actions stream's events (in log order: an action's outcomes after its request).
 *
 * Attribution rule: a decision's cost belongs to its correlation chain (the outside request that
 * started it). It is split equally among the actions of that chain that executed, whatever agent
 * requested them; a decision whose chain executed nothing stays with its agent as unattributed
 * cost. So a triage and a drafting decision of one ticket that ends in one sent reply both land on
 * that reply, and a draft whose publish a person rejected costs but executes nothing.
 *
 * Actions count when requested inside the window, decisions when decided inside it; an action's
 * later outcome counts whenever it came. Actions whose request lies outside the window (or
 * belongs to another agent) still receive their share of a counted decision's cost.
 */
export const modelCostReport = (
  decisions: ReadonlyArray<DecisionEvent>,
  actionEvents: ReadonlyArray<ActionDomainEvent>,
  window: ModelCostWindow = {},
): ReadonlyArray<AgentModelCost> => {
  const inWindow = (at: string) => window.since === undefined || at >= window.since

  const actions = new Map<string, ActionTally>()
  for (const event of actionEvents) {
    const key = `${event.aggregateType}/${event.aggregateId}`
    switch (event.type) {
      case "ActionRequested":
        actions.set(key, {
          agent: event.payload.agent,
          actionId: event.payload.actionId,
          kind: event.payload.kind,
          correlationId: event.correlationId,
          requestedAt: event.payload.requestedAt,
          executed: false,
          waitedForHuman: false,
        })
        break
      case "ActionSucceeded": {
        const action = actions.get(key)
        if (action !== undefined) action.executed = true
        break
      }
      case "ActionAwaitingApproval":
      case "ActionParked": {
        const action = actions.get(key)
        if (action !== undefined) action.waitedForHuman = true
        break
      }
      // Denials, approvals, attempts, failures, compensations and sagas change neither the count of
      // requests and executions nor whether a person was asked.
      case "ActionDenied":
      case "ActionApproved":
      case "ActionApprovalRefused":
      case "ActionRejected":
      case "ActionExpired":
      case "ActionAttemptStarted":
      case "ActionFailed":
      case "ActionCompensationRequested":
      case "ActionCompensationFailed":
      case "ActionCompensated":
      case "ActionHumanNotified":
      case "SagaStarted":
      case "SagaStepCompleted":
      case "SagaCompensating":
      case "SagaStepCompensated":
      case "SagaCompleted":
      case "SagaCompensated":
        break
    }
  }

  const executedByChain = new Map<string, Array<ActionTally>>()
  for (const action of actions.values()) {
    if (!action.executed) continue
    const chain = executedByChain.get(action.correlationId) ?? []
    chain.push(action)
    executedByChain.set(action.correlationId, chain)
  }

  const shares = new Map<ActionTally, { costUsd: number; decisions: number }>()
  const perAgent = new Map<
    string,
    {
      decisions: number
      costUsd: number
      promptTokens: number
      completionTokens: number
      unattributedCostUsd: number
      latencies: Array<number>
    }
  >()
  const agentEntry = (agent: string) => {
    const existing = perAgent.get(agent)
    if (existing !== undefined) return existing
    const created = {
      decisions: 0,
      costUsd: 0,
      promptTokens: 0,
      completionTokens: 0,
      unattributedCostUsd: 0,
      latencies: [] as Array<number>,
    }
    perAgent.set(agent, created)
    return created
  }

  for (const decision of decisions) {
    const p = decision.payload
    if (!inWindow(p.decidedAt)) continue
    const entry = agentEntry(p.agent)
    entry.decisions += 1
    entry.costUsd += p.costUsd
    entry.promptTokens += p.promptTokens
    entry.completionTokens += p.completionTokens
    entry.latencies.push(p.latencyMs)
    const executed = executedByChain.get(decision.correlationId) ?? []
    if (executed.length === 0) {
      entry.unattributedCostUsd += p.costUsd
      continue
    }
    const share = p.costUsd / executed.length
    for (const action of executed) {
      const s = shares.get(action) ?? { costUsd: 0, decisions: 0 }
      s.costUsd += share
      s.decisions += 1
      shares.set(action, s)
    }
  }

  const requestedByAgent = new Map<string, Array<ActionTally>>()
  for (const action of actions.values()) {
    if (!inWindow(action.requestedAt)) continue
    const list = requestedByAgent.get(action.agent) ?? []
    list.push(action)
    requestedByAgent.set(action.agent, list)
    agentEntry(action.agent)
  }

  const report: Array<AgentModelCost> = []
  for (const [agent, entry] of perAgent) {
    if (window.agent !== undefined && agent !== window.agent) continue
    const requested = requestedByAgent.get(agent) ?? []
    const executed = requested
      .filter((a) => a.executed)
      .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt) || a.actionId.localeCompare(b.actionId))
    const latencies = [...entry.latencies].sort((a, b) => a - b)
    report.push({
      agent,
      decisions: entry.decisions,
      modelCostUsd: entry.costUsd,
      promptTokens: entry.promptTokens,
      completionTokens: entry.completionTokens,
      actionsRequested: requested.length,
      actionsExecuted: executed.length,
      costPerExecutedActionUsd: executed.length === 0 ? null : entry.costUsd / executed.length,
      unattributedCostUsd: entry.unattributedCostUsd,
      interventionRate:
        requested.length === 0 ? null : requested.filter((a) => a.waitedForHuman).length / requested.length,
      decisionLatencyMs:
        latencies.length === 0 ? null : { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
      executed: executed.map((a) => {
        const s = shares.get(a) ?? { costUsd: 0, decisions: 0 }
        return {
          agent: a.agent,
          actionId: a.actionId,
          kind: a.kind,
          correlationId: a.correlationId,
          costUsd: s.costUsd,
          decisions: s.decisions,
        }
      }),
    })
  }
  return report.sort((a, b) => a.agent.localeCompare(b.agent))
}
