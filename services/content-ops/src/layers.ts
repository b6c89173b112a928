import { ActionGate, Approvals, ApproverTokens, ConnectorRegistry } from "@mesh/actions"
import { agentHostLayerFromConfig } from "@mesh/kernel"
import { DecisionRecorder, ModelProvider } from "@mesh/models"
import { Registers } from "@mesh/registers"
import { Effect, Layer } from "effect"
import { ContentOpsSettings, contentOpsName } from "./config.ts"
import { ContentLedger } from "./contentLedger.ts"

// The gate and the approvals take the listing policy the settings read; the gate takes each kind's
// undo from the connectors.
const gateAndApprovals = Layer.unwrap(
  Effect.gen(function* () {
    const { actionPolicy } = yield* ContentOpsSettings
    const connectors = yield* ConnectorRegistry
    return Layer.mergeAll(
      ActionGate.layer({
        agent: contentOpsName,
        policy: actionPolicy,
        compensationOf: connectors.compensationOf,
      }),
      Approvals.layer({ agent: contentOpsName, approvalTtlMs: actionPolicy.approvalTtlMs }),
    )
  }),
)

/**
 * The content-ops agent's whole wiring, from the environment: the host's connections and settings,
 * its listing policy, the model (Ollama when `MESH_OLLAMA_HOST` is set, else the offline model), the
 * decision recorder, the storefront connector, the approvers' tokens, the shared registers and its
 * listings read from the log.
 */
export const contentOpsLayer = Layer.mergeAll(
  gateAndApprovals,
  // Its reactions embed resolved tickets' questions: the offline encoder loads while the agent starts.
  ModelProvider.layerFromConfigWith({ warmEmbedder: true }),
  DecisionRecorder.layerFromConfig,
  ApproverTokens.layerFromConfig,
  Registers.layerFromConfig(contentOpsName),
  ContentLedger.layer(contentOpsName),
).pipe(
  Layer.provideMerge(ConnectorRegistry.layerFromConfig),
  Layer.provideMerge(ContentOpsSettings.layerFromConfig),
  Layer.provideMerge(agentHostLayerFromConfig(contentOpsName)),
)
