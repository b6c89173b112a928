export * from "./policy/actionPolicy.ts"
export * from "./policy/evaluatePolicy.ts"
export * from "./saga/sagaDecider.ts"
