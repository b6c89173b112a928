import { type ActionRequested, type DecisionRecorded, type PayloadOf, parametersHash } from "@mesh/contracts"

const zeroHash = "0".repeat(64)
const inline = (text: string) => ({ _tag: "Inline" as const, sha256: zeroHash, bytes: text.length, text })

/** A `DecisionRecorded` payload with the cost, tokens and latency a cost report reads, the rest filler. */
export const sampleDecisionPayload = (options: {
  readonly decisionId: string
  readonly agent: string
  readonly costUsd: number
  readonly latencyMs: number
  readonly decidedAt: string
  readonly skill?: string
}): PayloadOf<typeof DecisionRecorded> => ({
  decisionId: options.decisionId,
  agent: options.agent,
  skill: options.skill ?? "draftListing",
  skillVersion: 1,
  promptVersion: "v1",
  outcome: "answered",
  provider: "ollama",
  model: "llama3.2:3b",
  promptHash: zeroHash,
  input: inline("{}"),
  prompt: inline("{}"),
  retrieved: [],
  rawOutput: inline("{}"),
  output: inline("{}"),
  attempts: [],
  fallbackReason: null,
  promptTokens: 100,
  completionTokens: 50,
  latencyMs: options.latencyMs,
  overBudget: false,
  costUsd: options.costUsd,
  decidedAt: options.decidedAt,
})

/** An `ActionRequested` payload an auto policy let through, caused by `decisionId`. */
export const sampleRequestPayload = (options: {
  readonly actionId: string
  readonly agent: string
  readonly decisionId: string | null
  readonly requestedAt: string
  readonly kind?: string
}): PayloadOf<typeof ActionRequested> => {
  const parameters = { id: options.actionId }
  return {
    actionId: options.actionId,
    agent: options.agent,
    skill: "draftListing",
    kind: options.kind ?? "storefront.publish-listing",
    parameters,
    parametersHash: parametersHash(parameters),
    cause: { decisionId: options.decisionId, eventId: null },
    policy: {
      workflow: "test",
      version: "1",
      verdict: { mode: "auto", reason: "test", rule: "test" },
      inputs: {
        amount: null,
        confidence: null,
        sentiment: null,
        firstTimeSupplier: null,
        actionsLastHour: 0,
        spendToday: null,
      },
    },
    saga: null,
    compensation: null,
    maxAttempts: 3,
    requestedAt: options.requestedAt,
  }
}
