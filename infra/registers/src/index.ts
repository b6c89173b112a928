export * from "./conflicts.ts"
export * from "./registerError.ts"
export * from "./registers.ts"
export * from "./sites.ts"
