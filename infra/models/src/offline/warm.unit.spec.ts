import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { ModelProvider } from "../modelProvider.ts"
import { sentenceEncoderLoaded } from "./sentenceEmbedder.ts"

// Its own file: the encoder is one per process (per test file here), so nothing else may load it first.
describe("the offline model of a long-lived process", () => {
  it("loads its sentence encoder in the background once the layer is built, before any embedding is asked", async () => {
    expect(sentenceEncoderLoaded()).toBe(false)
    await Effect.runPromise(
      Effect.gen(function* () {
        const provider = yield* ModelProvider
        expect(provider.provider).toBe("offline")
        // The layer did not wait for the load (about 0.8 s here).
        expect(sentenceEncoderLoaded()).toBe(false)
        for (let waited = 0; !sentenceEncoderLoaded() && waited < 60_000; waited += 50)
          yield* Effect.sleep(50)
        expect(sentenceEncoderLoaded()).toBe(true)
      }).pipe(Effect.provide(Layer.fresh(ModelProvider.layerOfflineWarm()))),
    )
    // The load takes about 0.8 s alone; on a saturated machine it took over 5 s, vitest's default.
  }, 60_000)
})
