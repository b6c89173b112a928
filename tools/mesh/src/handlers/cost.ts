import { type AgentModelCost, modelCostFromLog } from "@mesh/actions"
import { Clock, Console, Effect, Option } from "effect"
import { instantOf, type Since } from "../since.ts"
import { failedTo, namespaceOf, scopedNatsTarget } from "./nats.ts"

const usd = (amount: number) => `$${amount.toFixed(4)}`
const percent = (rate: number) => `${Math.round(rate * 100)}%`

/** One agent's report as lines of text: the totals, then each executed action with its chain's cost. */
export const formatAgentCost = (a: AgentModelCost): string =>
  [
    `${a.agent}: ${a.decisions} decisions ${usd(a.modelCostUsd)} (${a.promptTokens}+${a.completionTokens} tokens), ` +
      `${a.actionsRequested} actions requested, ${a.actionsExecuted} executed, ` +
      `${a.costPerExecutedActionUsd === null ? "no executed action" : `${usd(a.costPerExecutedActionUsd)} per executed action`}, ` +
      `${a.interventionRate === null ? "no request" : `${percent(a.interventionRate)} waited for a human`}, ` +
      `${a.decisionLatencyMs === null ? "no latency" : `latency p50 ${a.decisionLatencyMs.p50} ms p95 ${a.decisionLatencyMs.p95} ms`}, ` +
      `${usd(a.unattributedCostUsd)} on chains that executed nothing`,
    ...a.executed.map(
      (x) =>
        `  ${x.actionId} ${x.kind} ${usd(x.costUsd)} from ${x.decisions} decisions of chain ${x.correlationId}`,
    ),
  ].join("\n")

/** `mesh cost`: each agent's model cost per executed action, folded from the decisions and actions streams. */
export const cost = (args: {
  readonly agent: Option.Option<string>
  readonly since: Option.Option<Since>
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const now = yield* Clock.currentTimeMillis
    const since = Option.map(args.since, (s) => new Date(instantOf(s, now)).toISOString())
    const report = yield* modelCostFromLog(
      { nats, namespace },
      {
        ...(Option.isSome(args.agent) ? { agent: args.agent.value } : {}),
        ...(Option.isSome(since) ? { since: since.value } : {}),
      },
    ).pipe(failedTo("read the decisions and actions streams"))
    for (const agent of report) {
      yield* Console.log(args.json ? JSON.stringify(agent) : formatAgentCost(agent))
    }
    if (!args.json && report.length === 0) yield* Console.log("no decision or action recorded")
  }).pipe(Effect.scoped)
