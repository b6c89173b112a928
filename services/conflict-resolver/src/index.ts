export * from "./agent.ts"
export * from "./layers.ts"
export * from "./resolver.ts"
