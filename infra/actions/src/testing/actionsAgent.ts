import { agentHostLayerFromConfig, defineAgent, runAgentMain } from "@mesh/kernel"
import { Layer, Result } from "effect"
import { type ActionDefs, actionCatalog } from "../action/actionCommands.ts"
import { Approvals } from "../approvals/approvals.ts"
import { approvalsRoutes } from "../approvals/approvalsRoutes.ts"
import { ApproverTokens } from "../approvals/approverTokens.ts"
import { ConnectorRegistry } from "../connectors/registry.ts"
import { ActionGate } from "../gate/actionGate.ts"
import { decodePolicy } from "../policy/actionPolicy.ts"
import { actionExecutorWorker, actionsProjectionWorker, sagaDriverWorker } from "../workers.ts"

/** The name of the actions wing's test agent. */
export const actionsAgentName = "orders-desk"

/** Its policy: refunds wait for a human, stock adjustments and messages run on their own. */
export const actionsAgentPolicy = Result.getOrThrow(
  decodePolicy(
    {
      workflow: actionsAgentName,
      version: "1",
      approvalTtl: "PT1H",
      defaultMode: "require-approval",
      kinds: {
        "payment.refund": { mode: "require-approval", rules: [] },
        "storefront.adjust-stock": { mode: "auto", rules: [] },
        "mailbox.send-message": { mode: "auto", rules: [] },
      },
      quotas: {},
      skills: { handleOrder: ["payment.refund", "storefront.adjust-stock", "mailbox.send-message"] },
    },
    `${actionsAgentName} test policy`,
  ),
)

// #region readme:actions-agent
/**
 * The actions wing's test agent: an agent that owns actions and nothing else. It keeps their read
 * model, executes them through its connectors, drives its sagas through its gate, and serves the
 * approvals API beside /healthz, /readyz and /status.
 */
export const actionsAgent = defineAgent<
  ActionDefs,
  ActionGate | ConnectorRegistry | Approvals | ApproverTokens
>({
  name: actionsAgentName,
  catalog: actionCatalog,
  aggregates: [],
  reactors: [],
  workers: [
    actionsProjectionWorker(),
    // Quick retries and a frequent sweep, so that tests do not wait on production's pacing.
    actionExecutorWorker({
      retry: { initialMs: 20, maxMs: 200, factor: 2 },
      sweep: { everyMs: 500, staleAfterMs: 5_000 },
    }),
    sagaDriverWorker(),
  ],
  routes: [approvalsRoutes],
})

/**
 * Its whole wiring: the host's connections and settings, the connectors and approver tokens, all
 * from the environment (`MESH_*`), and the gate and approvals of its own actions on top of them.
 */
export const actionsAgentLayer = Layer.mergeAll(
  ActionGate.layer({ agent: actionsAgentName, policy: actionsAgentPolicy }),
  Approvals.layer({ agent: actionsAgentName, approvalTtlMs: actionsAgentPolicy.approvalTtlMs }),
  ConnectorRegistry.layerFromConfig,
  ApproverTokens.layerFromConfig,
).pipe(Layer.provideMerge(agentHostLayerFromConfig(actionsAgentName)))

if (import.meta.main) runAgentMain(actionsAgent, actionsAgentLayer)
// #endregion
