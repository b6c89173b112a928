import { type ActionPolicy, actionPolicyConfig } from "@mesh/actions"
import { Config, Context, Duration, Effect, Layer } from "effect"

/** The agent's name: its subjects, its read-model schema, its actions. */
export const procurementName = "procurement"

/** The policy file shipped with the agent, used when `MESH_ACTION_POLICY_FILE` names none. */
export const procurementPolicyFile = new URL("../policy/actions.json", import.meta.url)

/** What the procurement agent is configured with. */
export interface ProcurementSettingsShape {
  /** What its purchase orders may do, and when a buyer must approve (`MESH_ACTION_POLICY_FILE`, else `policy/actions.json`). */
  readonly actionPolicy: ActionPolicy
  /**
   * How often open purchase orders are checked against their promised dates
   * (`MESH_LATE_DELIVERY_CHECK_MS`); zero turns the watch off, as a sandbox replay does, where
   * recorded checks come from the log and the clock must not add new ones.
   */
  readonly lateDeliveryCheck: Duration.Duration
  /**
   * A supplier's on-time rate before it has a record, and how many deliveries that prior weighs:
   * one late delivery from a new supplier should not rank it below every established one.
   */
  readonly reliabilityPrior: { readonly onTimeRate: number; readonly weight: number }
}

const policyConfig = actionPolicyConfig("MESH_ACTION_POLICY_FILE", procurementPolicyFile)

/** The settings as a `Config`: a bad value or policy fails at start-up, naming the variable. */
export const procurementSettingsConfig: Config.Config<ProcurementSettingsShape> = Config.all({
  actionPolicy: policyConfig,
  lateDeliveryCheck: Config.Int("MESH_LATE_DELIVERY_CHECK_MS").pipe(
    Config.withDefault(60_000),
    Config.map((ms) => (ms <= 0 ? Duration.zero : Duration.millis(Math.max(100, ms)))),
  ),
  reliabilityPrior: Config.succeed({ onTimeRate: 0.8, weight: 2 }),
})

/** The procurement agent's settings, as a service of its process. */
export class ProcurementSettings extends Context.Service<ProcurementSettings, ProcurementSettingsShape>()(
  "procurement/Settings",
) {
  /** From the environment. */
  static readonly layerFromConfig = Layer.effect(
    ProcurementSettings,
    Effect.gen(function* () {
      return yield* procurementSettingsConfig
    }),
  )
  /** Fixed settings (tests). */
  static readonly layer = (settings: ProcurementSettingsShape) => Layer.succeed(ProcurementSettings, settings)
}
