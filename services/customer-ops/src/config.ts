import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { type ActionPolicy, connectorSettingsConfig, decodePolicyJson } from "@mesh/actions"
import { TenantId } from "@mesh/contracts"
import { Config, ConfigProvider, Context, Effect, Layer, Option, Redacted, Result, Schema } from "effect"
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
  /** Where the shop's orders come from. */
  readonly storefront: StorefrontSettings
}

/** A tenant's secret for signing its storefront's webhooks. */
export interface StorefrontWebhookSecret {
  readonly tenantId: string
  readonly secret: Redacted.Redacted<string>
}

/** How the storefront's orders reach the agent: signed webhooks, and a listing polled to catch up. */
export interface StorefrontSettings {
  /** Each tenant's webhook secret (`MESH_STOREFRONT_WEBHOOK_SECRETS`); none: no webhook is accepted. */
  readonly webhookSecrets: ReadonlyArray<StorefrontWebhookSecret>
  /** The storefront whose order events are listed (`MESH_STOREFRONT_URL`); null: no reconciliation. */
  readonly url: string | null
  /** Whose orders the listing holds (`MESH_STOREFRONT_TENANT`, else the only tenant with a webhook secret). */
  readonly tenantId: string | null
  /** How often the listing is polled (`MESH_STOREFRONT_RECONCILE_MS`); 0 turns reconciliation off. */
  readonly reconcileEveryMs: number
  /** One listing request's budget (`MESH_CONNECTOR_TIMEOUT_MS`). */
  readonly timeoutMs: number
}

/** The shortest webhook secret taken: long enough that a signature cannot be guessed. */
const MIN_SECRET_CHARS = 16

/**
 * Parses `MESH_STOREFRONT_WEBHOOK_SECRETS`, a JSON object of tenant to secret: each tenant's
 * storefront signs its webhooks with its secret, and a webhook's tenant is the secret's, never the
 * body's. A bad entry is named by its tenant, never by its secret.
 */
export const parseWebhookSecrets = (
  value: string,
): Result.Result<ReadonlyArray<StorefrontWebhookSecret>, string> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    parsed = undefined
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return Result.fail('MESH_STOREFRONT_WEBHOOK_SECRETS must be a JSON object such as {"shop": "<secret>"}')
  const secrets: Array<StorefrontWebhookSecret> = []
  for (const [tenantId, secret] of Object.entries(parsed)) {
    if (Result.isFailure(Schema.decodeUnknownResult(TenantId)(tenantId)))
      return Result.fail(
        `MESH_STOREFRONT_WEBHOOK_SECRETS: ${JSON.stringify(tenantId.slice(0, 64))} is not a tenant (a-z, 0-9 and '-')`,
      )
    if (typeof secret !== "string" || secret.length < MIN_SECRET_CHARS)
      return Result.fail(
        `MESH_STOREFRONT_WEBHOOK_SECRETS: the secret of tenant ${tenantId} must be a string of at least ${MIN_SECRET_CHARS} characters`,
      )
    secrets.push({ tenantId, secret: Redacted.make(secret) })
  }
  return Result.succeed(secrets)
}

const sourceError = (message: string) => Config.fail(new ConfigProvider.SourceError({ message }))

const webhookSecretsConfig = Config.Redacted("MESH_STOREFRONT_WEBHOOK_SECRETS").pipe(
  Config.withDefault(Redacted.make("{}")),
  Config.flatMap((secret) => {
    const parsed = parseWebhookSecrets(Redacted.value(secret))
    return Result.isSuccess(parsed) ? Config.succeed(parsed.success) : sourceError(parsed.failure)
  }),
)

/** The storefront settings as a `Config`: reconciliation without a tenant to file its orders under fails at start-up. */
export const storefrontSettingsConfig: Config.Config<StorefrontSettings> = Config.all({
  webhookSecrets: webhookSecretsConfig,
  connectors: connectorSettingsConfig,
  tenantId: Config.option(Config.schema(TenantId, "MESH_STOREFRONT_TENANT")),
  reconcileEveryMs: Config.schema(
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 86_400_000 })),
    "MESH_STOREFRONT_RECONCILE_MS",
  ).pipe(Config.withDefault(30_000)),
}).pipe(
  Config.flatMap(({ webhookSecrets, connectors, tenantId, reconcileEveryMs }) => {
    const only = webhookSecrets.length === 1 ? webhookSecrets[0]?.tenantId : undefined
    const tenant = Option.getOrUndefined(tenantId) ?? only ?? null
    if (connectors.storefrontUrl !== null && reconcileEveryMs > 0 && tenant === null)
      return sourceError(
        `MESH_STOREFRONT_TENANT must name whose orders MESH_STOREFRONT_URL lists: MESH_STOREFRONT_WEBHOOK_SECRETS names ${webhookSecrets.length} tenants, not one`,
      )
    return Config.succeed({
      webhookSecrets,
      url: connectors.storefrontUrl,
      tenantId: tenant,
      reconcileEveryMs,
      timeoutMs: connectors.timeoutMs,
    })
  }),
)

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
  storefront: storefrontSettingsConfig,
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
