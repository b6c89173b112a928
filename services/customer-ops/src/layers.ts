import { ActionGate, Approvals, ApproverTokens, ConnectorRegistry } from "@mesh/actions"
import { agentHostLayerFromConfig } from "@mesh/kernel"
import { MemoryStore } from "@mesh/memory"
import { DecisionRecorder, ModelProvider } from "@mesh/models"
import { Registers } from "@mesh/registers"
import { Effect, Layer } from "effect"
import { CustomerOpsSettings, customerOpsName } from "./config.ts"
import { CustomerHistory } from "./customerHistory.ts"
import { KnowledgeBase } from "./knowledge/knowledgeBase.ts"
import { knowledgeConnector } from "./knowledge/knowledgeConnector.ts"
import { OrderBook } from "./order/orderBook.ts"
import { TicketThreads } from "./ticketThreads.ts"
import { warmUpLayer } from "./warmUp.ts"

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
 * decision recorder, the connectors, the approvers' tokens, and its read model and ticket history;
 * its guardrails and offline triage model warmed before it takes traffic.
 */
export const customerOpsLayer = Layer.mergeAll(
  gateAndApprovals,
  DecisionRecorder.layerFromConfig,
  ConnectorRegistry.layerFromConfigWith([knowledgeConnector]),
  ApproverTokens.layerFromConfig,
  CustomerHistory.layer(customerOpsName),
  TicketThreads.layer,
  OrderBook.layer,
  // Procurement's stock, read for when a back-ordered line is expected (customer ops writes none).
  Registers.layerFromConfig(customerOpsName),
  KnowledgeBase.layer(customerOpsName).pipe(Layer.provide(MemoryStore.layerFromConfig)),
  warmUpLayer,
).pipe(
  // One model for the skills and the knowledge base's embeddings (every message is embedded: the
  // offline encoder loads while the agent starts).
  Layer.provideMerge(ModelProvider.layerFromConfigWith({ warmEmbedder: true })),
  Layer.provideMerge(CustomerOpsSettings.layerFromConfig),
  Layer.provideMerge(agentHostLayerFromConfig(customerOpsName)),
)
