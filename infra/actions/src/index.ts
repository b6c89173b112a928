export * from "./policy/actionPolicy.ts"
export * from "./policy/evaluatePolicy.ts"
