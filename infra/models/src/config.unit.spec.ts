import { ConfigProvider, Effect } from "effect"
import { describe, expect, it } from "vitest"
import { chatModelFor, modelSettingsConfig } from "./config.ts"

const settingsFrom = (env: Record<string, string>) =>
  Effect.runSync(
    Effect.gen(function* () {
      return yield* modelSettingsConfig
    }).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))),
  )

describe("a chat model per workload", () => {
  it("gives each workload its own model, over the pinned one, over the skill's preference", () => {
    const settings = settingsFrom({
      MESH_CHAT_MODEL: "qwen2.5:7b",
      MESH_CHAT_MODEL_BACKGROUND: "llama3.2:1b",
    })
    expect(settings.chatModelByWorkload).toEqual({ interactive: null, background: "llama3.2:1b" })
    expect(chatModelFor(settings, "llama3.2:3b", "background")).toBe("llama3.2:1b")
    expect(chatModelFor(settings, "llama3.2:3b", "interactive")).toBe("qwen2.5:7b")
  })

  it("leaves the skill's preference when nothing is set, an empty value counting as unset", () => {
    const settings = settingsFrom({ MESH_CHAT_MODEL_INTERACTIVE: " " })
    expect(chatModelFor(settings, "llama3.2:3b", "interactive")).toBe("llama3.2:3b")
    expect(chatModelFor(settings, "llama3.2:3b", "background")).toBe("llama3.2:3b")
  })

  it("refuses a value that is not a model name, naming the variable", () => {
    expect(() => settingsFrom({ MESH_CHAT_MODEL_BACKGROUND: "two words" })).toThrow(
      /MESH_CHAT_MODEL_BACKGROUND/,
    )
  })
})
