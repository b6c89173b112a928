import { actionAggregateEvents } from "@mesh/contracts"
import { Effect, Stream } from "effect"
import type { ActionCommands, ActionDomainEvent } from "../action/actionCommands.ts"
import { type ActionEvent, type ActionState, actionDecider } from "../action/actionDecider.ts"
import type { QueuedAction } from "../readModel/actionsProjection.ts"

const actionEventTypes = new Set<string>(actionAggregateEvents.map((d) => d.type))

/**
 * Every action of the actions stream (up to its head) folded to its current state, for a process
 * with NATS but not the actions read model: the `mesh` command line, the demo. It reads the whole
 * stream, so no agent's part uses it: the gate's quotas, the approvals API and the executor's
 * sweep read the read model.
 */
export const actionsFromLog = (commands: ActionCommands, agent?: string) =>
  Effect.gen(function* () {
    const head = yield* commands.log.headSequence("actions")
    const states = new Map<string, { agent: string; state: ActionState }>()
    if (head === 0) return []
    yield* commands.log.follow("actions", { fromSequence: 1 }).pipe(
      Stream.takeUntil((commit) => commit.sequence >= head),
      Stream.runForEach((commit) =>
        Effect.sync(() => {
          for (const event of commit.events as ReadonlyArray<ActionDomainEvent>) {
            if (!actionEventTypes.has(event.type)) continue
            if (agent !== undefined && event.aggregateType !== agent) continue
            const key = `${event.aggregateType}/${event.aggregateId}`
            const entry = states.get(key) ?? {
              agent: event.aggregateType,
              state: actionDecider.initialState(),
            }
            entry.state = actionDecider.evolve(entry.state, event as unknown as ActionEvent)
            states.set(key, entry)
          }
        }),
      ),
    )
    return [...states.values()]
  })

/**
 * The approvals queue folded straight from the actions stream, for operators who have NATS but not
 * the read-model database (the `mesh` command line). Reads up to the stream's head, then stops.
 */
export const approvalQueueFromLog = (commands: ActionCommands, agent?: string) =>
  Effect.gen(function* () {
    const actions = yield* actionsFromLog(commands, agent)
    const queue: Array<QueuedAction> = []
    for (const { agent: owner, state } of actions) {
      if (state.status !== "awaiting-approval" && state.status !== "parked") continue
      const amount = state.request.policy.inputs.amount
      queue.push({
        agent: owner,
        actionId: state.request.actionId,
        kind: state.request.kind,
        skill: state.request.skill,
        status: state.status,
        parameters: state.request.parameters,
        parametersHash: state.request.parametersHash,
        amount,
        reason: state.status === "parked" ? state.reason : null,
        policy: {
          workflow: state.request.policy.workflow,
          version: state.request.policy.version,
          rule: state.request.policy.verdict.rule,
        },
        requestedAt: state.request.requestedAt,
        expiresAt: state.status === "awaiting-approval" ? state.expiresAt : null,
      })
    }
    return queue.sort(
      (a, b) => a.requestedAt.localeCompare(b.requestedAt) || a.actionId.localeCompare(b.actionId),
    )
  })
