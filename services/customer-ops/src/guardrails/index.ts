// The customer-ops agent's guardrails: pure checks on what comes in (customer messages, pasted
// emails, knowledge articles) and on what goes out (replies), with no I/O.

export { type AccountDetail, type DetailChangeRequest, detailChangeRequests } from "./detailChange.ts"
export {
  type GroundingFact,
  leaksPrompt,
  type PromiseKind,
  type UngroundedPromise,
  ungroundedPromises,
} from "./grounding.ts"
export {
  type CleanedText,
  cleanUntrusted,
  isManipulation,
  type UntrustedFinding,
  type UntrustedFindingCode,
} from "./untrusted.ts"
