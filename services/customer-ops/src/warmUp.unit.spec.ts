import { ModelProvider } from "@mesh/models"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { cleanUntrusted, detailChangeRequests } from "./guardrails/index.ts"
import { warmUpLayer, warmUpSamples } from "./warmUp.ts"

describe("warm-up", () => {
  it("takes the guardrails' paths a message can take: hidden text, markup, an encoded payload, steering, a detail change", () => {
    const findings = new Set(
      warmUpSamples.flatMap((text) => cleanUntrusted(text).findings.map((f) => f.code)),
    )
    for (const code of [
      "hidden-comment",
      "hidden-styled-text",
      "markup",
      "encoded-payload",
      "instruction-override",
    ])
      expect(findings).toContain(code)
    expect(warmUpSamples.flatMap((text) => detailChangeRequests(cleanUntrusted(text).text))).not.toHaveLength(
      0,
    )
  })

  it("builds on the offline model, loading its triage model ahead", async () => {
    await Effect.runPromise(
      Layer.build(warmUpLayer).pipe(Effect.provide(ModelProvider.layerOffline), Effect.scoped),
    )
  })
})
