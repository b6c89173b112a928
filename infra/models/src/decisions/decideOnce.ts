/**
 * A skill run as a decision made once per cause: a reaction that asks a model keys its decision by
 * the event it reacts to, so that a redelivery, a retry after a crash, or a second replica reads
 * the recorded decision back instead of asking the model again.
 */
import type { DecisionRecorded, EventEnvelope, EventOf } from "@mesh/contracts"
import { Effect } from "effect"
import type { ModelProvider } from "../modelProvider.ts"
import {
  type RunSkillOptions,
  recallSkill,
  rerunSkill,
  runSkill,
  type Skill,
  type SkillReplayError,
  type SkillRun,
} from "../skills/skill.ts"
import type { RetrievedMemoryRef } from "./decisionContent.ts"
import { DecisionError, DecisionRecorder, decisionMetadata } from "./decisionRecorder.ts"

/** What `decideOnce` needs besides the skill and its input. */
export interface DecideOnceOptions {
  /** The event the decision answers: it keys the decision, and the decision joins its causal chain. */
  readonly cause: EventEnvelope
  /** The deciding agent: the decision's subject (`<ns>.decisions.<agent>.<id>`) and its actor. */
  readonly agent: string
  /**
   * Tells apart the decisions one event causes in one agent (two skills, or one skill per line
   * item); the skill's name by default. A subject token of at most 91 characters.
   */
  readonly step?: string
  /** The memories the prompt was built from. */
  readonly retrieved?: ReadonlyArray<RetrievedMemoryRef>
  /** Use this model instead of the skill's (or the operator's) choice. */
  readonly model?: string
}

/** A decision made once: the skill run, its id, its event, and whether it was read back rather than made here. */
export interface Decided<O> extends SkillRun<O> {
  readonly decisionId: string
  /**
   * The decision was already recorded (a redelivery, a retry, a replica that decided first) and
   * this is its output; a model answer this call got meanwhile, if any, was discarded.
   */
  readonly recalled: boolean
  /** The `DecisionRecorded` event, whose id events and actions that follow from the decision cite. */
  readonly event: EventOf<typeof DecisionRecorded>
}

/**
 * The id of the decision an event causes: the step (by default the skill's name) and the causing
 * event's id, e.g. `triageTicket-019a…`. Not the skill's version: a decision made before a deploy
 * stays made after it.
 */
export const decisionIdFor = (step: string, causeEventId: string): string => `${step}-${causeEventId}`

/**
 * Runs a skill as the decision `options.cause` calls for, once: the first delivery asks the model
 * and records the decision (`DecisionRecorded`, correlated with the cause and caused by it); every
 * later delivery of the same event reads it back without asking a model. When two deliveries race
 * (two replicas, or a redelivery while the first is still deciding), the log takes the first
 * record and refuses the second, whose caller then returns the first's decision: both act on one
 * answer. A recorded decision wins over the input given now (it is what was decided).
 *
 * It needs decisions it can read back, so it refuses a recorder that keeps prompts or outputs as
 * hashes only.
 */
export const decideOnce = Effect.fn("decideOnce")(function* <I, O>(
  skill: Skill<I, O>,
  input: I,
  options: DecideOnceOptions,
) {
  const recorder = yield* DecisionRecorder
  const { agent, cause } = options
  const decisionId = decisionIdFor(options.step ?? skill.name, cause.eventId)
  if (recorder.policy.prompt.mode === "hash-only" || recorder.policy.output.mode === "hash-only") {
    return yield* new DecisionError({
      reason: {
        _tag: "InvalidDecision",
        message: `${skill.id} cannot be decided once: decisions kept as hashes only cannot be read back on redelivery`,
      },
    })
  }

  const recall = Effect.gen(function* () {
    const loaded = yield* recorder.load(agent, decisionId)
    const run = yield* recallSkill(skill, loaded.invocation)
    return { ...run, decisionId, recalled: true, event: loaded.event } satisfies Decided<O>
  })

  const earlier = yield* recall.pipe(
    Effect.catchReason("DecisionError", "DecisionNotFound", () => Effect.succeed(null)),
  )
  if (earlier !== null) return earlier

  const runOptions: RunSkillOptions = options.model === undefined ? {} : { model: options.model }
  const run = yield* runSkill(skill, input, runOptions)
  return yield* recorder
    .record({
      agent,
      decisionId,
      invocation: run.invocation,
      retrieved: options.retrieved ?? [],
      metadata: decisionMetadata(cause, agent),
    })
    .pipe(
      Effect.map((recorded): Decided<O> => ({ ...run, decisionId, recalled: false, event: recorded.event })),
      // Another delivery recorded first: its decision is the one made.
      Effect.catchReason("DecisionError", "AlreadyRecorded", () => recall),
    )
})

/**
 * Runs a recorded decision's input through another version of its skill (a new prompt, model or
 * schema), asking that version's model; nothing is written, so history can be compared with a
 * candidate without touching the log.
 */
export const rerunDecision = <I, O>(
  skill: Skill<I, O>,
  agent: string,
  decisionId: string,
  options: RunSkillOptions = {},
): Effect.Effect<SkillRun<O>, DecisionError | SkillReplayError, DecisionRecorder | ModelProvider> =>
  Effect.gen(function* () {
    const recorder = yield* DecisionRecorder
    const loaded = yield* recorder.load(agent, decisionId)
    return yield* rerunSkill(skill, loaded.invocation, options)
  }).pipe(Effect.withSpan("DecisionRecorder.rerun"))
