import { runAgentMain } from "@mesh/kernel"
import { customerOpsAgent } from "./agent.ts"
import { customerOpsLayer } from "./layers.ts"

runAgentMain(customerOpsAgent, customerOpsLayer)
