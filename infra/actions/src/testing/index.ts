export {
  type ConnectorContractSetup,
  type ContractFault,
  type ContractLedgerEntry,
  describeConnectorContract,
} from "./connectorContract.ts"
export { type SimulatorLike, simulatorContractHooks } from "./simulatorContract.ts"
