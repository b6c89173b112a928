import { ProcessVitals } from "@mesh/contracts"
import { Schema } from "effect"

/**
 * What an agent's process spent on the day, from its /status read when the day's script started
 * and when the mesh had settled: how a platform team sizes the agent's pod, and what tells an SRE
 * whether a slow hop waited on the mesh or on a saturated machine.
 */
export interface AgentLoad {
  /** CPU time of the process over the day, every thread of it counted (the encoder's too). */
  readonly cpuSeconds: number
  /** That over the day's length: the cores the agent kept busy on average. */
  readonly cores: number
  /** The share of the day its event loop spent running callbacks: near 1, its work queued behind itself. */
  readonly eventLoopUtilization: number
  /** How late its event loop's turns came at p99 and at worst, since the agent started serving. */
  readonly eventLoopDelayMs: { readonly p99: number; readonly max: number }
  /** Its resident memory when the mesh had settled. */
  readonly rssMb: number
}

const StatusVitals = Schema.Struct({ process: ProcessVitals })
const decodeStatus = Schema.decodeUnknownPromise(StatusVitals)

/**
 * Each agent's process vitals from its /status, or why they could not be read (an agent down or
 * restarting). `urlOf` gives an agent's HTTP API.
 */
export const readAgentVitals = async <A extends string>(
  agents: ReadonlyArray<A>,
  urlOf: (agent: A) => string,
): Promise<ReadonlyMap<A, ProcessVitals | Error>> =>
  new Map(
    await Promise.all(
      agents.map(async (agent): Promise<[A, ProcessVitals | Error]> => {
        try {
          const response = await fetch(`${urlOf(agent)}/status`, { signal: AbortSignal.timeout(5_000) })
          if (!response.ok) return [agent, new Error(`${agent}'s /status answered ${response.status}`)]
          return [agent, (await decodeStatus(await response.json())).process]
        } catch (cause) {
          return [agent, new Error(`${agent}'s /status could not be read`, { cause })]
        }
      }),
    ),
  )

/**
 * An agent's load between two reads of its vitals `dayMs` apart; null when either read failed or
 * the process was another one at the end (killed and restarted: its CPU before is not in the count).
 */
export const agentLoadBetween = (
  before: ProcessVitals | Error | undefined,
  after: ProcessVitals | Error | undefined,
  dayMs: number,
): AgentLoad | null => {
  if (before === undefined || after === undefined || before instanceof Error || after instanceof Error)
    return null
  if (before.pid !== after.pid) return null
  const cpu = (v: ProcessVitals) => v.cpuSeconds.user + v.cpuSeconds.system
  const cpuSeconds = cpu(after) - cpu(before)
  const active = after.eventLoop.activeMs - before.eventLoop.activeMs
  const idle = after.eventLoop.idleMs - before.eventLoop.idleMs
  const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places
  return {
    cpuSeconds: round(cpuSeconds, 2),
    cores: dayMs > 0 ? round(cpuSeconds / (dayMs / 1000), 2) : 0,
    eventLoopUtilization: active + idle > 0 ? round(active / (active + idle), 3) : 0,
    eventLoopDelayMs: { p99: after.eventLoop.delayMs.p99, max: after.eventLoop.delayMs.max },
    rssMb: Math.round(after.memoryBytes.rss / 2 ** 20),
  }
}
