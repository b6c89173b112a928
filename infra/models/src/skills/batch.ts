/**
 * A skill asked for several inputs in one model call. Background work (drafting a catalogue's
 * listings, say) trades latency for cost: the instructions, the output format and the call's
 * overhead are paid once for the batch instead of once per input. Each input still gets its own
 * decision, recorded against its own cause with its share of the call's tokens and cost, so a
 * decision reads the same whether it was made alone or in a batch, and can be recalled, reused by
 * input and replayed one by one.
 */
import { Schema } from "effect"
import { taskPrompt } from "./prompt.ts"
import {
  defineSkill,
  encodeSkillInput,
  type Skill,
  type SkillAttempt,
  type SkillInvocation,
  type SkillPrompt,
  validateSkillOutput,
} from "./skill.ts"

/** The inputs of one batch, in order. */
export interface BatchInput<I> {
  readonly items: ReadonlyArray<I>
}

/** The answers of one batch: one per input, in the inputs' order. */
export interface BatchOutput<O> {
  readonly answers: ReadonlyArray<O>
}

/** What a batch of an item skill adds to it: its own prompt, and how many inputs one call may take. */
export interface BatchSkillOptions<I> {
  /** The version of the batch prompt template. */
  readonly promptVersion: string
  /** Renders the prompt for the batch's inputs; a pure function of them. */
  readonly template: (items: ReadonlyArray<I>) => SkillPrompt
  /** The most inputs one call takes: a longer answer is slower and more likely to be cut short. */
  readonly maxItems: number
}

/** What a batch prompt adds to its item skill's instructions. */
export const BATCH_INSTRUCTION =
  'The input is a list of "items". Answer {"answers": [...]}: one answer per item, in the same order, each exactly as you would answer that item alone.'

/**
 * A batch prompt in the mesh's task protocol: the item task's marker with `_batch`, its
 * instructions and the batch's own, and the items as the input.
 */
export const batchTaskPrompt =
  (task: string, variant: number, instructions: ReadonlyArray<string>, request: string) =>
  <I>(items: ReadonlyArray<I>): SkillPrompt =>
    taskPrompt(`${task}_batch`, variant, [...instructions, BATCH_INSTRUCTION], request, { items })

/** A batch skill: the item skill it batches, and the most inputs a call takes. */
export interface BatchSkill<I, O, A extends string = string> extends Skill<BatchInput<I>, BatchOutput<O>, A> {
  readonly item: Skill<I, O, A>
  readonly maxItems: number
}

/**
 * The batch form of an item skill, `<name>Batch`: the same version, model, workload, actions and
 * fallback; its answer is valid only when it answers every input, in order, and each answer passes
 * the item skill's own checks. The offline model answers it by answering each input. Its time
 * budget grows with the batch (a call answers up to `maxItems` inputs).
 */
export const defineBatchSkill = <I, O, A extends string>(
  item: Skill<I, O, A>,
  options: BatchSkillOptions<I>,
): BatchSkill<I, O, A> => {
  if (!Number.isInteger(options.maxItems) || options.maxItems < 2)
    throw new TypeError(`a batch of ${item.name} takes at least 2 inputs, not ${options.maxItems}`)
  const itemOffline = item.offline
  const skill = defineSkill<BatchInput<I>, BatchOutput<O>, A>({
    name: `${item.name}Batch`,
    version: item.version,
    promptVersion: options.promptVersion,
    description: `${item.description} Several inputs in one call, one answer each.`,
    input: Schema.Struct({
      items: Schema.Array(item.input).check(Schema.isMinLength(1), Schema.isMaxLength(options.maxItems)),
    }),
    template: (input) => options.template(input.items),
    output: Schema.Struct({ answers: Schema.Array(item.output) }),
    preferredModel: item.preferredModel,
    ...(item.workload === undefined ? {} : { workload: item.workload }),
    allowedActions: item.allowedActions,
    latencyBudgetMs: item.latencyBudgetMs * options.maxItems,
    fallback: item.fallback,
    ...(item.temperature === undefined ? {} : { temperature: item.temperature }),
    ...(item.actionsOf === undefined
      ? {}
      : { actionsOf: (output: BatchOutput<O>) => output.answers.flatMap((a) => item.actionsOf?.(a) ?? []) }),
    check: (input, output) => {
      if (output.answers.length !== input.items.length)
        return `${output.answers.length} answers for ${input.items.length} inputs`
      for (const [index, answer] of output.answers.entries()) {
        const problem = item.check?.(input.items[index] as I, answer) ?? null
        if (problem !== null) return `answer ${index + 1}: ${problem}`
      }
      return null
    },
    ...(itemOffline === undefined
      ? {}
      : { offline: (input: BatchInput<I>) => ({ answers: input.items.map((i) => itemOffline(i)) }) }),
  })
  return { ...skill, item, maxItems: options.maxItems }
}

// Whole counts shared out over n parts: the remainder goes to the first ones, so the parts add up.
const share = (total: number, n: number, index: number): number =>
  Math.floor(total / n) + (index < total % n ? 1 : 0)

/**
 * One input's part of a batch run, as its own decision records it: its own input and answer (or
 * the item skill's abstention), the batch's prompt, raw answer, model and outcome, its share of the
 * tokens (whole, adding up to the batch's) and of the cost, and the whole call's latency (it waited
 * for all of it).
 */
export const itemInvocationOf = <I, O>(
  batch: BatchSkill<I, O>,
  run: SkillInvocation,
  items: ReadonlyArray<I>,
  index: number,
): SkillInvocation => {
  const { item } = batch
  const n = items.length
  const input = items[index] as I
  const answers =
    run.output === null || run.output === undefined
      ? null
      : (run.output as { readonly answers?: ReadonlyArray<unknown> }).answers
  let output: unknown = null
  let outcome = run.outcome
  let fallbackReason = run.fallbackReason
  if (answers !== null && answers !== undefined && index < answers.length) {
    // The item skill's own checks and abstention, on its own answer.
    const validated = validateSkillOutput(item, input, JSON.stringify(answers[index]))
    const abstained = validated._tag === "Success" ? (item.abstention?.(validated.success) ?? null) : null
    if (validated._tag === "Failure" || abstained !== null) {
      outcome = "needs-human"
      const why =
        validated._tag === "Failure" ? `invalid answer: ${validated.failure}` : `abstained: ${abstained}`
      fallbackReason = fallbackReason === null ? why : `${fallbackReason}; ${why}`
    } else output = answers[index]
  } else if (outcome !== "needs-human") {
    outcome = "needs-human"
    fallbackReason = `the batch gave no answer ${index + 1} of ${n}`
  }
  const attempts: ReadonlyArray<SkillAttempt> = run.attempts.map((attempt) => ({
    ...attempt,
    promptTokens: share(attempt.promptTokens, n, index),
    completionTokens: share(attempt.completionTokens, n, index),
  }))
  return {
    ...run,
    skill: item.name,
    skillVersion: item.version,
    promptVersion: item.promptVersion,
    outcome,
    input: encodeSkillInput(item, input),
    output,
    attempts: [...attempts],
    fallbackReason,
    promptTokens: share(run.promptTokens, n, index),
    completionTokens: share(run.completionTokens, n, index),
    costUsd: run.costUsd / n,
  }
}
