import { ConfigProvider, Effect, Layer, Redacted, Result } from "effect"
import { describe, expect, it } from "vitest"
import { ApproverTokens, parseApproverTokens } from "./approverTokens.ts"

const fromEnv = (env: Record<string, string>) =>
  Effect.runPromiseExit(
    Effect.gen(function* () {
      return yield* ApproverTokens
    }).pipe(
      Effect.provide(
        ApproverTokens.layerFromConfig.pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))),
        ),
      ),
    ),
  )

describe("approver tokens", () => {
  it("map each token to the identity it stands for", async () => {
    const exit = await fromEnv({
      MESH_APPROVER_TOKENS: "maria=maria-token-0123456789, ops = ops-token-0123456789",
    })
    expect(exit._tag).toBe("Success")
    if (exit._tag !== "Success") return
    const tokens = exit.value
    expect(tokens.identityOf(Redacted.make("maria-token-0123456789"))).toBe("maria")
    expect(tokens.identityOf(Redacted.make("ops-token-0123456789"))).toBe("ops")
    expect(tokens.identityOf(Redacted.make("maria-token-012345678"))).toBeUndefined()
    expect(tokens.identityOf(Redacted.make(""))).toBeUndefined()
  })

  it("name a malformed entry by its position, never echoing the secret", () => {
    const result = parseApproverTokens("maria=maria-token-0123456789,ops=short")
    expect(Result.isFailure(result) && result.failure).toMatch(/entry 2/)
    expect(Result.isFailure(result) && result.failure).not.toMatch(/short/)
  })

  it("stop start-up when they name no approver, naming the variable", async () => {
    for (const env of [{}, { MESH_APPROVER_TOKENS: " , " }]) {
      const exit = await fromEnv(env)
      expect(exit._tag).toBe("Failure")
      expect(String(exit._tag === "Failure" ? exit.cause : "")).toContain("MESH_APPROVER_TOKENS")
    }
  })
})
