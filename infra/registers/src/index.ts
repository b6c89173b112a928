export * from "./registerError.ts"
export * from "./registers.ts"
