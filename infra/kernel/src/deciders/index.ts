/** Deciders and command handling alone, without the agent host: light enough for a worker process to start fast. */
export * from "./commandHandler.ts"
export * from "./decidedOtherwise.ts"
export * from "./decider.ts"
export * from "./errors.ts"
export * from "./ids.ts"
export * from "./snapshots.ts"
