/**
 * A skill run as a decision made once per cause: a reaction that asks a model keys its decision by
 * the event it reacts to, so that a redelivery, a retry after a crash, or a second replica reads
 * the recorded decision back instead of asking the model again.
 */
import { canonicalJson, type DecisionRecorded, type EventEnvelope, type EventOf } from "@mesh/contracts"
import { CurrentReactionCause } from "@mesh/eventlog"
import { Clock, Effect } from "effect"
import type { ModelProvider } from "../modelProvider.ts"
import { type BatchSkill, itemInvocationOf } from "../skills/batch.ts"
import {
  encodeSkillInput,
  type RunSkillOptions,
  recallSkill,
  rerunSkill,
  runSkill,
  type Skill,
  type SkillInvocation,
  type SkillReplayError,
  type SkillRun,
} from "../skills/skill.ts"
import { type RetrievedMemoryRef, sha256Hex } from "./decisionContent.ts"
import { DecisionError, DecisionRecorder, decisionMetadata, type LoadedDecision } from "./decisionRecorder.ts"

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
  /**
   * Reuse the output of an earlier decision of this agent on the same input (same skill, skill
   * version, prompt version and canonical input hash) instead of asking a model: the decision is
   * still recorded for this cause, from provider `cache`, at no cost, naming the one it reused.
   * Only for background skills, and not with memories retrieved for the prompt (the input must
   * say everything the answer depends on).
   */
  readonly reuseByInput?: boolean
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

/** A recorded decision as the skill run it was, read back: its output, and the event that records it. */
const readBack = <I, O>(skill: Skill<I, O>, decisionId: string, loaded: LoadedDecision) =>
  Effect.map(
    recallSkill(skill, loaded.invocation),
    (run): Decided<O> => ({ ...run, decisionId, recalled: true, event: loaded.event }),
  )

/**
 * The id of the decision an event causes: the step (by default the skill's name) and the causing
 * event's id, e.g. `triageTicket-019a…`. Not the skill's version: a decision made before a deploy
 * stays made after it.
 */
export const decisionIdFor = (step: string, causeEventId: string): string => `${step}-${causeEventId}`

const encoder = new TextEncoder()

/** The SHA-256 of a skill input's canonical JSON, as a recorded decision's `input` names it. */
export const skillInputHash = <I, O>(skill: Skill<I, O>, input: I): string =>
  sha256Hex(encoder.encode(canonicalJson(encodeSkillInput(skill, input))))

/**
 * The key of the decision cache for an agent's skill run on an input: the agent, then a hash of
 * the skill's name, version, prompt version and input hash (a KV key takes no free text).
 */
export const decisionCacheKey = <I, O>(agent: string, skill: Skill<I, O>, input: I): string =>
  `${agent}.${sha256Hex(
    encoder.encode(
      canonicalJson([skill.name, skill.version, skill.promptVersion, skillInputHash(skill, input)]),
    ),
  )}`

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
    return yield* readBack(skill, decisionId, yield* recorder.load(agent, decisionId))
  })

  // A reaction on its event's first delivery, to a consumer that existed when the event was stored,
  // has recorded nothing yet: it skips the look (one read of the log per decision, two per customer
  // message on the shop's day). Were the decision there after all (an operator moved the consumer
  // back over its stream), recording it again is refused, and the recorded one is read back below:
  // the same decision, at the cost of the model call.
  const reacting = yield* CurrentReactionCause
  const nothingRecordedYet = reacting?.firstDelivery === true && reacting.eventId === cause.eventId
  const earlier = nothingRecordedYet
    ? null
    : yield* recall.pipe(Effect.catchReason("DecisionError", "DecisionNotFound", () => Effect.succeed(null)))
  if (earlier !== null) return earlier

  const cacheKey = options.reuseByInput === true ? yield* reusableKey(skill, input, options) : null
  const reused = cacheKey === null ? null : yield* reusableDecision(skill, input, agent, cacheKey)

  const runOptions: RunSkillOptions = options.model === undefined ? {} : { model: options.model }
  const run = reused?.run ?? (yield* runSkill(skill, input, runOptions))
  const decided = yield* recorder
    .record({
      agent,
      decisionId,
      invocation: run.invocation,
      retrieved: options.retrieved ?? [],
      metadata: decisionMetadata(cause, agent),
      ...(reused === null ? {} : { reusedDecisionId: reused.decisionId }),
    })
    .pipe(
      Effect.map((recorded): Decided<O> => ({ ...run, decisionId, recalled: false, event: recorded.event })),
      // Another delivery recorded first: its decision is the one made.
      Effect.catchReason("DecisionError", "AlreadyRecorded", () => recall),
    )
  // Only a model's own answer is filed: a fallback's or a person's turn is not worth repeating.
  if (cacheKey !== null && reused === null && !decided.recalled && run.invocation.outcome === "answered") {
    yield* recorder.remember(cacheKey, decisionId).pipe(
      // The cache saves money, it decides nothing: a bucket that cannot be written costs a model call later.
      Effect.catch((error) => Effect.logWarning(`decision ${decisionId} not cached: ${error.message}`)),
    )
  }
  return decided
})

const reusableKey = <I, O>(skill: Skill<I, O>, input: I, options: DecideOnceOptions) =>
  skill.workload === "background" && (options.retrieved ?? []).length === 0
    ? Effect.succeed(decisionCacheKey(options.agent, skill, input))
    : Effect.fail(
        new DecisionError({
          reason: {
            _tag: "InvalidDecision",
            message: `${skill.id} cannot reuse decisions by input: only a background skill whose prompt retrieves no memories may`,
          },
        }),
      )

/**
 * The run an earlier decision filed under `key` makes for this input, at no cost, or null when
 * there is none to reuse: nothing filed, a decision that cannot be read back, or one that is not
 * a model's answer to the same skill, versions and input. A miss of any kind asks the model.
 */
const reusableDecision = <I, O>(skill: Skill<I, O>, input: I, agent: string, key: string) =>
  Effect.gen(function* () {
    const recorder = yield* DecisionRecorder
    const started = yield* Clock.currentTimeMillis
    const miss = (why: string) => (error: DecisionError | SkillReplayError) =>
      Effect.as(Effect.logWarning(`decision cache ${why}: ${error.message}`), null)
    const filed = yield* recorder.cached(key).pipe(Effect.catch(miss("unreadable")))
    if (filed === null) return null
    const source = yield* recorder.load(agent, filed).pipe(Effect.catch(miss(`entry ${filed} unreadable`)))
    if (source === null) return null
    const p = source.event.payload
    const same =
      p.skill === skill.name &&
      p.skillVersion === skill.version &&
      p.promptVersion === skill.promptVersion &&
      p.outcome === "answered" &&
      p.input?.sha256 === skillInputHash(skill, input)
    if (!same) return null
    const finished = yield* Clock.currentTimeMillis
    const invocation: SkillInvocation = {
      ...source.invocation,
      provider: "cache",
      attempts: [],
      fallbackReason: null,
      promptTokens: 0,
      completionTokens: 0,
      latencyMs: finished - started,
      overBudget: false,
      costUsd: 0,
    }
    const run = yield* recallSkill(skill, invocation).pipe(Effect.catch(miss(`entry ${filed} undecodable`)))
    return run === null ? null : { decisionId: filed, run }
  })

/** One decision `decideEachOnce` makes: the input, and the event that causes (and keys) it. */
export interface DecisionToMake<I> {
  readonly input: I
  readonly cause: EventEnvelope
}

/**
 * `decideOnce` for several causes of one skill, in as few model calls as it takes: each cause's
 * decision already recorded is read back, each input decided before is reused (with
 * `reuseByInput`), and the rest are asked of the model together through the batch skill, up to its
 * `maxItems` a call. Each input still gets its own decision, keyed and caused by its own event
 * (the id `decideOnce` would give it, so a later `decideOnce` for that event reads it back), with
 * its share of the call's tokens and cost and the call it shared (`batch`). A decision another
 * delivery recorded first wins, as in `decideOnce`. The answers come back in the order asked.
 */
export const decideEachOnce = Effect.fn("decideEachOnce")(function* <I, O>(
  batch: BatchSkill<I, O>,
  toMake: ReadonlyArray<DecisionToMake<I>>,
  options: Omit<DecideOnceOptions, "cause" | "retrieved" | "model"> & { readonly model?: string },
) {
  const recorder = yield* DecisionRecorder
  const { item } = batch
  const step = options.step ?? item.name
  const decided = new Map<number, Decided<O>>()
  const ask: Array<number> = []
  for (const [index, entry] of toMake.entries()) {
    const decisionId = decisionIdFor(step, entry.cause.eventId)
    const loaded = yield* recorder
      .load(options.agent, decisionId)
      .pipe(Effect.catchReason("DecisionError", "DecisionNotFound", () => Effect.succeed(null)))
    const reusable =
      loaded === null && options.reuseByInput === true
        ? yield* reusableDecision(
            item,
            entry.input,
            options.agent,
            yield* reusableKey(item, entry.input, { ...options, cause: entry.cause }),
          )
        : null
    if (loaded !== null) {
      // Read back as it was loaded: handed to decideOnce, a reaction on its first delivery would not
      // look again, and would ask the model for a decision already made (a fork's copied history).
      decided.set(index, yield* readBack(item, decisionId, loaded))
    }
    // Made from an earlier decision on the same input: decideOnce does it without a model.
    else if (reusable !== null)
      decided.set(index, yield* decideOnce(item, entry.input, { ...options, cause: entry.cause }))
    else ask.push(index)
  }
  for (let from = 0; from < ask.length; from += batch.maxItems) {
    const chunk = ask.slice(from, from + batch.maxItems)
    // A lone input is asked by itself: its prompt is the item skill's own.
    if (chunk.length === 1) {
      const [only] = chunk as [number]
      const entry = toMake[only] as DecisionToMake<I>
      decided.set(only, yield* decideOnce(item, entry.input, { ...options, cause: entry.cause }))
      continue
    }
    const items = chunk.map((index) => (toMake[index] as DecisionToMake<I>).input)
    const runOptions: RunSkillOptions = options.model === undefined ? {} : { model: options.model }
    const run = yield* runSkill(batch, { items }, runOptions)
    const batchId = decisionIdFor(step, (toMake[chunk[0] as number] as DecisionToMake<I>).cause.eventId)
    for (const [position, index] of chunk.entries()) {
      const entry = toMake[index] as DecisionToMake<I>
      const decisionId = decisionIdFor(step, entry.cause.eventId)
      const invocation = itemInvocationOf(batch, run.invocation, items, position)
      const recall = Effect.gen(function* () {
        return yield* readBack(item, decisionId, yield* recorder.load(options.agent, decisionId))
      })
      const made = yield* recorder
        .record({
          agent: options.agent,
          decisionId,
          invocation,
          metadata: decisionMetadata(entry.cause, options.agent),
          batch: { id: batchId, index: position, size: chunk.length },
        })
        .pipe(
          Effect.flatMap((recorded) =>
            Effect.map(
              recallSkill(item, invocation),
              (ran): Decided<O> => ({
                ...ran,
                decisionId,
                recalled: false,
                event: recorded.event,
              }),
            ),
          ),
          Effect.catchReason("DecisionError", "AlreadyRecorded", () => recall),
        )
      if (options.reuseByInput === true && !made.recalled && invocation.outcome === "answered") {
        yield* recorder
          .remember(decisionCacheKey(options.agent, item, entry.input), decisionId)
          .pipe(
            Effect.catch((error) => Effect.logWarning(`decision ${decisionId} not cached: ${error.message}`)),
          )
      }
      decided.set(index, made)
    }
  }
  return toMake.map((_, index) => decided.get(index) as Decided<O>)
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
