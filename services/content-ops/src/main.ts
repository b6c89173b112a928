import { runAgentMain } from "@mesh/kernel"
import { contentOpsAgent } from "./agent.ts"
import { contentOpsLayer } from "./layers.ts"

runAgentMain(contentOpsAgent, contentOpsLayer)
