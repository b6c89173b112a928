import { runAgentMain } from "@mesh/kernel"
import { procurementAgent } from "./agent.ts"
import { procurementLayer } from "./layers.ts"

runAgentMain(procurementAgent, procurementLayer)
