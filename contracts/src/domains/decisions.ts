import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Instant } from "../envelope.ts"
import { personal } from "../personal.ts"
import { anyAggregateType, SubjectToken } from "../subjects.ts"
import { Sha256Hex } from "./actions.ts"
import { NonEmpty } from "./common.ts"

// The decisions domain is a platform domain: its aggregate type is the owning agent, so a decision's
// subject is `mesh.decisions.<agent>.<decisionId>`. A decision is one event, written once.
const domain = "decisions" as const
const aggregateType = anyAggregateType

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/** The id of a recorded decision: its aggregate id, which actions and domain events cite. */
export const DecisionId = SubjectToken

/** How a skill run ended: the model answered, a fallback answered, or a human must decide. */
export const DecisionOutcome = Schema.Literals(["answered", "fell-back", "needs-human"])
/** How a skill run ended. */
export type DecisionOutcome = typeof DecisionOutcome.Type

/** Content written into the event itself, with its hash and size. */
export const InlineContent = Schema.TaggedStruct("Inline", {
  sha256: Sha256Hex,
  bytes: Count,
  text: Schema.String,
})

/** Content kept once in the namespace's object store under its hash; the event holds the reference. */
export const StoredContent = Schema.TaggedStruct("Stored", { sha256: Sha256Hex, bytes: Count })

/** Content deliberately not kept (a privacy policy): only its hash and size are recorded. */
export const HashOnlyContent = Schema.TaggedStruct("HashOnly", { sha256: Sha256Hex, bytes: Count })

/** A prompt or model output as a decision records it: inline, by content hash, or as a hash only. */
export const RecordedContent = Schema.Union([InlineContent, StoredContent, HashOnlyContent])
/** A prompt or model output as a decision records it. */
export type RecordedContent = typeof RecordedContent.Type

/**
 * Decision content that can hold what a customer wrote (a prompt quotes the message, a reply
 * drafts to them): redacted from exported history to its hash, as the hash-only policy keeps it.
 */
const PersonalContent = personal("content")(RecordedContent)

/** A memory the prompt was built from, with how well it matched. */
export const RetrievedMemory = Schema.Struct({
  memoryId: NonEmpty,
  kind: NonEmpty,
  /** The rank score of the search (cosine similarity, or the fused relevance of a hybrid search). */
  score: Schema.Finite,
  /** Cosine similarity between the query and the memory. */
  similarity: Schema.Finite,
})
/** A memory the prompt was built from. */
export type RetrievedMemory = typeof RetrievedMemory.Type

/** One model call made while deciding. */
export const DecisionAttempt = Schema.Struct({
  attempt: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  provider: NonEmpty,
  model: Schema.String,
  result: Schema.Literals(["valid", "invalid-output", "model-error"]),
  detail: Schema.NullOr(Schema.String),
  rawOutput: Schema.NullOr(PersonalContent),
  promptTokens: Count,
  completionTokens: Count,
  latencyMs: NonNegative,
})
/** One model call made while deciding. */
export type DecisionAttempt = typeof DecisionAttempt.Type

/**
 * A model-backed step decided: everything needed to explain it, to replay it without a model, and
 * to run its input through a newer prompt. Version 2 added the input; a version-1 decision reads
 * with `input: null`.
 */
export const DecisionRecorded = defineEvent({
  type: "DecisionRecorded",
  domain,
  aggregateType,
  version: 2,
  payload: Schema.Struct({
    decisionId: DecisionId,
    agent: SubjectToken,
    skill: NonEmpty,
    skillVersion: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    promptVersion: NonEmpty,
    outcome: DecisionOutcome,
    /** Who produced the output; null when nobody did (a human must decide). */
    provider: Schema.NullOr(NonEmpty),
    model: Schema.NullOr(Schema.String),
    /** The skill's hash of the rendered prompt, to compare decisions made on the same prompt. */
    promptHash: Sha256Hex,
    /** The skill's input, encoded by its input schema, as canonical JSON; null when not recorded (version 1). */
    input: Schema.NullOr(PersonalContent),
    /** The rendered prompt `{ system, user }` as canonical JSON. */
    prompt: PersonalContent,
    retrieved: Schema.Array(RetrievedMemory),
    /** The answer the output was parsed from, as the model wrote it. */
    rawOutput: Schema.NullOr(PersonalContent),
    /** The validated output as canonical JSON; null when a human must decide. */
    output: Schema.NullOr(PersonalContent),
    attempts: Schema.Array(DecisionAttempt),
    fallbackReason: Schema.NullOr(Schema.String),
    promptTokens: Count,
    completionTokens: Count,
    latencyMs: NonNegative,
    overBudget: Schema.Boolean,
    costUsd: NonNegative,
    decidedAt: Instant,
    /**
     * The earlier decision whose output this one reused without calling a model (provider `cache`:
     * the same skill, skill and prompt version and input); absent when a model or a person decided.
     */
    reusedDecisionId: Schema.optionalKey(DecisionId),
    /**
     * The model call this decision shared with others of its skill (a batch): the first decision of
     * the batch names it, this one's place in it, and how many shared it. Its tokens and cost are
     * its share; its prompt and raw output are the whole call's. Absent for a call of its own.
     */
    batch: Schema.optionalKey(
      Schema.Struct({
        id: DecisionId,
        index: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
        size: Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)),
      }),
    ),
  }),
  upcasters: {
    1: (v1) => ({ ...(v1 as object), input: null }),
  },
  summary: "A model-backed step decided; its input, prompt, memories and outputs.",
  producer: "any agent",
  consumers: ["decision replay"],
})

/** Every public event of the decisions domain. */
export const decisionEvents = [DecisionRecorded] as const
