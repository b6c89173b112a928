import type { HistoryCommit } from "./historyFile.ts"

// What `mesh export` cuts out of a log. A chain or an aggregate alone would not replay: a decider
// folds an aggregate from its first event, and a decision or an action names the events it came
// from. So a slice is its commits plus their causal dependencies: every earlier commit of each
// aggregate they touch, and the commits holding the events they name as causes (their
// `causationId`, an action's or a decision's cause), followed back until nothing new is named.

/** What to cut out; empty lists and nulls select everything. */
export interface SliceRequest {
  readonly correlationIds: ReadonlyArray<string>
  /** `<aggregate type>/<aggregate id>`. */
  readonly aggregates: ReadonlyArray<string>
  /** Epoch milliseconds bounding an event's `occurredAt`, inclusive. */
  readonly sinceMs: number | null
  readonly untilMs: number | null
}

interface EnvelopeView {
  readonly eventId?: unknown
  readonly aggregateType?: unknown
  readonly aggregateId?: unknown
  readonly occurredAt?: unknown
  readonly correlationId?: unknown
  readonly causationId?: unknown
  readonly payload?: unknown
}

const envelopes = (commit: HistoryCommit): ReadonlyArray<EnvelopeView> =>
  commit.events as ReadonlyArray<EnvelopeView>

const aggregateOf = (commit: HistoryCommit): string => {
  const first = envelopes(commit)[0]
  return `${commit.domain}:${String(first?.aggregateType)}/${String(first?.aggregateId)}`
}

/** The ids of the events an event names as its causes: its causation, and an action's or decision's cause. */
const namedCauses = (event: EnvelopeView): ReadonlyArray<string> => {
  const named: Array<string> = []
  if (typeof event.causationId === "string") named.push(event.causationId)
  const payload = event.payload as { cause?: { eventId?: unknown } } | null | undefined
  const causeEvent = payload?.cause?.eventId
  if (typeof causeEvent === "string") named.push(causeEvent)
  return named
}

const decisionNamed = (event: EnvelopeView): string | null => {
  const payload = event.payload as { decisionId?: unknown; cause?: { decisionId?: unknown } } | null
  const id = payload?.cause?.decisionId ?? null
  return typeof id === "string" ? id : null
}

const isWhole = (request: SliceRequest): boolean =>
  request.correlationIds.length === 0 &&
  request.aggregates.length === 0 &&
  request.sinceMs === null &&
  request.untilMs === null

/**
 * The commits of `commits` (every exported stream's, each stream in sequence order) that a slice
 * holds, in the same order: those that match the request, and their causal dependencies.
 */
export const selectSlice = (
  commits: ReadonlyArray<HistoryCommit>,
  request: SliceRequest,
): ReadonlyArray<HistoryCommit> => {
  if (isWhole(request)) return commits
  const chains = new Set(request.correlationIds)
  const aggregates = new Set(request.aggregates)
  const matches = (commit: HistoryCommit): boolean =>
    envelopes(commit).some((e) => {
      const at = typeof e.occurredAt === "string" ? Date.parse(e.occurredAt) : Number.NaN
      if (request.sinceMs !== null && !(at >= request.sinceMs)) return false
      if (request.untilMs !== null && !(at <= request.untilMs)) return false
      const byChain =
        chains.size === 0 || (typeof e.correlationId === "string" && chains.has(e.correlationId))
      const byAggregate =
        aggregates.size === 0 || aggregates.has(`${String(e.aggregateType)}/${String(e.aggregateId)}`)
      return byChain && byAggregate
    })

  // Where each event and decision lives, and each aggregate's commits in order.
  const byEventId = new Map<string, number>()
  const byDecisionId = new Map<string, number>()
  const byAggregate = new Map<string, Array<number>>()
  commits.forEach((commit, index) => {
    for (const e of envelopes(commit)) {
      if (typeof e.eventId === "string") byEventId.set(e.eventId, index)
      const payload = e.payload as { decisionId?: unknown } | null
      if (commit.domain === "decisions" && typeof payload?.decisionId === "string")
        byDecisionId.set(payload.decisionId, index)
    }
    const key = aggregateOf(commit)
    const list = byAggregate.get(key)
    if (list === undefined) byAggregate.set(key, [index])
    else list.push(index)
  })

  const chosen = new Set<number>()
  const pending: Array<number> = []
  const choose = (index: number | undefined) => {
    if (index === undefined || chosen.has(index)) return
    chosen.add(index)
    pending.push(index)
  }
  commits.forEach((commit, index) => {
    if (matches(commit)) choose(index)
  })
  while (pending.length > 0) {
    const index = pending.pop()!
    const commit = commits[index]!
    // The aggregate's earlier commits, so that it folds from its first event.
    for (const earlier of byAggregate.get(aggregateOf(commit)) ?? []) {
      if (earlier >= index) break
      choose(earlier)
    }
    for (const e of envelopes(commit)) {
      for (const cause of namedCauses(e)) choose(byEventId.get(cause))
      const decision = decisionNamed(e)
      if (decision !== null) choose(byDecisionId.get(decision))
    }
  }
  return commits.filter((_, index) => chosen.has(index))
}

/** The hashes of decision content a commit's decisions keep in the object store. */
export const storedContentHashes = (commit: HistoryCommit): ReadonlyArray<string> => {
  if (commit.domain !== "decisions") return []
  const hashes: Array<string> = []
  const visit = (value: unknown) => {
    if (value === null || typeof value !== "object") return
    if (Array.isArray(value)) {
      for (const item of value) visit(item)
      return
    }
    const record = value as { _tag?: unknown; sha256?: unknown }
    if (record._tag === "Stored" && typeof record.sha256 === "string") hashes.push(record.sha256)
    for (const child of Object.values(record)) visit(child)
  }
  for (const e of envelopes(commit)) visit(e.payload)
  return hashes
}
