import { canonicalJson } from "@mesh/contracts"
import type { SkillInvocation } from "@mesh/models"

// A counterfactual of a model-backed step: a recorded decision's input run through another version
// of its skill (a new prompt, model or schema) and its answer set beside the recorded one.

/** What a run answered, as the diff compares it: decided or left to a person, and the output. */
export interface SkillAnswer {
  readonly skillVersion: number
  readonly promptVersion: string
  readonly outcome: string
  readonly output: unknown
}

/** A recorded decision whose re-run answers otherwise. */
export interface SkillChange {
  readonly sequence: number
  readonly decisionId: string
  readonly agent: string
  readonly skill: string
  readonly correlationId: string
  /** The output's top-level fields that differ (`outcome` when one run decided and the other did not). */
  readonly fields: ReadonlyArray<string>
  readonly recorded: SkillAnswer
  readonly candidate: SkillAnswer
  /** The actions the recorded decision caused: what a changed answer would have reached. */
  readonly actions: ReadonlyArray<{ readonly actionId: string; readonly kind: string }>
}

export const answerOf = (invocation: SkillInvocation): SkillAnswer => ({
  skillVersion: invocation.skillVersion,
  promptVersion: invocation.promptVersion,
  outcome: invocation.outcome,
  output: invocation.output,
})

const decided = (answer: SkillAnswer): boolean => answer.outcome !== "needs-human"

/**
 * Where two answers differ: `outcome` when one decided and the other left it to a person, else the
 * output's top-level fields whose canonical JSON differs; empty when they agree. A fallback and a
 * first-choice answer that say the same agree: the decision is what was answered, not who answered.
 */
export const differingFields = (recorded: SkillAnswer, candidate: SkillAnswer): ReadonlyArray<string> => {
  if (decided(recorded) !== decided(candidate)) return ["outcome"]
  if (!decided(recorded)) return []
  const a = recorded.output
  const b = candidate.output
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object" || Array.isArray(a))
    return canonicalJson(a) === canonicalJson(b) ? [] : ["output"]
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
  return keys.filter(
    (key) =>
      canonicalJson((a as Record<string, unknown>)[key] ?? null) !==
      canonicalJson((b as Record<string, unknown>)[key] ?? null),
  )
}
