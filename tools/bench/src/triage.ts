import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import {
  classifiedText,
  committedTriageModel,
  MAX_CLASSIFIED_CHARS,
  parseLabelledTickets,
  type TriageInput,
  type TriageOutput,
  triageInputOf,
  triageTicket,
  triageTrainingDirectory,
  triageWithModel,
} from "@mesh/customer-ops/skills"
import { featurize, makeOfflineProvider, runSkillWith } from "@mesh/models"
import { Effect } from "effect"
import { type BenchResult, now, percentile } from "./harness.ts"

/** Sizes of the triage benchmark; the defaults are the issue's. */
export interface TriageBenchOptions {
  /** Timed classifications per path in each size group up to 2 KB (the messages are cycled). */
  readonly samples?: number
  /** Messages built per language by joining the corpus's messages up to 2,000 characters. */
  readonly joinedPerLanguage?: number
  /** Timed classifications per path of each over-cap size. */
  readonly overCapSamples?: number
}

/** Issue 11's goal: classifications per second and p99 for messages up to 2 KB. */
const GOAL_PER_S = 1_000
const GOAL_P99_MS = 5
const SMALL = 200
const LARGE = 2_000

interface Message {
  readonly lang: string
  readonly input: TriageInput
}

const lengthOf = (input: TriageInput) =>
  classifiedText({ subject: input.subject, body: input.body }).text.length

/** Every parseable message of the training corpus (read-only), with its language. */
const readCorpus = (): ReadonlyArray<Message> =>
  readdirSync(triageTrainingDirectory)
    .filter((name) => name.endsWith(".jsonl"))
    .sort()
    .flatMap((name) =>
      parseLabelledTickets(readFileSync(join(triageTrainingDirectory, name), "utf8")).rows.map((row) => ({
        lang: row.lang ?? name.replace(/\.jsonl$/, ""),
        input: triageInputOf(row),
      })),
    )

/** Messages of one language joined, in corpus order, until the next would pass `limit` characters. */
const joined = (
  messages: ReadonlyArray<Message>,
  limit: number,
  count: number,
  offset: number,
): Array<Message> => {
  const out: Array<Message> = []
  let i = offset
  for (let made = 0; made < count; made++) {
    const first = messages[i++ % messages.length]!
    let body = first.input.body
    for (let tries = 0; tries < messages.length; tries++) {
      const next = messages[i % messages.length]!.input.body
      if (first.input.subject.length + 1 + body.length + 2 + next.length > limit) break
      body = `${body}\n\n${next}`
      i++
    }
    out.push({ lang: first.lang, input: { ...first.input, body } })
  }
  return out
}

/** A message of exactly `chars` characters from one language's messages repeated. */
const overCap = (messages: ReadonlyArray<Message>, chars: number, offset: number): Message => {
  const first = messages[offset % messages.length]!
  const parts: Array<string> = []
  let length = 0
  for (let i = offset; length < chars; i++) {
    const body = messages[i % messages.length]!.input.body
    parts.push(body)
    length += body.length + 2
  }
  return {
    lang: first.lang,
    input: { ...first.input, subject: "", body: parts.join("\n\n").slice(0, chars) },
  }
}

interface Paths {
  readonly ours: Array<number>
  readonly model: Array<number>
  readonly raw: Array<number>
}

const figures = (times: ReadonlyArray<number>) => {
  const total = times.reduce((x, y) => x + y, 0)
  return {
    per_s: (times.length * 1_000) / total,
    p50_ms: percentile(times, 50),
    p99_ms: percentile(times, 99),
    max_ms: Math.max(...times),
    n: times.length,
  }
}

/**
 * Offline triage of realistic messages by size. Three paths, interleaved per message so that each sees the same
 * noise: ours is the whole skill run an agent makes (`runSkillWith` on the offline provider: the prompt rendered
 * and hashed, input decoding, the skill's declared offline implementation, output validation and the invocation
 * record), one `Effect.runPromise` per classification; the model alone is `triageWithModel` on the committed
 * artefact; raw is `featurize` of the text the model reads (cut to the cap), the feature extraction beneath every
 * head.
 */
export const runTriageBench = async (options: TriageBenchOptions = {}): Promise<BenchResult> => {
  const samples = options.samples ?? 3_000
  const joinedPerLanguage = options.joinedPerLanguage ?? 50
  const overCapSamples = options.overCapSamples ?? 40
  const provider = makeOfflineProvider()
  const model = committedTriageModel()
  const spec = model.featureSpec

  const corpus = readCorpus()
  const byLang = Map.groupBy(corpus, (m) => m.lang)
  const groups: Record<string, ReadonlyArray<Message>> = {
    le200: corpus.filter((m) => lengthOf(m.input) <= SMALL),
    "200_2k": corpus.filter((m) => lengthOf(m.input) > SMALL && lengthOf(m.input) <= LARGE),
    joined_2k: [...byLang.values()].flatMap((messages, k) =>
      joined(messages, LARGE, joinedPerLanguage, k * 7),
    ),
  }
  const overCapSizes = { "8kb": 8_000, "50kb": 50_000, "1mb": 1_000_000 } as const
  const overCapGroups: Record<string, ReadonlyArray<Message>> = Object.fromEntries(
    Object.entries(overCapSizes).map(([name, chars]) => [
      name,
      [...byLang.values()].map((messages, k) => overCap(messages, chars, k * 11)),
    ]),
  )

  const ours = async (input: TriageInput) => {
    const run = await Effect.runPromise(runSkillWith(provider, triageTicket, input))
    return run.invocation.rawOutput
  }
  const alone = (input: TriageInput) => triageWithModel(model, input)
  const raw = (input: TriageInput) => featurize(classifiedText(input).text, spec).indices.length

  // Ours must say what the model says: compare every message once, untimed, which also warms all three paths.
  const answers = new Map<string, TriageOutput>()
  for (const [name, messages] of Object.entries({ ...groups, ...overCapGroups })) {
    for (const [k, m] of messages.entries()) {
      const expected = alone(m.input)
      const got = await ours(m.input)
      raw(m.input)
      if (got === null || JSON.stringify(JSON.parse(got)) !== JSON.stringify(expected)) {
        throw new Error(
          `${name} message ${k}: the skill answered ${got?.slice(0, 200)}, the model ${JSON.stringify(expected)}`,
        )
      }
      answers.set(`${name}/${k}`, JSON.parse(got) as TriageOutput)
    }
  }
  for (let round = 0; round < 3; round++) {
    for (const m of groups.le200!.concat(groups["200_2k"]!)) {
      await ours(m.input)
      alone(m.input)
      raw(m.input)
    }
  }

  const measure = async (messages: ReadonlyArray<Message>, count: number): Promise<Paths> => {
    const times: Paths = { ours: [], model: [], raw: [] }
    for (let i = 0; i < count; i++) {
      const { input } = messages[i % messages.length]!
      let t = now()
      raw(input)
      times.raw.push(now() - t)
      t = now()
      alone(input)
      times.model.push(now() - t)
      t = now()
      await ours(input)
      times.ours.push(now() - t)
    }
    return times
  }

  const measured: Record<string, Paths> = {}
  for (const [name, messages] of Object.entries(groups)) measured[name] = await measure(messages, samples)
  for (const [name, messages] of Object.entries(overCapGroups)) {
    measured[name] = await measure(messages, name === "1mb" ? Math.ceil(overCapSamples / 2) : overCapSamples)
  }

  // The same ≤ 2 KB mix classified in one Effect, for the cost of one runPromise per call beside it.
  const mix = groups.le200!.concat(groups["200_2k"]!, groups.joined_2k!)
  const perCallStarted = now()
  for (let i = 0; i < samples; i++) await ours(mix[i % mix.length]!.input)
  const perCallPerS = (samples * 1_000) / (now() - perCallStarted)
  const loopStarted = now()
  await Effect.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < samples; i++)
        yield* runSkillWith(provider, triageTicket, mix[i % mix.length]!.input)
    }),
  )
  const oneEffectPerS = (samples * 1_000) / (now() - loopStarted)

  const upTo2k = ["le200", "200_2k", "joined_2k"]
  const all = (path: keyof Paths) => upTo2k.flatMap((name) => measured[name]![path])
  const oursAll = figures(all("ours"))
  const modelAll = figures(all("model"))
  const rawAll = figures(all("raw"))

  const paths: Record<string, Record<string, number>> = { ours: oursAll, model: modelAll, raw: rawAll }
  for (const [name, times] of Object.entries(measured)) {
    for (const path of ["ours", "model", "raw"] as const) paths[`${path}_${name}`] = figures(times[path])
  }
  // Wall clock over the corpus mix (mostly short messages), one runPromise per call beside one Effect for all.
  paths.ours_mix = { per_s: perCallPerS, n: samples }
  paths.ours_mix_one_effect = { per_s: oneEffectPerS, n: samples }

  const worstP99 = Math.max(...upTo2k.map((name) => percentile(measured[name]!.ours, 99)))
  const truncationNoted = Object.entries(overCapGroups).every(([name, messages]) =>
    messages.every(
      (_, k) =>
        answers.get(`${name}/${k}`)?.notes?.some((note) => note.includes(String(MAX_CLASSIFIED_CHARS))) ===
        true,
    ),
  )
  const notes = answers.get("1mb/0")?.notes ?? []
  const lengths = (messages: ReadonlyArray<Message>) => {
    const ls = messages.map((m) => lengthOf(m.input))
    return { messages: messages.length, min_chars: Math.min(...ls), max_chars: Math.max(...ls) }
  }
  return {
    benchmark: "triage",
    description: `offline triage of corpus messages by size: the triageTicket skill run on the offline provider (one Effect.runPromise each) beside the model alone and featurize; ${samples} per ≤ 2 KB group`,
    paths,
    ratio: oursAll.per_s / modelAll.per_s,
    goal: `ours ≥ ${GOAL_PER_S}/s and p99 < ${GOAL_P99_MS} ms in every group up to 2 KB; past the ${MAX_CLASSIFIED_CHARS}-character cap the output notes the cut (ratio: ours/model)`,
    goalMet: oursAll.per_s >= GOAL_PER_S && worstP99 < GOAL_P99_MS && truncationNoted,
    extra: {
      modelVersion: model.version,
      maxClassifiedChars: MAX_CLASSIFIED_CHARS,
      effect:
        "ours: Effect.runPromise per classification; ours_one_effect: one Effect looping over the same ≤ 2 KB mix",
      raw: "featurize of the text the model reads: subject and body, cut to the cap",
      worstOursP99UpTo2kMs: worstP99,
      oursPerModel: oursAll.per_s / modelAll.per_s,
      oursPerRaw: oursAll.per_s / rawAll.per_s,
      truncationNoted,
      truncationNote: notes,
      groups: Object.fromEntries(
        Object.entries({ ...groups, ...overCapGroups }).map(([name, messages]) => [name, lengths(messages)]),
      ),
    },
  }
}
