import { type ActionPolicy, actionPolicyConfig } from "@mesh/actions"
import { Config, ConfigProvider, Context, Effect, Layer } from "effect"
import { MAX_LISTINGS_PER_CALL } from "./skills/draftListing.ts"

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
  /**
   * When resolved tickets make a frequent question: how many must ask it (`MESH_FAQ_MIN_TICKETS`) and
   * how alike two questions must be, as the cosine of their embeddings (`MESH_FAQ_SIMILARITY`).
   */
  readonly faq: { readonly minTickets: number; readonly similarity: number }
  /**
   * How many listings one model call drafts at most (`MESH_LISTING_BATCH_SIZE`, 1 to
   * `MAX_LISTINGS_PER_CALL`): a listing's drafting takes others waiting for a draft along, paying
   * the instructions and the call once. 1 drafts each alone.
   */
  readonly listingBatchSize: number
}

const invalid = (message: string) => Config.fail(new ConfigProvider.SourceError({ message }))

const policyConfig = actionPolicyConfig("MESH_ACTION_POLICY_FILE", contentOpsPolicyFile)

/** The content-ops agent's settings, as a service of its process. */
export class ContentOpsSettings extends Context.Service<ContentOpsSettings, ContentOpsSettingsShape>()(
  "content-ops/Settings",
) {
  /** From the environment: a bad policy fails at start-up, naming the variable. */
  static readonly layerFromConfig = Layer.effect(
    ContentOpsSettings,
    Effect.gen(function* () {
      return {
        actionPolicy: yield* policyConfig,
        faq: yield* Config.all({
          minTickets: Config.Int("MESH_FAQ_MIN_TICKETS").pipe(
            Config.withDefault(3),
            Config.flatMap((n) =>
              n >= 2 ? Config.succeed(n) : invalid("MESH_FAQ_MIN_TICKETS must be at least 2"),
            ),
          ),
          // Measured with the offline encoder: paraphrases of one question score 0.66-0.81, other
          // questions of the same shop at most 0.52.
          similarity: Config.Number("MESH_FAQ_SIMILARITY").pipe(
            Config.withDefault(0.6),
            Config.flatMap((n) =>
              n > 0 && n < 1 ? Config.succeed(n) : invalid("MESH_FAQ_SIMILARITY must be between 0 and 1"),
            ),
          ),
        }),
        listingBatchSize: yield* Config.Int("MESH_LISTING_BATCH_SIZE").pipe(
          Config.withDefault(MAX_LISTINGS_PER_CALL),
          Config.flatMap((n) =>
            n >= 1 && n <= MAX_LISTINGS_PER_CALL
              ? Config.succeed(n)
              : invalid(`MESH_LISTING_BATCH_SIZE must be between 1 and ${MAX_LISTINGS_PER_CALL}`),
          ),
        ),
      }
    }),
  )
}
