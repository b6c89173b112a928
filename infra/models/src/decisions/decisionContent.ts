/**
 * The pure core of recorded decisions: how a skill invocation becomes a `DecisionRecorded`
 * payload (each prompt and output inline, by content hash, or as a hash only, as the policy says)
 * and how a payload plus the stored content becomes the invocation again.
 */
import { createHash } from "node:crypto"
import { canonicalJson, type DecisionRecorded, type PayloadOf, type RecordedContent } from "@mesh/contracts"
import { Config, Result, Schema } from "effect"
import { SkillInvocation } from "../skills/skill.ts"
import { parseJson } from "../tasks.ts"

/** How one kind of content is recorded: always inline, by reference when larger than a size, or as its hash only. */
export type ContentMode =
  | { readonly mode: "inline" }
  | { readonly mode: "reference"; readonly aboveBytes: number }
  | { readonly mode: "hash-only" }

/**
 * How a decision's prompt and its outputs (raw and parsed) are recorded. The skill's input follows
 * the prompt's mode: the prompt is rendered from it, so both carry the same data.
 */
export interface DecisionContentPolicy {
  readonly prompt: ContentMode
  readonly output: ContentMode
}

/** Content up to 1 KiB rides in the event; larger content is stored once and referenced. */
export const defaultContentPolicy: DecisionContentPolicy = {
  prompt: { mode: "reference", aboveBytes: 1024 },
  output: { mode: "reference", aboveBytes: 1024 },
}

const modePattern = /^(inline|hash-only|reference(?:>(\d{1,9}))?)$/

/** Reads `inline`, `hash-only`, `reference` (above 1 KiB) or `reference>N` (above N bytes). */
export const parseContentMode = (text: string): Result.Result<ContentMode, string> => {
  const match = modePattern.exec(text.trim())
  if (match === null) return Result.fail(`"${text}" is not inline, hash-only, reference or reference>N`)
  if (match[1] === "inline") return Result.succeed({ mode: "inline" })
  if (match[1] === "hash-only") return Result.succeed({ mode: "hash-only" })
  return Result.succeed({ mode: "reference", aboveBytes: match[2] === undefined ? 1024 : Number(match[2]) })
}

const contentModeConfig = (name: string, fallback: ContentMode) =>
  Config.schema(
    Schema.String.check(
      Schema.isPattern(modePattern, { message: "must be inline, hash-only, reference or reference>N" }),
    ),
    name,
  ).pipe(
    // The pattern was checked, so parsing cannot fail here.
    Config.map((text) => Result.getOrElse(parseContentMode(text), () => fallback)),
    Config.withDefault(fallback),
  )

/** The policy from MESH_DECISION_PROMPTS and MESH_DECISION_OUTPUTS (each defaults to `reference>1024`). */
export const decisionContentPolicyConfig: Config.Config<DecisionContentPolicy> = Config.all({
  prompt: contentModeConfig("MESH_DECISION_PROMPTS", defaultContentPolicy.prompt),
  output: contentModeConfig("MESH_DECISION_OUTPUTS", defaultContentPolicy.output),
})

/** Lowercase hex SHA-256 of some bytes: the name content is stored under. */
export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** Content to keep in the object store under its hash. */
export interface ContentToStore {
  readonly sha256: string
  readonly bytes: Uint8Array
}

const encoder = new TextEncoder()
// Not fatal: bytes that match their hash were written from a string, so they are UTF-8.
const decoder = new TextDecoder()

/** How one text is recorded under a mode, and the bytes to store when it is recorded by reference. */
export const recordContent = (
  text: string,
  mode: ContentMode,
): { readonly ref: RecordedContent; readonly store: ContentToStore | null } => {
  const bytes = encoder.encode(text)
  const sha256 = sha256Hex(bytes)
  switch (mode.mode) {
    case "inline":
      return { ref: { _tag: "Inline", sha256, bytes: bytes.length, text }, store: null }
    case "hash-only":
      return { ref: { _tag: "HashOnly", sha256, bytes: bytes.length }, store: null }
    case "reference":
      return bytes.length > mode.aboveBytes
        ? { ref: { _tag: "Stored", sha256, bytes: bytes.length }, store: { sha256, bytes } }
        : { ref: { _tag: "Inline", sha256, bytes: bytes.length, text }, store: null }
  }
}

/** A memory the prompt was built from; a `MemoryHit` of @mesh/memory fits. */
export interface RetrievedMemoryRef {
  readonly id: string
  readonly kind: string
  readonly score: number
  readonly similarity: number
}

/** The payload of a `DecisionRecorded` event. */
export type DecisionPayload = PayloadOf<typeof DecisionRecorded>

/** What a decision records, before the policy places its content. */
export interface DecisionInput {
  readonly decisionId: string
  readonly agent: string
  readonly invocation: SkillInvocation
  readonly retrieved: ReadonlyArray<RetrievedMemoryRef>
  readonly decidedAt: string
  /** The earlier decision whose output a cached decision reused. */
  readonly reusedDecisionId?: string
  /** The model call it shared with other decisions (see `decideEachOnce`). */
  readonly batch?: DecisionBatch
}

/** The model call a decision shared: the batch's first decision, this one's place, and the batch's size. */
export interface DecisionBatch {
  readonly id: string
  readonly index: number
  readonly size: number
}

/**
 * The event payload of a decision and the content to store first, each piece once: a prompt or
 * an output that appears several times (the last attempt's raw output is the decision's) is
 * stored under one hash.
 */
export const decisionPayload = (
  input: DecisionInput,
  policy: DecisionContentPolicy,
): { readonly payload: DecisionPayload; readonly contents: ReadonlyArray<ContentToStore> } => {
  const contents = new Map<string, ContentToStore>()
  const place = (text: string, mode: ContentMode): RecordedContent => {
    const { ref, store } = recordContent(text, mode)
    if (store !== null) contents.set(store.sha256, store)
    return ref
  }
  const { invocation } = input
  const payload: DecisionPayload = {
    decisionId: input.decisionId,
    agent: input.agent,
    skill: invocation.skill,
    skillVersion: invocation.skillVersion,
    promptVersion: invocation.promptVersion,
    outcome: invocation.outcome,
    provider: invocation.provider,
    model: invocation.model,
    promptHash: invocation.promptHash,
    input:
      invocation.input === null || invocation.input === undefined
        ? null
        : place(canonicalJson(invocation.input), policy.prompt),
    prompt: place(canonicalJson(invocation.prompt), policy.prompt),
    retrieved: input.retrieved.map((memory) => ({
      memoryId: memory.id,
      kind: memory.kind,
      score: memory.score,
      similarity: memory.similarity,
    })),
    rawOutput: invocation.rawOutput === null ? null : place(invocation.rawOutput, policy.output),
    output:
      invocation.output === null || invocation.output === undefined
        ? null
        : place(canonicalJson(invocation.output), policy.output),
    attempts: invocation.attempts.map((attempt) => ({
      ...attempt,
      rawOutput: attempt.rawOutput === null ? null : place(attempt.rawOutput, policy.output),
    })),
    fallbackReason: invocation.fallbackReason,
    promptTokens: invocation.promptTokens,
    completionTokens: invocation.completionTokens,
    latencyMs: invocation.latencyMs,
    overBudget: invocation.overBudget,
    costUsd: invocation.costUsd,
    decidedAt: input.decidedAt,
    ...(input.reusedDecisionId === undefined ? {} : { reusedDecisionId: input.reusedDecisionId }),
    ...(input.batch === undefined ? {} : { batch: input.batch }),
  }
  return { payload, contents: Array.from(contents.values()) }
}

/** The hashes of the content a payload keeps in the object store, each once. */
export const storedHashes = (payload: DecisionPayload): ReadonlyArray<string> => {
  const refs = [
    payload.input,
    payload.prompt,
    payload.rawOutput,
    payload.output,
    ...payload.attempts.map((a) => a.rawOutput),
  ]
  const hashes = new Set<string>()
  for (const ref of refs) if (ref?._tag === "Stored") hashes.add(ref.sha256)
  return Array.from(hashes)
}

/** An object the event references is not in the store. */
export const ContentMissing = Schema.TaggedStruct("ContentMissing", { sha256: Schema.String })
/** Content read back does not hash to the name it was recorded under. */
export const ContentCorrupt = Schema.TaggedStruct("ContentCorrupt", {
  sha256: Schema.String,
  actualSha256: Schema.String,
})
/** The policy kept only the hash of this content, so it cannot be read back. */
export const ContentNotRecorded = Schema.TaggedStruct("ContentNotRecorded", { sha256: Schema.String })
/** Content was found but could not be read (the store failed mid-read, or it is not JSON). */
export const ContentUnreadable = Schema.TaggedStruct("ContentUnreadable", {
  sha256: Schema.String,
  message: Schema.String,
})
/** Why recorded content cannot be read back; every case names the content's hash. */
export type ContentIssue =
  | typeof ContentMissing.Type
  | typeof ContentCorrupt.Type
  | typeof ContentNotRecorded.Type
  | typeof ContentUnreadable.Type

/** A recorded decision that does not make a valid skill invocation. */
export const InvalidRecord = Schema.TaggedStruct("InvalidRecord", { message: Schema.String })
/** A recorded decision that does not make a valid skill invocation. */
export type InvalidRecord = typeof InvalidRecord.Type

const textOf = (
  ref: RecordedContent,
  stored: ReadonlyMap<string, Uint8Array | null>,
): Result.Result<string, ContentIssue> => {
  const { sha256 } = ref
  switch (ref._tag) {
    case "HashOnly":
      return Result.fail({ _tag: "ContentNotRecorded", sha256 })
    case "Inline": {
      const actualSha256 = sha256Hex(encoder.encode(ref.text))
      return actualSha256 === sha256
        ? Result.succeed(ref.text)
        : Result.fail({ _tag: "ContentCorrupt", sha256, actualSha256 })
    }
    case "Stored": {
      const bytes = stored.get(sha256)
      if (bytes === undefined || bytes === null) return Result.fail({ _tag: "ContentMissing", sha256 })
      const actualSha256 = sha256Hex(bytes)
      if (actualSha256 !== sha256) return Result.fail({ _tag: "ContentCorrupt", sha256, actualSha256 })
      return Result.succeed(decoder.decode(bytes))
    }
  }
}

const jsonOf = (
  ref: RecordedContent,
  stored: ReadonlyMap<string, Uint8Array | null>,
): Result.Result<unknown, ContentIssue> =>
  Result.flatMap(textOf(ref, stored), (text) => {
    const json = parseJson(text)
    return json === undefined
      ? Result.fail({ _tag: "ContentUnreadable", sha256: ref.sha256, message: "not JSON" })
      : Result.succeed(json)
  })

const optional = <A>(
  ref: RecordedContent | null,
  read: (ref: RecordedContent) => Result.Result<A, ContentIssue>,
): Result.Result<A | null, ContentIssue> => (ref === null ? Result.succeed(null) : read(ref))

const decodeInvocation = Schema.decodeUnknownResult(SkillInvocation)

/**
 * The skill invocation a decision recorded, its content read back from the event (inline) or from
 * `stored` (fetched by hash; null when the store has no such object). Every piece is checked
 * against its hash, so a corrupt or swapped object is named rather than replayed.
 */
export const invocationFromPayload = (
  payload: DecisionPayload,
  stored: ReadonlyMap<string, Uint8Array | null>,
): Result.Result<SkillInvocation, ContentIssue | InvalidRecord> => {
  const read = Result.gen(function* () {
    const text = (ref: RecordedContent) => textOf(ref, stored)
    const json = (ref: RecordedContent) => jsonOf(ref, stored)
    const attempts: Array<unknown> = []
    for (const attempt of payload.attempts) {
      attempts.push({ ...attempt, rawOutput: yield* optional(attempt.rawOutput, text) })
    }
    const prompt = yield* json(payload.prompt)
    return {
      skill: payload.skill,
      skillVersion: payload.skillVersion,
      promptVersion: payload.promptVersion,
      outcome: payload.outcome,
      provider: payload.provider,
      model: payload.model,
      promptHash: payload.promptHash,
      input: yield* optional(payload.input, json),
      prompt,
      rawOutput: yield* optional(payload.rawOutput, text),
      output: yield* optional(payload.output, json),
      attempts,
      fallbackReason: payload.fallbackReason,
      promptTokens: payload.promptTokens,
      completionTokens: payload.completionTokens,
      latencyMs: payload.latencyMs,
      overBudget: payload.overBudget,
      costUsd: payload.costUsd,
    }
  })
  if (Result.isFailure(read)) return Result.fail(read.failure)
  const decoded = decodeInvocation(read.success)
  return Result.isSuccess(decoded)
    ? Result.succeed(decoded.success)
    : Result.fail({ _tag: "InvalidRecord", message: decoded.failure.message })
}
