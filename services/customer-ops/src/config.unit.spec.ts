import { ConfigProvider, Effect, Redacted, Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseIntakeTokens, parseWebhookSecrets, storefrontSettingsConfig } from "./config.ts"

describe("MESH_INTAKE_TOKENS", () => {
  it("maps each gateway's token to its tenant, keeping only digests", () => {
    const parsed = Result.getOrThrow(
      parseIntakeTokens("shop=gateway-token-0123456789, other-shop=another-token-98765"),
    )
    expect([...parsed.values()].sort()).toEqual(["other-shop", "shop"])
    expect([...parsed.keys()].some((key) => key.includes("gateway-token"))).toBe(false)
  })

  it("names a bad entry by its position, never by its token", () => {
    for (const value of [
      "shop=short",
      "Shop Name=gateway-token-0123456789",
      "=gateway-token-0123456789",
      "shop",
    ]) {
      const parsed = parseIntakeTokens(`ok=gateway-token-0123456789,${value}`)
      expect(Result.isFailure(parsed) && parsed.failure).toMatch(/entry 2 must be tenant=token/)
      expect(Result.isFailure(parsed) && parsed.failure).not.toContain("gateway-token")
    }
  })
})

describe("the storefront settings", () => {
  const secret = "storefront-secret-0123456789"
  const settingsOf = (env: Record<string, string>) =>
    Effect.runSync(
      Effect.result(
        Effect.gen(function* () {
          return yield* storefrontSettingsConfig
        }).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))),
      ),
    )

  it("keeps each tenant's webhook secret redacted", () => {
    const parsed = Result.getOrThrow(parseWebhookSecrets(JSON.stringify({ shop: secret })))
    expect(parsed.map((s) => s.tenantId)).toEqual(["shop"])
    expect(String(parsed[0]?.secret)).not.toContain(secret)
    expect(Redacted.value(parsed[0]!.secret)).toBe(secret)
  })

  it("names a bad entry by its tenant, never by its secret", () => {
    for (const [value, message] of [
      ["not json", /must be a JSON object/],
      ['["shop"]', /must be a JSON object/],
      ['{"Shop Name": "storefront-secret-0123456789"}', /"Shop Name" is not a tenant/],
      ['{"shop": "short"}', /the secret of tenant shop must be a string of at least 16 characters/],
    ] as const) {
      const parsed = parseWebhookSecrets(value)
      expect(Result.isFailure(parsed) && parsed.failure).toMatch(message)
      expect(Result.isFailure(parsed) && parsed.failure).not.toContain(secret)
    }
  })

  it("files the listing's orders under the only tenant with a secret, or the one named", () => {
    const only = settingsOf({
      MESH_STOREFRONT_URL: "http://127.0.0.1:7103",
      MESH_STOREFRONT_WEBHOOK_SECRETS: JSON.stringify({ shop: secret }),
    })
    expect(Result.getOrThrow(only)).toMatchObject({
      url: "http://127.0.0.1:7103",
      tenantId: "shop",
      reconcileEveryMs: 30_000,
    })
    const named = settingsOf({
      MESH_STOREFRONT_URL: "http://127.0.0.1:7103",
      MESH_STOREFRONT_TENANT: "other-shop",
      MESH_STOREFRONT_RECONCILE_MS: "0",
    })
    expect(Result.getOrThrow(named)).toMatchObject({ tenantId: "other-shop", reconcileEveryMs: 0 })
    expect(Result.getOrThrow(settingsOf({}))).toMatchObject({ url: null, webhookSecrets: [] })
  })

  it("refuses to reconcile without knowing whose orders the listing holds", () => {
    const two = settingsOf({
      MESH_STOREFRONT_URL: "http://127.0.0.1:7103",
      MESH_STOREFRONT_WEBHOOK_SECRETS: JSON.stringify({ shop: secret, "other-shop": `${secret}-2` }),
    })
    expect(Result.isFailure(two) && String(two.failure)).toMatch(
      /MESH_STOREFRONT_TENANT must name whose orders MESH_STOREFRONT_URL lists/,
    )
  })
})
