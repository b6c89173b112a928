import { actionEvents, type Domain, decisionEvents, type EventOf, makeCatalog } from "@mesh/contracts"
import { makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { Effect, Stream } from "effect"
import type { ActionDomainEvent } from "../action/actionCommands.ts"
import { type DecisionEvent, type ModelCostWindow, modelCostReport } from "./modelCost.ts"

const costCatalog = makeCatalog([...actionEvents, ...decisionEvents])
type CostEvent = EventOf<(typeof costCatalog.definitions)[number]>

const isDecision = (event: CostEvent): event is DecisionEvent => event.type === "DecisionRecorded"
const isAction = (event: CostEvent): event is ActionDomainEvent => event.type !== "DecisionRecorded"

/**
 * Each agent's model cost per executed action, folded from the decisions and actions streams up
 * to their heads, for a process with NATS but no read model (the `mesh` command line). It reads
 * both streams whole, so no agent's part uses it.
 */
export const modelCostFromLog = (
  options: { readonly nats: NatsHandles; readonly namespace: string },
  window: ModelCostWindow = {},
) =>
  Effect.gen(function* () {
    const log = makeEventLog({ nats: options.nats, catalog: costCatalog, namespace: options.namespace })
    const readAll = (domain: Domain) =>
      Effect.gen(function* () {
        const head = yield* log.headSequence(domain)
        const events: Array<CostEvent> = []
        if (head === 0) return events
        yield* log.follow(domain, { fromSequence: 1 }).pipe(
          Stream.takeUntil((commit) => commit.sequence >= head),
          Stream.runForEach((commit) => Effect.sync(() => events.push(...commit.events))),
        )
        return events
      })
    const decisions = (yield* readAll("decisions")).filter(isDecision)
    const actions = (yield* readAll("actions")).filter(isAction)
    return modelCostReport(decisions, actions, window)
  })
