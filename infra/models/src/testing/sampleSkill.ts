import { NonEmpty } from "@mesh/contracts"
import { type Result, Schema } from "effect"
import type { ModelError } from "../modelError.ts"
import { batchTaskPrompt, defineBatchSkill } from "../skills/batch.ts"
import { taskPrompt } from "../skills/prompt.ts"
import { defineSkill, offlineAnswer } from "../skills/skill.ts"

// A small skill for the machinery's own tests: it sorts a message by topic and says whether a person must see it.
// It has what the machinery handles (an input and an output schema, a prompt in the mesh's protocol, proposed
// actions checked against an allow-list, a check of its own, abstention, two versions, a declared offline
// implementation and a variant that falls back to a person) and nothing of any agent's domain: infra never imports a
// service's skills, not even in tests.

/** A message as the sample skill reads it. */
export const SampleMessage = Schema.Struct({ subject: Schema.String, body: Schema.String })
/** A message as the sample skill reads it. */
export type SampleMessage = typeof SampleMessage.Type

/** What a message is about. */
export const SampleTopic = Schema.Literals(["refund", "delivery", "other"])
/** What a message is about. */
export type SampleTopic = typeof SampleTopic.Type

/** What the sample skill answers. */
export const SampleSorting = Schema.Struct({
  topic: SampleTopic,
  /** A person must see it; `reason` says why. */
  urgent: Schema.Boolean,
  reason: Schema.NullOr(NonEmpty),
  confidence: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  /** The actions it proposes; only `reply` and `refund` are allowed. */
  actions: Schema.Array(Schema.Literals(["reply", "refund", "escalate"])),
  /** Why it declined to sort the message (null or absent: it did not). */
  abstention: Schema.optionalKey(Schema.NullOr(NonEmpty)),
})
/** What the sample skill answers. */
export type SampleSorting = typeof SampleSorting.Type

const words = (message: SampleMessage) => `${message.subject} ${message.body}`.toLowerCase()

const URGENT: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(fire|sparks?|burn)/, "safety"],
  [/\b(lawyer|court|sue)\b/, "legal"],
]

/** The sample skill's offline answer: keyword rules, deterministic, abstaining on a message with no words. */
export const sortMessageOffline = (message: SampleMessage): SampleSorting => {
  const text = words(message)
  const topic: SampleTopic = /\b(refund|money back)/.test(text)
    ? "refund"
    : /\b(parcel|deliver|where is|tracking|arrive)/.test(text)
      ? "delivery"
      : "other"
  const reason = URGENT.find(([pattern]) => pattern.test(text))?.[1] ?? null
  return {
    topic,
    urgent: reason !== null,
    reason,
    confidence: topic === "other" ? 0.5 : 0.9,
    actions: topic === "refund" ? ["reply", "refund"] : ["reply"],
    abstention: /\p{L}/u.test(text) ? null : "the message has no words",
  }
}

const instructions = [
  "You sort customer messages for an online shop.",
  "topic: refund (wants money back), delivery (where or when is an order), other (anything else).",
  "urgent: true, with the reason (safety or legal), when a safety incident or legal action is mentioned.",
  "actions: reply, and refund when the customer wants money back.",
]

/** Version 1 of the sample skill. */
export const sortMessageV1 = defineSkill({
  name: "sortMessage",
  version: 1,
  promptVersion: "sort-1",
  description: "Sort a customer message by topic and say whether a person must see it.",
  input: SampleMessage,
  template: (input) => taskPrompt("sort_message", 1, instructions, "Sort this message.", input),
  output: SampleSorting,
  preferredModel: "llama3.2:3b",
  allowedActions: ["reply", "refund"],
  latencyBudgetMs: 15_000,
  fallback: "offline",
  actionsOf: (output) => output.actions,
  check: (_input, output) => (output.urgent && output.reason === null ? "urgent without a reason" : null),
  abstention: (output) => output.abstention ?? null,
  offline: sortMessageOffline,
})

/** Version 2 of the sample skill: the same task with one more instruction, so its prompt differs. */
export const sortMessage = defineSkill({
  ...sortMessageV1,
  version: 2,
  promptVersion: "sort-2",
  template: (input) =>
    taskPrompt(
      "sort_message",
      2,
      [...instructions, "abstention: null when you can sort the message; otherwise why you cannot."],
      "Sort this message.",
      input,
    ),
})

/** The sample skill with a person as its fallback: when its model fails, nobody else answers and a human decides. */
export const sortMessageByHuman = defineSkill({ ...sortMessage, fallback: "human" })

/** The sample skill as background work, which may be batched and reused by input. */
export const sortInBackground = defineSkill({ ...sortMessage, workload: "background" })

/** Several messages sorted in one call, up to four. */
export const sortMessagesBatch = defineBatchSkill(sortInBackground, {
  promptVersion: "sort-batch-1",
  template: batchTaskPrompt(
    "sort_message",
    2,
    [...instructions, "abstention: null when you can sort the message; otherwise why you cannot."],
    "Sort these messages.",
  ),
  maxItems: 4,
})

/** The fake model's answers to the sample skill's prompts: its offline implementation (see startFakeOllama). */
export const sampleTaskAnswers = {
  sort_message: (input: unknown): Result.Result<unknown, ModelError> => offlineAnswer(sortMessage, input),
  sort_message_batch: (input: unknown): Result.Result<unknown, ModelError> =>
    offlineAnswer(sortMessagesBatch, input),
}
