import { ActionGate, Approvals, ApproverTokens, ConnectorRegistry } from "@mesh/actions"
import { agentHostLayerFromConfig } from "@mesh/kernel"
import { DecisionRecorder, ModelProvider } from "@mesh/models"
import { Registers } from "@mesh/registers"
import { Effect, Layer } from "effect"
import { ProcurementSettings, procurementName } from "./config.ts"
import { ProcurementLedger } from "./procurementLedger.ts"
import { ProcurementRecords } from "./procurementRecords.ts"

// The gate and the approvals take the purchasing policy the settings read; the gate takes each
// kind's undo from the connectors, so that a placed order can be cancelled (the resolver asks for it).
const gateAndApprovals = Layer.unwrap(
  Effect.gen(function* () {
    const { actionPolicy } = yield* ProcurementSettings
    const connectors = yield* ConnectorRegistry
    return Layer.mergeAll(
      ActionGate.layer({
        agent: procurementName,
        policy: actionPolicy,
        compensationOf: connectors.compensationOf,
      }),
      Approvals.layer({ agent: procurementName, approvalTtlMs: actionPolicy.approvalTtlMs }),
    )
  }),
)

/**
 * The procurement agent's whole wiring, from the environment: the host's connections and settings,
 * its purchasing policy, the model (Ollama when `MESH_OLLAMA_HOST` is set, else the offline model),
 * the decision recorder, the supplier connector, the approvers' tokens, the shared registers, and
 * its ledger and read model.
 */
export const procurementLayer = Layer.mergeAll(
  gateAndApprovals,
  ModelProvider.layerFromConfig,
  DecisionRecorder.layerFromConfig,
  ApproverTokens.layerFromConfig,
  Registers.layerFromConfig(procurementName),
  ProcurementLedger.layer,
  ProcurementRecords.layer(procurementName),
).pipe(
  Layer.provideMerge(ConnectorRegistry.layerFromConfig),
  Layer.provideMerge(ProcurementSettings.layerFromConfig),
  Layer.provideMerge(agentHostLayerFromConfig(procurementName)),
)
