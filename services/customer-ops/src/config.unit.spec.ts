import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseIntakeTokens } from "./config.ts"

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
