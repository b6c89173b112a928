/** The conflict resolver: its agent definition and wiring, and its parts for tools that run them in process. */
export { conflictResolverAgent, resolverTally } from "./agent.ts"
export { conflictResolverLayer } from "./layers.ts"
export { type ResolverTally, replicationWorker, resolverWorker, unresolvedBy } from "./resolver.ts"
