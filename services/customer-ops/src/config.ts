import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { type ActionPolicy, decodePolicyJson } from "@mesh/actions"
import { TenantId } from "@mesh/contracts"
import { Config, ConfigProvider, Context, Effect, Layer, Redacted, Result, Schema } from "effect"
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
  /** The tenant whose channel gateway holds a bearer token (`MESH_INTAKE_TOKENS`), or undefined. */
  readonly tenantOfIntakeToken: (token: Redacted.Redacted<string>) => string | undefined
}

const digestOf = (token: string) => createHash("sha256").update(token).digest("hex")

/**
 * Parses `MESH_INTAKE_TOKENS`, `tenant=token` pairs separated by commas: each tenant's mail and chat
 * gateways post messages with their token, and the tenant of a message is its token's, never its
 * body's. Tokens are kept by digest only; a bad entry is named by position, never by its token.
 */
export const parseIntakeTokens = (value: string): Result.Result<ReadonlyMap<string, string>, string> => {
  const byDigest = new Map<string, string>()
  for (const [index, entry] of value.split(",").entries()) {
    const at = entry.indexOf("=")
    const tenant = entry.slice(0, at).trim()
    const token = entry.slice(at + 1).trim()
    if (at < 1 || token.length < 16 || Result.isFailure(Schema.decodeUnknownResult(TenantId)(tenant)))
      return Result.fail(
        `MESH_INTAKE_TOKENS entry ${index + 1} must be tenant=token, a tenant of a-z, 0-9 and '-' and a token of at least 16 characters`,
      )
    byDigest.set(digestOf(token), tenant)
  }
  return Result.succeed(byDigest)
}

const intakeTokensConfig = Config.Redacted("MESH_INTAKE_TOKENS").pipe(
  Config.flatMap((secret) => {
    const parsed = parseIntakeTokens(Redacted.value(secret))
    return Result.isSuccess(parsed)
      ? Config.succeed(parsed.success)
      : Config.fail(new ConfigProvider.SourceError({ message: parsed.failure }))
  }),
)

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
  tenantOfIntakeToken: Config.map(
    intakeTokensConfig,
    (byDigest) => (token: Redacted.Redacted<string>) => byDigest.get(digestOf(Redacted.value(token))),
  ),
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
