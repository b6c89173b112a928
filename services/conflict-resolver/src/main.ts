import { runAgentMain } from "@mesh/kernel"
import { conflictResolverAgent } from "./agent.ts"
import { conflictResolverLayer } from "./layers.ts"

runAgentMain(conflictResolverAgent, conflictResolverLayer)
