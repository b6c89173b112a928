import { actionDecider } from "@mesh/actions"
import { contentOpsAggregates } from "@mesh/content-ops/aggregates"
import type { EventDefinition } from "@mesh/contracts"
import { customerOpsAggregates } from "@mesh/customer-ops/aggregates"
import type { AggregateDefinition } from "@mesh/kernel"
import { procurementAggregates } from "@mesh/procurement/aggregates"

// The aggregates a replay folds: each agent's own (their pure deciders, as the agents run them), and
// every agent's actions on the actions stream, whose aggregate type is the agent's name.

const agents = ["customer-ops", "procurement", "content-ops"] as const

// biome-ignore lint/suspicious/noExplicitAny: any command and state; a replay only folds
type AnyAggregate = AggregateDefinition<EventDefinition, any, any>

/** Every aggregate the mesh's agents decide, as a replay folds them. */
export const meshAggregates: ReadonlyArray<AnyAggregate> = [
  ...(customerOpsAggregates as ReadonlyArray<unknown>),
  ...(procurementAggregates as ReadonlyArray<unknown>),
  ...(contentOpsAggregates as ReadonlyArray<unknown>),
  ...agents.map((agent) => ({ domain: "actions", type: agent, decider: actionDecider })),
] as ReadonlyArray<AnyAggregate>
