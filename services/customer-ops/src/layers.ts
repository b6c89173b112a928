import { ActionGate, Approvals, ApproverTokens, ConnectorRegistry } from "@mesh/actions"
import { agentHostLayerFromConfig } from "@mesh/kernel"
import { DecisionRecorder, ModelProvider } from "@mesh/models"
import { Effect, Layer } from "effect"
import { CustomerOpsSettings, customerOpsName } from "./config.ts"
import { CustomerHistory } from "./customerHistory.ts"
import { TicketThreads } from "./ticketThreads.ts"

// The gate and the approvals take the action policy the settings read.
const gateAndApprovals = Layer.unwrap(
  Effect.map(CustomerOpsSettings, ({ actionPolicy }) =>
    Layer.mergeAll(
      ActionGate.layer({ agent: customerOpsName, policy: actionPolicy }),
      Approvals.layer({ agent: customerOpsName, approvalTtlMs: actionPolicy.approvalTtlMs }),
    ),
  ),
)

/**
 * The customer-ops agent's whole wiring, from the environment: the host's connections and settings,
 * its policies, the model (Ollama when `MESH_OLLAMA_HOST` is set, else the offline model), the
 * decision recorder, the connectors, the approvers' tokens, and its read model and ticket history.
 */
export const customerOpsLayer = Layer.mergeAll(
  gateAndApprovals,
  ModelProvider.layerFromConfig,
  DecisionRecorder.layerFromConfig,
  ConnectorRegistry.layerFromConfig,
  ApproverTokens.layerFromConfig,
  CustomerHistory.layer(customerOpsName),
  TicketThreads.layer,
).pipe(
  Layer.provideMerge(CustomerOpsSettings.layerFromConfig),
  Layer.provideMerge(agentHostLayerFromConfig(customerOpsName)),
)
