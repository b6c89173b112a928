export {
  type CompensationCall,
  type Connector,
  type ConnectorCall,
  ConnectorError,
  ConnectorErrorReason,
  type ConnectorReceipt,
  KeyConflict,
  MalformedResponse,
  Rejected,
  Timeout,
  Unavailable,
  UnknownKind,
} from "./connector.ts"
export {
  type HttpAction,
  type HttpApi,
  type HttpConnectorSettings,
  type HttpOperation,
  type HttpResource,
  type JsonBody,
  makeHttpConnector,
  reasonForStatus,
} from "./httpConnector.ts"
export {
  ConnectorRegistry,
  type ConnectorRegistryOptions,
  type ConnectorRegistryShape,
  makeConnectorRegistry,
  makeHttpConnectorRegistry,
} from "./registry.ts"
export {
  type ConnectorSettings,
  connectorSettingsConfig,
  connectorUrlVariables,
  DEFAULT_CONNECTOR_TIMEOUT_MS,
  loadConnectorSettings,
  makeHttpConnectors,
} from "./settings.ts"
export {
  httpApis,
  type KindPersonalFields,
  mailboxApi,
  paymentApi,
  personalFieldsOfKind,
  storefrontApi,
  supplierApi,
} from "./systems.ts"
