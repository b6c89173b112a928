import { DecisionRecorded, decisionEvents, makeCatalog } from "@mesh/contracts"
import { ConfigProvider, Effect, Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { ModelProvider } from "../modelProvider.ts"
import { runSkill, type SkillInvocation } from "../skills/skill.ts"
import { sortMessage } from "../testing/sampleSkill.ts"
import {
  type DecisionContentPolicy,
  decisionContentPolicyConfig,
  decisionPayload,
  defaultContentPolicy,
  invocationFromPayload,
  parseContentMode,
  recordContent,
  sha256Hex,
  storedHashes,
} from "./decisionContent.ts"

const triage = async (body: string): Promise<SkillInvocation> => {
  const run = await Effect.runPromise(
    runSkill(sortMessage, { subject: "Refund", body }).pipe(Effect.provide(ModelProvider.layerOffline)),
  )
  return run.invocation
}

const input = (invocation: SkillInvocation) => ({
  decisionId: "d-1",
  agent: "customer-ops",
  invocation,
  retrieved: [{ id: "T-7:resolved_ticket", kind: "resolved_ticket", score: 0.82, similarity: 0.82 }],
  decidedAt: "2026-11-27T10:00:00.000Z",
})

const policies: Record<string, DecisionContentPolicy> = {
  inline: { prompt: { mode: "inline" }, output: { mode: "inline" } },
  reference: { prompt: { mode: "reference", aboveBytes: 0 }, output: { mode: "reference", aboveBytes: 0 } },
  default: defaultContentPolicy,
}

const isPayload = Schema.is(DecisionRecorded.payload)

describe("content modes", () => {
  it("parse from settings, and a bad setting is refused naming the variable", async () => {
    expect(parseContentMode("inline")).toEqual(Result.succeed({ mode: "inline" }))
    expect(parseContentMode("hash-only")).toEqual(Result.succeed({ mode: "hash-only" }))
    expect(parseContentMode("reference")).toEqual(Result.succeed({ mode: "reference", aboveBytes: 1024 }))
    expect(parseContentMode("reference>4096")).toEqual(
      Result.succeed({ mode: "reference", aboveBytes: 4096 }),
    )
    expect(Result.isFailure(parseContentMode("sometimes"))).toBe(true)
    const read = (env: Record<string, string>) =>
      Effect.runPromiseExit(decisionContentPolicyConfig.parse(ConfigProvider.fromEnv({ env })))
    expect(await read({ MESH_DECISION_PROMPTS: "hash-only" })).toMatchObject({
      _tag: "Success",
      value: { prompt: { mode: "hash-only" }, output: defaultContentPolicy.output },
    })
    expect(String(await read({ MESH_DECISION_OUTPUTS: "always" }))).toContain("MESH_DECISION_OUTPUTS")
  })

  it("put small content inline, large content by reference, and only a hash when told", () => {
    const small = "x".repeat(1024)
    const large = "x".repeat(1025)
    const mode = defaultContentPolicy.prompt
    expect(recordContent(small, mode)).toMatchObject({ ref: { _tag: "Inline", bytes: 1024 }, store: null })
    const stored = recordContent(large, mode)
    expect(stored.ref).toEqual({
      _tag: "Stored",
      sha256: sha256Hex(new TextEncoder().encode(large)),
      bytes: 1025,
    })
    expect(stored.store?.sha256).toBe(stored.ref.sha256)
    expect(recordContent(large, { mode: "hash-only" })).toMatchObject({
      ref: { _tag: "HashOnly" },
      store: null,
    })
    expect(recordContent(large, { mode: "inline" }).ref).toMatchObject({ _tag: "Inline", text: large })
    // Bytes, not characters: "é" is two bytes in UTF-8.
    expect(recordContent("é".repeat(600), mode).ref._tag).toBe("Stored")
  })
})

describe("a decision payload", () => {
  it.each(Object.keys(policies))("round-trips to the same invocation under the %s policy", async (name) => {
    const invocation = await triage("Please refund my order, the lamp sparks and could start a fire.")
    const policy = policies[name]!
    const { payload, contents } = decisionPayload(input(invocation), policy)
    expect(isPayload(payload)).toBe(true)
    const stored = new Map(contents.map((c) => [c.sha256, c.bytes] as const))
    expect(invocationFromPayload(payload, stored)).toEqual(Result.succeed(invocation))
    expect(payload.retrieved).toEqual([
      { memoryId: "T-7:resolved_ticket", kind: "resolved_ticket", score: 0.82, similarity: 0.82 },
    ])
  })

  it("stores each piece of content once: the answer and the attempt that gave it share a hash", async () => {
    const invocation = await triage(`Where is my parcel? ${"It has been weeks. ".repeat(100)}`)
    const { payload, contents } = decisionPayload(input(invocation), policies.reference!)
    expect(payload.rawOutput).toEqual(payload.attempts[0]?.rawOutput)
    // The input, the prompt, the raw answer (also the attempt's) and the parsed output: four objects.
    expect(contents.map((c) => c.sha256).sort()).toEqual([...storedHashes(payload)].sort())
    expect(contents).toHaveLength(4)
    expect(JSON.stringify(payload).length).toBeLessThan(2000)
  })

  it("names the hash of content that is missing, corrupt or was never kept", async () => {
    const invocation = await triage(`Refund please. ${"The lid is broken. ".repeat(100)}`)
    const { payload, contents } = decisionPayload(input(invocation), defaultContentPolicy)
    const prompt = payload.prompt
    expect(prompt._tag).toBe("Stored")
    const stored = new Map(contents.map((c) => [c.sha256, c.bytes] as const))
    expect(invocationFromPayload(payload, new Map([...stored, [prompt.sha256, null]]))).toEqual(
      Result.fail({ _tag: "ContentMissing", sha256: prompt.sha256 }),
    )
    const swapped = new TextEncoder().encode('{"system":"","user":"something else"}')
    expect(invocationFromPayload(payload, new Map([...stored, [prompt.sha256, swapped]]))).toEqual(
      Result.fail({ _tag: "ContentCorrupt", sha256: prompt.sha256, actualSha256: sha256Hex(swapped) }),
    )
    const hashOnly = decisionPayload(input(invocation), {
      ...defaultContentPolicy,
      prompt: { mode: "hash-only" },
    })
    expect(hashOnly.payload.prompt).toEqual({ _tag: "HashOnly", sha256: prompt.sha256, bytes: prompt.bytes })
    expect(invocationFromPayload(hashOnly.payload, stored)).toEqual(
      Result.fail({ _tag: "ContentNotRecorded", sha256: prompt.sha256 }),
    )
    const inline = decisionPayload(input(invocation), policies.inline!).payload
    const tampered = { ...inline, rawOutput: { ...inline.rawOutput!, text: "{}" } as typeof inline.rawOutput }
    expect(invocationFromPayload(tampered, new Map())).toMatchObject(
      Result.fail({ _tag: "ContentCorrupt", sha256: inline.rawOutput!.sha256 }),
    )
  })

  it("reads a decision written before inputs were kept as one with no input", async () => {
    const invocation = await triage("Please refund my order.")
    const { input: _, ...v1 } = decisionPayload(input(invocation), policies.inline!).payload
    const decoded = makeCatalog(decisionEvents).decode({
      eventId: "019abcde-0000-7000-8000-000000000001",
      type: "DecisionRecorded",
      schemaVersion: 1,
      aggregateType: "customer-ops",
      aggregateId: "d-1",
      aggregateVersion: 1,
      occurredAt: "2026-11-27T10:00:00.000Z",
      correlationId: "T-1",
      causationId: null,
      actor: { kind: "agent", id: "customer-ops" },
      payload: v1,
    })
    if (Result.isFailure(decoded)) throw new Error(`not decoded: ${JSON.stringify(decoded.failure)}`)
    expect(decoded.success.payload).toMatchObject({ input: null, decisionId: "d-1" })
    expect(invocationFromPayload(decoded.success.payload as never, new Map())).toEqual(
      Result.succeed({ ...invocation, input: null }),
    )
  })

  it("records a decision a human must take with no output", async () => {
    const invocation: SkillInvocation = {
      ...(await triage("Hello")),
      outcome: "needs-human",
      provider: null,
      model: null,
      output: null,
      rawOutput: null,
      fallbackReason: "ollama model llama3.2:3b failed once; last: Timeout: slow",
    }
    const { payload, contents } = decisionPayload(input(invocation), defaultContentPolicy)
    expect(payload).toMatchObject({ outcome: "needs-human", output: null, rawOutput: null, provider: null })
    expect(invocationFromPayload(payload, new Map(contents.map((c) => [c.sha256, c.bytes])))).toEqual(
      Result.succeed(invocation),
    )
  })
})
