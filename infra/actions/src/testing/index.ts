export {
  requestSampleAction,
  type SampleAction,
  sampleActions,
  waitForActionStatus,
} from "./actionTestKit.ts"
export {
  type ConnectorContractSetup,
  type ContractFault,
  type ContractLedgerEntry,
  describeConnectorContract,
} from "./connectorContract.ts"
export { sampleDecisionPayload, sampleRequestPayload } from "./costEvents.ts"
export { type SimulatorLike, simulatorContractHooks } from "./simulatorContract.ts"
