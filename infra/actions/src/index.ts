export * from "./action/actionCommands.ts"
export * from "./action/actionDecider.ts"
export * from "./approvals/approvals.ts"
export {
  ActionNotFound,
  ActionPath,
  ApprovalQueue,
  ApprovalsApi,
  ApprovalsBadInput,
  ApprovalsGroup,
  ApprovalsUnavailable,
  ApproveBody,
  ApproverAuth,
  approvalsOpenApiPath,
  BadApprovalRequest,
  CurrentApprover,
  DecisionOutcome,
  DecisionRefused,
  QueueEntry,
  RejectBody,
  UnknownApprover,
} from "./approvals/approvalsApi.ts"
export { approvalsHttp, approvalsRoutes } from "./approvals/approvalsRoutes.ts"
export {
  ApproverTokens,
  type ApproverTokensShape,
  approverTokensConfig,
  parseApproverTokens,
} from "./approvals/approverTokens.ts"
export * from "./approvals/queueFromLog.ts"
export * from "./connectors/index.ts"
export { modelCostFromLog } from "./cost/costFromLog.ts"
export {
  type AgentModelCost,
  type DecisionEvent,
  type ExecutedActionCost,
  type LatencyPercentiles,
  type ModelCostWindow,
  modelCostReport,
} from "./cost/modelCost.ts"
export * from "./executor/actionExecutor.ts"
export * from "./gate/actionGate.ts"
export * from "./policy/actionPolicy.ts"
export * from "./policy/evaluatePolicy.ts"
export * from "./readModel/actionsProjection.ts"
export * from "./saga/sagaDecider.ts"
export * from "./saga/sagaDriver.ts"
export * from "./workers.ts"
