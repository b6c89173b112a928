import { meshAgents } from "../stack/agentProcess.ts"
import type { MeshStack } from "../stack/meshStack.ts"
import type { LogWatch } from "./logWatch.ts"

interface AgentStatus {
  readonly reactors?: ReadonlyArray<{
    readonly name: string
    readonly pending: number | null
    readonly unacknowledged: number | null
    /** Deliveries tried again after a transient failure, the longest-waiting first. */
    readonly retrying?: {
      readonly count: number
      readonly oldest: ReadonlyArray<{ readonly deliveries: number; readonly reason: string }>
    }
  }>
}

/** What each agent's reactors still have to do: messages pending or in hand, by reactor. */
const backlogOf = async (stack: MeshStack): Promise<ReadonlyArray<string>> => {
  const backlog: Array<string> = []
  for (const agent of meshAgents) {
    try {
      const response = await fetch(`${stack.urlOf(agent)}/status`, { signal: AbortSignal.timeout(3_000) })
      const status = (await response.json()) as AgentStatus
      for (const r of status.reactors ?? []) {
        const left = (r.pending ?? 0) + (r.unacknowledged ?? 0)
        if (left > 0 || r.pending === null) {
          // A delivery it keeps trying again says what it waits on (a read model behind, a
          // dependency away), so that a day that does not settle says why.
          const waiting = r.retrying?.oldest[0]
          backlog.push(
            `${agent}/${r.name} ${r.pending === null ? "unknown" : left}${waiting === undefined ? "" : ` (${r.retrying?.count} retrying; delivery ${waiting.deliveries}: ${waiting.reason})`}`,
          )
        }
      }
    } catch {
      backlog.push(`${agent} not answering`)
    }
  }
  return backlog
}

/**
 * Waits for the mesh to finish the day's work: every agent's reactors with nothing pending or in
 * hand, the watch holding every stream to its head, and no new event for `quietMs` (an action's
 * retry waits its backoff; a late-delivery check runs each second). Resolves with what was still
 * going on if `timeoutMs` passes first, else with nothing.
 */
export const settle = async (
  stack: MeshStack,
  watch: LogWatch,
  options: { readonly quietMs?: number; readonly timeoutMs?: number } = {},
): Promise<ReadonlyArray<string>> => {
  const quietMs = options.quietMs ?? 3_000
  const deadline = Date.now() + (options.timeoutMs ?? 240_000)
  let seen = -1
  let quietSince = Date.now()
  let backlog: ReadonlyArray<string> = []
  while (Date.now() < deadline) {
    const count = watch.events().length
    if (count !== seen) {
      seen = count
      quietSince = Date.now()
      backlog = []
    }
    // The agents are asked only once the log has been quiet for `quietMs`: while events arrive the
    // mesh is not done, and a /status costs each agent reads of its database and of the server,
    // four times a second, on the machine that is finishing the day.
    if (Date.now() - quietSince >= quietMs) {
      backlog = await backlogOf(stack)
      if (backlog.length === 0 && (await watch.caughtUp()) && watch.events().length === seen) return []
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  // Out of time while events still came: what the reactors hold says why as well as it can.
  if (backlog.length === 0) backlog = await backlogOf(stack)
  return backlog.length > 0 ? backlog : ["events were still arriving"]
}
