import { type ActionPolicy, actionPolicyConfig } from "@mesh/actions"
import { Context, Effect, Layer } from "effect"

/** The agent's name: its subjects, its read-model schema, its actions. */
export const contentOpsName = "content-ops"

/** The policy file shipped with the agent, used when `MESH_ACTION_POLICY_FILE` names none. */
export const contentOpsPolicyFile = new URL("../policy/actions.json", import.meta.url)

/** What the content-ops agent is configured with. */
export interface ContentOpsSettingsShape {
  /**
   * Whether a listing publishes on its own or waits for a person (`MESH_ACTION_POLICY_FILE`, else
   * `policy/actions.json`); a draft the fact check flags always waits.
   */
  readonly actionPolicy: ActionPolicy
}

const policyConfig = actionPolicyConfig("MESH_ACTION_POLICY_FILE", contentOpsPolicyFile)

/** The content-ops agent's settings, as a service of its process. */
export class ContentOpsSettings extends Context.Service<ContentOpsSettings, ContentOpsSettingsShape>()(
  "content-ops/Settings",
) {
  /** From the environment: a bad policy fails at start-up, naming the variable. */
  static readonly layerFromConfig = Layer.effect(
    ContentOpsSettings,
    Effect.gen(function* () {
      return { actionPolicy: yield* policyConfig }
    }),
  )
}
