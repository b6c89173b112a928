import { readFileSync } from "node:fs"
import { type ActionPolicy, decodePolicyJson } from "@mesh/actions"
import { TenantId } from "@mesh/contracts"
import { Config, ConfigProvider, Context, Effect, Layer, Result } from "effect"
import { decodeReplyPolicyJson, policyFiles, type ReplyPolicy } from "./policy/replyPolicy.ts"

/** The agent's name: its subjects, its read-model schema, its actions. */
export const customerOpsName = "customer-ops"

/** What the customer-ops agent is configured with. */
export interface CustomerOpsSettingsShape {
  /** The tenant of a message that names none (a single shop's deployment). */
  readonly defaultTenant: string
  /** How replies go out (`MESH_REPLY_POLICY_FILE`, else `policy/replies.json`). */
  readonly replyPolicy: ReplyPolicy
  /** What the agent's actions may do (`MESH_ACTION_POLICY_FILE`, else `policy/actions.json`). */
  readonly actionPolicy: ActionPolicy
}

const readPolicy = <A>(
  variable: string,
  fallback: URL,
  decode: (text: string, source: string) => Result.Result<A, { readonly message: string }>,
): Config.Config<A> =>
  Config.String(variable).pipe(
    Config.withDefault(""),
    Config.flatMap((path) => {
      const source = path.trim() === "" ? fallback : path.trim()
      const name = String(source)
      let text: string
      try {
        text = readFileSync(source, "utf8")
      } catch (cause) {
        return Config.fail(
          new ConfigProvider.SourceError({
            message: `${variable}: cannot read ${name}: ${(cause as Error).message}`,
          }),
        )
      }
      const decoded = decode(text, name)
      return Result.isSuccess(decoded)
        ? Config.succeed(decoded.success)
        : Config.fail(new ConfigProvider.SourceError({ message: `${variable}: ${decoded.failure.message}` }))
    }),
  )

/** The settings as a `Config`: a bad value or policy document fails at start-up, naming the variable and the field. */
export const customerOpsSettingsConfig: Config.Config<CustomerOpsSettingsShape> = Config.all({
  defaultTenant: Config.schema(TenantId, "MESH_TENANT").pipe(Config.withDefault("shop")),
  replyPolicy: readPolicy("MESH_REPLY_POLICY_FILE", policyFiles.replies, decodeReplyPolicyJson),
  actionPolicy: readPolicy("MESH_ACTION_POLICY_FILE", policyFiles.actions, decodePolicyJson),
})

/** The customer-ops agent's settings, as a service of its process. */
export class CustomerOpsSettings extends Context.Service<CustomerOpsSettings, CustomerOpsSettingsShape>()(
  "customer-ops/Settings",
) {
  /** From the environment. */
  static readonly layerFromConfig = Layer.effect(
    CustomerOpsSettings,
    Effect.gen(function* () {
      return yield* customerOpsSettingsConfig
    }),
  )
  /** Fixed settings (tests). */
  static readonly layer = (settings: CustomerOpsSettingsShape) => Layer.succeed(CustomerOpsSettings, settings)
}
