import { createHash } from "node:crypto"
import { DecisionOutcome } from "@mesh/contracts"
import { Clock, Effect, Result, Schema } from "effect"
import { estimateCostUsd, type SkillWorkload } from "../config.ts"
import { ModelError, ProviderName } from "../modelError.ts"
import { type ChatResult, ModelProvider, type ModelProviderShape } from "../modelProvider.ts"
import { makeOfflineProvider, OFFLINE_CHAT_MODEL } from "../offline/provider.ts"
import { approximateTokenCount } from "../offline/text.ts"
import { parseJson } from "../tasks.ts"

/** A rendered prompt. */
export interface SkillPrompt {
  readonly system: string
  readonly user: string
}

/** What happens when a skill's model keeps failing: the offline model answers, or a human must. */
export type SkillFallback = "offline" | "human"

/**
 * What a skill author writes. `A` names the actions it may propose: an agent declares them in one map, each to the
 * gated action kind it asks for, and defines its skills so that they can allow only those.
 */
export interface SkillDefinition<I, O, A extends string = string> {
  /** A stable name, e.g. "triageTicket". */
  readonly name: string
  /** Bumped whenever prompt, schema or model change in a way that can change answers. */
  readonly version: number
  /** The version of the prompt template. */
  readonly promptVersion: string
  /** One line on what the skill does. */
  readonly description: string
  /** The skill's typed input. */
  readonly input: Schema.Codec<I, unknown>
  /** Renders the prompt; a pure function of the input. */
  readonly template: (input: I) => SkillPrompt
  /** The schema every answer must satisfy. */
  readonly output: Schema.Codec<O, unknown>
  /** The model the skill was tuned for (an operator-pinned model overrides it). */
  readonly preferredModel: string
  /**
   * What its calls wait on, `interactive` (a person, the default) or `background` (a workflow that
   * trades latency for cost); the operator maps each workload to a model.
   */
  readonly workload?: SkillWorkload
  /** The actions the skill may propose; an answer proposing anything else is invalid. */
  readonly allowedActions: ReadonlyArray<A>
  /** The time a model call may take; also the call's timeout. */
  readonly latencyBudgetMs: number
  /** Who answers when the model fails twice. */
  readonly fallback: SkillFallback
  /** Sampling temperature; 0 unless said otherwise, so answers repeat. */
  readonly temperature?: number
  /** The actions an answer proposes, checked against allowedActions. */
  readonly actionsOf?: (output: O) => ReadonlyArray<string>
  /** Checks beyond the schema that need the input (e.g. cited ids exist); returns what is wrong, or null. */
  readonly check?: (input: I, output: O) => string | null
  /**
   * Whether a valid answer declines to decide, and why (null: it decides). An abstaining answer is not acted
   * on: the run ends as needs-human with the model's reason, and the answer stays in the record.
   */
  readonly abstention?: (output: O) => string | null
  /**
   * The skill's own offline implementation: how the offline model answers it, from the decoded input, without
   * reading the prompt. A skill without one cannot be answered offline (the run records why). It may throw a
   * ModelError when it cannot run (a model file that cannot be loaded); the run records that as a failed call.
   */
  readonly offline?: (input: I) => O
}

/** A defined skill: its definition plus the JSON schema sent to the model as the output format. */
export interface Skill<I, O, A extends string = string> extends SkillDefinition<I, O, A> {
  /** name@version. */
  readonly id: string
  /** The output schema as JSON Schema, for structured output. */
  readonly format: Readonly<Record<string, unknown>>
}

/** Defines a named, versioned skill. */
export const defineSkill = <I, O, A extends string = string>(
  definition: SkillDefinition<I, O, A>,
): Skill<I, O, A> => {
  const document = Schema.toJsonSchemaDocument(definition.output)
  return {
    ...definition,
    id: `${definition.name}@${definition.version}`,
    format: document.schema as Readonly<Record<string, unknown>>,
  }
}

/** One call made while running a skill. */
export const SkillAttempt = Schema.Struct({
  attempt: Schema.Int,
  provider: ProviderName,
  model: Schema.String,
  result: Schema.Literals(["valid", "invalid-output", "model-error"]),
  detail: Schema.NullOr(Schema.String),
  rawOutput: Schema.NullOr(Schema.String),
  promptTokens: Schema.Int,
  completionTokens: Schema.Int,
  latencyMs: Schema.Finite,
})
/** One call made while running a skill. */
export type SkillAttempt = typeof SkillAttempt.Type

/** How a skill run ended: the model answered, a fallback answered, or a human must decide (as a decision records it). */
export const SkillOutcome = DecisionOutcome
/** How a skill run ended. */
export type SkillOutcome = typeof SkillOutcome.Type

/**
 * Who produced a run's output: a model provider, or `cache` for an earlier decision's output reused
 * on the same input (see `decideOnce`'s `reuseByInput`).
 */
export const InvocationSource = Schema.Literals(["ollama", "offline", "cache"])
/** Who produced a run's output. */
export type InvocationSource = typeof InvocationSource.Type

/** The record of one skill run, fit to be an event payload. */
export const SkillInvocation = Schema.Struct({
  skill: Schema.String,
  skillVersion: Schema.Int,
  promptVersion: Schema.String,
  outcome: SkillOutcome,
  /** Who produced the output (null when nobody did). */
  provider: Schema.NullOr(InvocationSource),
  model: Schema.NullOr(Schema.String),
  /** sha256 (hex) of the rendered prompt. */
  promptHash: Schema.String,
  /** The skill's input, encoded by its input schema, so that a newer prompt can be rendered against it (null when not recorded). */
  input: Schema.Unknown,
  prompt: Schema.Struct({ system: Schema.String, user: Schema.String }),
  rawOutput: Schema.NullOr(Schema.String),
  /** The validated output, encoded (null for needs-human). */
  output: Schema.Unknown,
  attempts: Schema.Array(SkillAttempt),
  fallbackReason: Schema.NullOr(Schema.String),
  promptTokens: Schema.Int,
  completionTokens: Schema.Int,
  latencyMs: Schema.Finite,
  overBudget: Schema.Boolean,
  costUsd: Schema.Finite,
})
/** The record of one skill run. */
export type SkillInvocation = typeof SkillInvocation.Type

/** A skill run: the record, and the typed output (null when a human must decide). */
export interface SkillRun<O> {
  readonly invocation: SkillInvocation
  readonly output: O | null
}

/** A recorded invocation cannot be replayed with this skill. */
export class SkillReplayError extends Schema.TaggedError<SkillReplayError>()("SkillReplayError", {
  skill: Schema.String,
  message: Schema.String,
}) {}

/** sha256 (hex) of a rendered prompt. */
export const promptHash = (prompt: SkillPrompt): string =>
  createHash("sha256").update(`${prompt.system}\n\n${prompt.user}`).digest("hex")

/** Validates a model's raw answer: JSON, the output schema, allowed actions and the skill's own check. */
export const validateSkillOutput = <I, O>(
  skill: Skill<I, O>,
  input: I,
  raw: string,
): Result.Result<O, string> => {
  const json = parseJson(raw.trim())
  if (json === undefined) return Result.fail(`not JSON: ${raw.slice(0, 80)}`)
  const decoded = Schema.decodeUnknownResult(skill.output)(json)
  if (Result.isFailure(decoded))
    return Result.fail(`does not match the output schema: ${decoded.failure.message}`)
  const output = decoded.success
  const forbidden = (skill.actionsOf?.(output) ?? []).filter(
    (action) => !skill.allowedActions.includes(action),
  )
  if (forbidden.length > 0)
    return Result.fail(`proposes actions the skill may not take: ${forbidden.join(", ")}`)
  const problem = skill.check?.(input, output) ?? null
  return problem === null ? Result.succeed(output) : Result.fail(problem)
}

const encodeOutput = <I, O>(skill: Skill<I, O>, output: O): unknown => {
  const encoded = Schema.encodeUnknownResult(skill.output)(output)
  return Result.isSuccess(encoded) ? encoded.success : output
}

/** A skill's input encoded by its input schema, as a run records it. */
export const encodeSkillInput = <I, O>(skill: Skill<I, O>, input: I): unknown => {
  const encoded = Schema.encodeUnknownResult(skill.input)(input)
  return Result.isSuccess(encoded) ? encoded.success : input
}

const offlineProvider = makeOfflineProvider()

const offlineError = (reason: ModelError["reason"], message: string) =>
  new ModelError({ reason, provider: "offline", model: OFFLINE_CHAT_MODEL, message })

/**
 * A skill's offline answer: its declared `offline` implementation run on the input decoded by the skill's input
 * schema, or why the offline model cannot answer (no implementation, an invalid input, a model that cannot be
 * loaded). The prompt is never read. Anything else the implementation throws is a bug, and is rethrown.
 */
export const offlineAnswer = <I, O>(skill: Skill<I, O>, input: unknown): Result.Result<O, ModelError> => {
  const offline = skill.offline
  if (offline === undefined)
    return Result.fail(offlineError("Unsupported", `skill ${skill.id} declares no offline implementation`))
  const decoded = Schema.decodeUnknownResult(skill.input)(input)
  if (Result.isFailure(decoded))
    return Result.fail(
      offlineError("InvalidRequest", `input of ${skill.id} is invalid: ${decoded.failure.message}`),
    )
  const answered = Result.try(() => offline(decoded.success))
  if (Result.isSuccess(answered)) return Result.succeed(answered.success)
  if (answered.failure instanceof ModelError) return Result.fail(answered.failure)
  throw answered.failure
}

// The offline model's answer, recorded like a chat: the output as JSON text, approximate token counts of the
// rendered prompt and of the answer, and the time taken.
const answerOffline = Effect.fn("Skill.answerOffline")(function* <I, O>(
  skill: Skill<I, O>,
  input: I,
  prompt: SkillPrompt,
) {
  const started = yield* Clock.currentTimeMillis
  const output = yield* Effect.fromResult(offlineAnswer(skill, input))
  const content = JSON.stringify(output)
  const finished = yield* Clock.currentTimeMillis
  const result: ChatResult = {
    content,
    model: OFFLINE_CHAT_MODEL,
    provider: "offline",
    promptTokens: approximateTokenCount(`${prompt.system}\n${prompt.user}`),
    completionTokens: approximateTokenCount(content),
    latencyMs: finished - started,
  }
  return result
})

/** Options of a skill run. */
export interface RunSkillOptions {
  /** Use this model instead of the skill's (or the operator's) choice. */
  readonly model?: string
}

/**
 * Runs a skill: renders the prompt, asks the model, validates the answer; an invalid answer is retried once, then
 * (like a failed call) the skill falls back to the offline model or to a human, with the reason recorded. The
 * offline model (as the provider or the fallback) is the skill's declared `offline` implementation, called
 * directly; its answer is recorded and validated like any model's.
 */
export const runSkill = <I, O>(skill: Skill<I, O>, input: I, options: RunSkillOptions = {}) =>
  Effect.gen(function* () {
    const provider = yield* ModelProvider
    return yield* runSkillWith(provider, skill, input, options)
  })

/** runSkill with an explicit provider instead of the ModelProvider service. */
export const runSkillWith = Effect.fn("Skill.run")(function* <I, O>(
  provider: ModelProviderShape,
  skill: Skill<I, O>,
  input: I,
  options: RunSkillOptions = {},
) {
  const started = yield* Clock.currentTimeMillis
  const prompt = skill.template(input)
  const attempts: Array<SkillAttempt> = []

  const ask = Effect.fn("Skill.ask")(function* (using: ModelProviderShape, model: string) {
    const attempt = attempts.length + 1
    const answer = yield* Effect.result(
      using.provider === "offline"
        ? answerOffline(skill, input, prompt)
        : using.chat({
            model,
            system: prompt.system,
            messages: [{ role: "user", content: prompt.user }],
            format: skill.format,
            temperature: skill.temperature ?? 0,
            timeoutMs: skill.latencyBudgetMs,
          }),
    )
    if (Result.isFailure(answer)) {
      const error: ModelError = answer.failure
      attempts.push({
        attempt,
        provider: using.provider,
        model,
        result: "model-error",
        detail: `${error.reason}: ${error.message}`,
        rawOutput: null,
        promptTokens: 0,
        completionTokens: 0,
        latencyMs: 0,
      })
      return { ok: false as const, retryable: false, detail: `${error.reason}: ${error.message}` }
    }
    const chat: ChatResult = answer.success
    const validated = validateSkillOutput(skill, input, chat.content)
    attempts.push({
      attempt,
      provider: chat.provider,
      model: chat.model,
      result: Result.isSuccess(validated) ? "valid" : "invalid-output",
      detail: Result.isSuccess(validated) ? null : validated.failure,
      rawOutput: chat.content,
      promptTokens: chat.promptTokens,
      completionTokens: chat.completionTokens,
      latencyMs: chat.latencyMs,
    })
    return Result.isSuccess(validated)
      ? { ok: true as const, output: validated.success, chat }
      : { ok: false as const, retryable: true, detail: `invalid output: ${validated.failure}` }
  })

  const model =
    options.model ?? provider.resolveChatModel(skill.preferredModel, skill.workload ?? "interactive")
  let answered = yield* ask(provider, model)
  if (!answered.ok && answered.retryable) answered = yield* ask(provider, model)

  let outcome: SkillOutcome = "answered"
  let fallbackReason: string | null = null
  if (!answered.ok) {
    const tries = attempts.length
    fallbackReason = `${provider.provider} model ${model} failed ${tries === 1 ? "once" : `${tries} times`}; last: ${answered.detail}`
    if (skill.fallback === "offline" && provider.provider !== "offline") {
      const offline = yield* ask(offlineProvider, offlineProvider.resolveChatModel(skill.preferredModel))
      answered = offline
      outcome = offline.ok ? "fell-back" : "needs-human"
      if (!offline.ok) fallbackReason = `${fallbackReason}; offline fallback failed: ${offline.detail}`
    } else {
      outcome = "needs-human"
    }
  }

  // A valid answer that abstains goes to a human with the model's own reason; a stronger model has already had
  // its turn when one is configured (the offline model answers only when none is, or as the fallback).
  const abstained = answered.ok ? (skill.abstention?.(answered.output) ?? null) : null
  if (answered.ok && abstained !== null) {
    outcome = "needs-human"
    const abstention = `${answered.chat.provider} model ${answered.chat.model} abstained: ${abstained}`
    // After a fallback, the primary model's failure stays in the record beside the abstention.
    fallbackReason = fallbackReason === null ? abstention : `${fallbackReason}; ${abstention}`
  }
  const decided = answered.ok && abstained === null

  const finished = yield* Clock.currentTimeMillis
  const latencyMs = finished - started
  const costUsd = attempts.reduce(
    (sum, a) =>
      sum +
      estimateCostUsd(
        a.provider === "offline" ? {} : provider.prices,
        a.model,
        a.promptTokens,
        a.completionTokens,
      ),
    0,
  )
  const invocation: SkillInvocation = {
    skill: skill.name,
    skillVersion: skill.version,
    promptVersion: skill.promptVersion,
    outcome,
    provider: answered.ok ? answered.chat.provider : null,
    model: answered.ok ? answered.chat.model : null,
    promptHash: promptHash(prompt),
    input: encodeSkillInput(skill, input),
    prompt,
    rawOutput: answered.ok
      ? answered.chat.content
      : (attempts.findLast((a) => a.rawOutput !== null)?.rawOutput ?? null),
    output: decided && answered.ok ? encodeOutput(skill, answered.output) : null,
    attempts,
    fallbackReason,
    promptTokens: attempts.reduce((n, a) => n + a.promptTokens, 0),
    completionTokens: attempts.reduce((n, a) => n + a.completionTokens, 0),
    latencyMs,
    overBudget: latencyMs > skill.latencyBudgetMs,
    costUsd,
  }
  const run: SkillRun<O> = { invocation, output: decided && answered.ok ? answered.output : null }
  return run
})

const decodeRecordedOutput = <I, O>(
  skill: Skill<I, O>,
  recorded: SkillInvocation,
): Effect.Effect<SkillRun<O>, SkillReplayError> => {
  if (recorded.outcome === "needs-human") return Effect.succeed({ invocation: recorded, output: null })
  const decoded = Schema.decodeUnknownResult(skill.output)(recorded.output)
  return Result.isSuccess(decoded)
    ? Effect.succeed({ invocation: recorded, output: decoded.success })
    : Effect.fail(
        new SkillReplayError({
          skill: skill.id,
          message: `the recorded output no longer matches the schema: ${decoded.failure.message}`,
        }),
      )
}

const otherSkill = <I, O>(skill: Skill<I, O>, recorded: SkillInvocation) =>
  new SkillReplayError({
    skill: skill.id,
    message: `the record is of ${recorded.skill}@${recorded.skillVersion}, not ${skill.name}`,
  })

/** Returns a recorded run's output without calling any model (it needs no ModelProvider). */
export const replaySkill = <I, O>(
  skill: Skill<I, O>,
  recorded: SkillInvocation,
): Effect.Effect<SkillRun<O>, SkillReplayError> => {
  if (recorded.skill !== skill.name || recorded.skillVersion !== skill.version) {
    return Effect.fail(
      new SkillReplayError({
        skill: skill.id,
        message: `the record is of ${recorded.skill}@${recorded.skillVersion}, not ${skill.id}`,
      }),
    )
  }
  return decodeRecordedOutput(skill, recorded)
}

/**
 * Returns a recorded run's output as the decision already taken, under any version of the same
 * skill: a decision made before a deploy stays made. It fails only when the output no longer
 * decodes with this version's schema.
 */
export const recallSkill = <I, O>(
  skill: Skill<I, O>,
  recorded: SkillInvocation,
): Effect.Effect<SkillRun<O>, SkillReplayError> =>
  recorded.skill === skill.name
    ? decodeRecordedOutput(skill, recorded)
    : Effect.fail(otherSkill(skill, recorded))

/** The input a run recorded, decoded by this version of the skill (the same skill under any version). */
export const recordedInput = <I, O>(
  skill: Skill<I, O>,
  recorded: SkillInvocation,
): Effect.Effect<I, SkillReplayError> => {
  if (recorded.skill !== skill.name) return Effect.fail(otherSkill(skill, recorded))
  if (recorded.input === null || recorded.input === undefined)
    return Effect.fail(
      new SkillReplayError({
        skill: skill.id,
        message: `the record of ${recorded.skill}@${recorded.skillVersion} kept no input (it predates recorded inputs)`,
      }),
    )
  const decoded = Schema.decodeUnknownResult(skill.input)(recorded.input)
  return Result.isSuccess(decoded)
    ? Effect.succeed(decoded.success)
    : Effect.fail(
        new SkillReplayError({
          skill: skill.id,
          message: `the recorded input does not match this version's input schema: ${decoded.failure.message}`,
        }),
      )
}

/**
 * Runs a recorded run's input through this version of the skill (a new prompt, model or schema),
 * calling its model; the record is only read, so history is compared, never rewritten.
 */
export const rerunSkill = <I, O>(
  skill: Skill<I, O>,
  recorded: SkillInvocation,
  options: RunSkillOptions = {},
) =>
  Effect.flatMap(recordedInput(skill, recorded), (input) => runSkill(skill, input, options)).pipe(
    Effect.withSpan("Skill.rerun", { attributes: { "mesh.skill": skill.id } }),
  )
