import { histogramQuantile, type ReactionTimeKind, reactionMetricNames } from "@mesh/contracts"

/** One reactor's histogram of one of its reaction times, as an agent's /metrics gives it. */
export interface ReactionHistogram {
  readonly agent: string
  readonly reactor: string
  /** The stream it reads. */
  readonly domain: string
  readonly kind: ReactionTimeKind
  /** Cumulative counts by upper bound in milliseconds, the unbounded bucket last. */
  readonly buckets: ReadonlyArray<readonly [number, number]>
  readonly count: number
}

const kindOf = new Map<string, ReactionTimeKind>(
  Object.entries(reactionMetricNames).map(([kind, name]) => [name, kind as ReactionTimeKind]),
)
// A bucket line: its name, its labels (a value may hold any character, `}` too, quoted and escaped)
// and its count.
const bucketLine = /^(mesh_reaction_[a-z]+_seconds)_bucket\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\} ([0-9.e+]+)$/
const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g
const unescaped = (value: string) => value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))

/**
 * The reaction histograms in a Prometheus text exposition (an agent's /metrics). Lines of other
 * metrics are passed over; a histogram missing its agent, reactor or domain label is too.
 */
export const parseReactionHistograms = (exposition: string): ReadonlyArray<ReactionHistogram> => {
  const byKey = new Map<
    string,
    { labels: Record<string, string>; kind: ReactionTimeKind; buckets: Array<[number, number]> }
  >()
  for (const line of exposition.split("\n")) {
    const match = bucketLine.exec(line.trim())
    if (match === null) continue
    const kind = kindOf.get(match[1]!)
    if (kind === undefined) continue
    const labels: Record<string, string> = {}
    for (const [, name, value] of match[2]!.matchAll(label)) labels[name!] = unescaped(value!)
    const { le, ...series } = labels
    if (
      le === undefined ||
      series.agent === undefined ||
      series.reactor === undefined ||
      series.domain === undefined
    )
      continue
    const key = `${kind} ${series.agent} ${series.reactor}`
    const entry = byKey.get(key) ?? { labels: series, kind, buckets: [] }
    byKey.set(key, entry)
    entry.buckets.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le) * 1000, Number(match[3])])
  }
  return [...byKey.values()].map(({ labels, kind, buckets }) => {
    const sorted = buckets.sort((a, b) => a[0] - b[0])
    return {
      agent: labels.agent!,
      reactor: labels.reactor!,
      domain: labels.domain!,
      kind,
      buckets: sorted,
      count: sorted.at(-1)?.[1] ?? 0,
    }
  })
}

/**
 * The reactions between two reads of the same processes' histograms: the later read less the
 * earlier, bucket by bucket. A histogram the earlier read lacks counts whole; one whose counts went
 * down (its process restarted between the reads) is left out, as its reactions before cannot be
 * told apart.
 */
export const histogramsBetween = (
  before: ReadonlyArray<ReactionHistogram>,
  after: ReadonlyArray<ReactionHistogram>,
): ReadonlyArray<ReactionHistogram> => {
  const earlier = new Map(before.map((h) => [`${h.kind} ${h.agent} ${h.reactor}`, h]))
  const out: Array<ReactionHistogram> = []
  for (const h of after) {
    const was = earlier.get(`${h.kind} ${h.agent} ${h.reactor}`)
    if (was === undefined) {
      out.push(h)
      continue
    }
    const wasAt = new Map(was.buckets)
    const buckets = h.buckets.map(([bound, n]): [number, number] => [bound, n - (wasAt.get(bound) ?? 0)])
    if (buckets.some(([, n]) => n < 0)) continue
    out.push({ ...h, buckets, count: h.count - was.count })
  }
  return out
}

/** Percentiles in milliseconds of histograms merged (bucket-interpolated), and their count. */
export interface MergedSpread {
  readonly count: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
}

/** Histograms of one kind merged (same bounds), and their percentiles in milliseconds; null when empty. */
export const mergedSpread = (histograms: ReadonlyArray<ReactionHistogram>): MergedSpread | null => {
  const counts = new Map<number, number>()
  let count = 0
  for (const h of histograms) {
    count += h.count
    for (const [bound, n] of h.buckets) counts.set(bound, (counts.get(bound) ?? 0) + n)
  }
  if (count === 0) return null
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0])
  const at = (q: number) => Math.round((histogramQuantile(buckets, count, q) ?? 0) * 10) / 10
  return { count, p50: at(0.5), p95: at(0.95), p99: at(0.99) }
}

/**
 * Each agent's reaction histograms from its /metrics, or why they could not be read (an agent down
 * or restarting). `urlOf` gives an agent's HTTP API.
 */
export const readReactionHistograms = async <A extends string>(
  agents: ReadonlyArray<A>,
  urlOf: (agent: A) => string,
): Promise<ReadonlyMap<A, ReadonlyArray<ReactionHistogram> | Error>> =>
  new Map(
    await Promise.all(
      agents.map(async (agent): Promise<[A, ReadonlyArray<ReactionHistogram> | Error]> => {
        try {
          const response = await fetch(`${urlOf(agent)}/metrics`, { signal: AbortSignal.timeout(5_000) })
          if (!response.ok) return [agent, new Error(`${agent}'s /metrics answered ${response.status}`)]
          return [agent, parseReactionHistograms(await response.text())]
        } catch (cause) {
          return [agent, new Error(`${agent}'s /metrics could not be read`, { cause })]
        }
      }),
    ),
  )

/** The agent that writes a domain's events; the registers are written by several, each read by others. */
const ownerOf: Readonly<Record<string, string>> = {
  customer: "customer-ops",
  procurement: "procurement",
  content: "content-ops",
}

/** Whether a reactor reads what other agents write: its reactions are hops between agents. */
export const readsOtherAgents = (h: Pick<ReactionHistogram, "agent" | "domain">): boolean =>
  h.domain === "registers" || (ownerOf[h.domain] !== undefined && ownerOf[h.domain] !== h.agent)

/** One kind of time per reaction, merged. */
export type ReactionSpreads = Readonly<Record<ReactionTimeKind, MergedSpread | null>>

/** Where the day's reactions spent their time. */
export interface DayReactionTimes {
  /** Every reaction of a reactor that reads other agents' events: the hops between agents. */
  readonly betweenAgents: ReactionSpreads
  /** Each reactor's, busiest first. */
  readonly byReactor: ReadonlyArray<
    { readonly agent: string; readonly reactor: string; readonly domain: string } & ReactionSpreads
  >
}

const kinds: ReadonlyArray<ReactionTimeKind> = ["delivery", "queue", "work", "commit", "mesh"]
const spreadsOf = (histograms: ReadonlyArray<ReactionHistogram>): ReactionSpreads =>
  Object.fromEntries(
    kinds.map((kind) => [kind, mergedSpread(histograms.filter((h) => h.kind === kind))]),
  ) as Record<ReactionTimeKind, MergedSpread | null>

/**
 * The day's reaction times from the agents' histograms read at its start and once the mesh
 * settled: the difference, or, for an agent whose process was restarted between the reads
 * (`restarted`), its histograms whole, which count from its restart. Null when no agent's could
 * be read at the end.
 */
export const dayReactionTimes = <A extends string>(
  atStart: ReadonlyMap<A, ReadonlyArray<ReactionHistogram> | Error>,
  settled: ReadonlyMap<A, ReadonlyArray<ReactionHistogram> | Error>,
  restarted: (agent: A) => boolean = () => false,
): DayReactionTimes | null => {
  const day: Array<ReactionHistogram> = []
  for (const [agent, after] of settled) {
    if (after instanceof Error) continue
    const before = atStart.get(agent)
    const from = before instanceof Error || before === undefined || restarted(agent) ? [] : before
    day.push(...histogramsBetween(from, after))
  }
  if (day.length === 0) return null
  const reactors = new Map<string, Array<ReactionHistogram>>()
  for (const h of day) {
    const key = `${h.agent} ${h.reactor}`
    reactors.set(key, [...(reactors.get(key) ?? []), h])
  }
  return {
    betweenAgents: spreadsOf(day.filter(readsOtherAgents)),
    byReactor: [...reactors.values()]
      .map((hs) => ({
        agent: hs[0]!.agent,
        reactor: hs[0]!.reactor,
        domain: hs[0]!.domain,
        ...spreadsOf(hs),
      }))
      .filter((r) => r.work !== null)
      .sort((a, b) => (b.work?.count ?? 0) - (a.work?.count ?? 0)),
  }
}
