import { openNats } from "@mesh/eventlog"
import { type DaySize, dayLengthMs, planDay } from "./day/plan.ts"
import { seededChoices } from "./day/random.ts"
import { watchLog } from "./play/logWatch.ts"
import { playDay, type WorldTally } from "./play/player.ts"
import { settle } from "./play/settle.ts"
import { type AgentLoad, agentLoadBetween, readAgentVitals } from "./report/agentLoad.ts"
import { type DaySummary, summarizeDay } from "./report/daySummary.ts"
import { type DayReactionTimes, dayReactionTimes, readReactionHistograms } from "./report/reactionTimes.ts"
import { renderSummary } from "./report/renderSummary.ts"
import { lastLogLines, meshAgents } from "./stack/agentProcess.ts"
import { type MeshStack, startMeshStack } from "./stack/meshStack.ts"

/** How the demo plays the day. */
export interface ShopDayOptions {
  readonly size: DaySize
  readonly seed: number
  readonly speed: number
  readonly keep: boolean
  readonly faults: boolean
  /** Print the summary as text, as one JSON object, or not at all (a caller that reads the outcome). */
  readonly output: "text" | "json" | "none"
  /** A NATS server to play on; else MESH_NATS_URL, a running `mesh dev`'s, or a private one. */
  readonly nats?: { readonly url: string; readonly source: string }
  /** How many times an agent process is killed with SIGKILL during the day (each restarted). */
  readonly kills: number
  /**
   * Told when the day's script starts and when the mesh has settled (or the day was called): a
   * bench samples its raw floor under the day's load between the two.
   */
  readonly during?: { readonly started: () => void; readonly settled: () => void }
}

/** What a played day left: the summary from the log, the world's tally, and the mesh's remaining work. */
export interface ShopDayOutcome {
  readonly namespace: string
  readonly seed: number
  readonly startMs: number
  readonly dayMs: number
  readonly summary: DaySummary
  readonly world: WorldTally
  /** What was still going on when the day was called (empty when the mesh had settled). */
  readonly unsettled: ReadonlyArray<string>
  readonly restarts: Readonly<Record<string, number>>
  /** The kills the day suffered: which agent, how far into the day. */
  readonly kills: ReadonlyArray<{ readonly agent: string; readonly atMs: number }>
  /**
   * What each agent's process spent from the day's start until the mesh settled (null where its
   * /status could not be read then, or the process was killed and restarted meanwhile).
   */
  readonly agentLoad: Readonly<Record<string, AgentLoad | null>>
  /**
   * Where the reactions spent their time from the day's start until the mesh settled, from each
   * agent's /metrics (null where it could not be read then; an agent restarted meanwhile counts
   * from its restart).
   */
  readonly reactionTimes: DayReactionTimes | null
}

const tty = process.stdout.isTTY === true

/**
 * Kills agent processes with SIGKILL at seeded moments between a tenth and nine tenths of the day,
 * as a node losing power would; the supervisor starts each again on the same port, store and
 * settings. Which agent and when follow from the seed.
 */
const killAgents = (stack: MeshStack, seed: number, count: number, speed: number) => {
  const choices = seededChoices(seed).fork("kills")
  // In the mesh's own order: the order the processes became ready in varies from run to run.
  const agents = meshAgents.map((agent) => stack.agents[agent])
  const kills: Array<{ agent: string; atMs: number }> = []
  const started = Date.now()
  const timers = Array.from({ length: count }, (_, i) => {
    const atMs = Math.round(
      dayLengthMs * (0.1 + (0.8 * (i + choices.int(0, 999) / 1000)) / Math.max(1, count)),
    )
    const agent = choices.pick(agents)
    return new Promise<void>((resolve) =>
      setTimeout(
        () => {
          agent.kill()
          kills.push({ agent: agent.agent, atMs: Date.now() - started })
          resolve()
        },
        Math.round(atMs / speed),
      ),
    )
  })
  return {
    done: async () => {
      await Promise.all(timers)
      return kills
    },
  }
}

/**
 * The live progress line: events, tickets and actions per second over the last second. On a
 * terminal it redraws one line; otherwise `say` gets a line every five seconds (stderr under
 * `--json`, so that whoever runs the day sees how far a day that never ends got).
 */
const progressLine = (watch: ReturnType<typeof watchLog>, tty: boolean, say: (line: string) => void) => {
  let last = { at: Date.now(), events: 0, tickets: 0, actions: 0 }
  const started = Date.now()
  const timer = setInterval(
    () => {
      const now = Date.now()
      const current = {
        at: now,
        events: watch.events().length,
        tickets: watch.count("TicketOpened"),
        actions: watch.count("ActionSucceeded"),
      }
      const per = (n: number, m: number) => ((n - m) / ((now - last.at) / 1000)).toFixed(0)
      const line = `  ${((now - started) / 1000).toFixed(0)} s  events ${current.events} (${per(current.events, last.events)}/s)  tickets ${current.tickets} (${per(current.tickets, last.tickets)}/s)  actions done ${current.actions} (${per(current.actions, last.actions)}/s)`
      if (tty) process.stdout.write(`\r${line.padEnd(100)}`)
      else if (Math.round((now - started) / 1000) % 5 === 0) say(line)
      last = current
    },
    tty ? 1_000 : 1_000,
  )
  return {
    stop: () => {
      clearInterval(timer)
      if (tty) process.stdout.write("\n")
    },
  }
}

/**
 * `pnpm demo`: a shop's day on the mesh. Starts the stack on embedded defaults, plays the planned
 * day, waits for the mesh to finish its work, and prints the summary from the log. With `keep`,
 * the mesh stays up until SIGINT or SIGTERM.
 */
export const runShopDay = async (options: ShopDayOptions): Promise<ShopDayOutcome> => {
  const namespace = `day${Date.now().toString(36)}`
  const plan = planDay(options.seed, options.size)
  const say = (line: string) => {
    if (options.output === "text") console.log(line)
  }
  say(
    `A shop's day on the mesh: ${options.size.tickets} tickets, ${options.size.orders} orders, ${options.size.products} products, seed ${options.seed}, speed ${options.speed}${options.faults ? ", the outside world's faults on" : ""}`,
  )
  const restarts: Record<string, number> = {}
  const startedAt = performance.now()
  const stack: MeshStack = await startMeshStack({
    namespace,
    keepData: options.keep,
    // The last day stays on the demo's own server for a look after it, until the next one.
    replaceEarlier: /^day[0-9a-z]+$/,
    ...(options.nats === undefined ? {} : { nats: options.nats }),
    onRestart: (agent) => {
      restarts[agent] = (restarts[agent] ?? 0) + 1
    },
  })
  const startMs = performance.now() - startedAt
  say(
    `  NATS ${stack.natsUrl} (${stack.natsSource}), namespace ${namespace}; ${Object.values(stack.agents).length} agent processes ready in ${(startMs / 1000).toFixed(1)} s (logs: ${stack.dataDir}/logs)`,
  )
  const nats = await openNats(stack.natsUrl, "mesh-demo")
  const watch = watchLog(nats, namespace)
  let outcome: ShopDayOutcome | undefined
  try {
    const vitalsAtStart = await readAgentVitals(meshAgents, stack.urlOf)
    const timesAtStart = await readReactionHistograms(meshAgents, stack.urlOf)
    const dayStarted = performance.now()
    options.during?.started()
    const progress =
      options.output === "text"
        ? progressLine(watch, tty, (line) => console.log(line))
        : options.output === "json"
          ? progressLine(watch, false, (line) => console.error(line))
          : undefined
    const chaos = killAgents(stack, plan.seed, options.kills, options.speed)
    const play = await playDay({ plan, stack, watch, speed: options.speed, faults: options.faults })
    // Under --json, where the day is (stderr): a day that never ends says which step it hangs in.
    const step = (line: string) => {
      if (options.output === "json") console.error(`  ${line}`)
    }
    step("the day's script is played")
    const kills = await chaos.done()
    // Every killed agent is back before the day is called.
    await Promise.all(Object.values(stack.agents).map((agent) => agent.ready()))
    step("every agent is ready; waiting for the mesh to finish the day's work")
    const unsettled = await settle(stack, watch)
    options.during?.settled()
    const settledMs = performance.now() - dayStarted
    const vitalsSettled = await readAgentVitals(meshAgents, stack.urlOf)
    const pidOf = (vitals: ReadonlyMap<string, { readonly pid: number } | Error>, agent: string) => {
      const read = vitals.get(agent)
      return read === undefined || read instanceof Error ? undefined : read.pid
    }
    const reactionTimes = dayReactionTimes(
      timesAtStart,
      await readReactionHistograms(meshAgents, stack.urlOf),
      // Another process than at the start (killed and restarted): its histograms count from its start.
      (agent) => pidOf(vitalsAtStart, agent) !== pidOf(vitalsSettled, agent),
    )
    const agentLoad = Object.fromEntries(
      meshAgents.map((agent) => [
        agent,
        agentLoadBetween(vitalsAtStart.get(agent), vitalsSettled.get(agent), settledMs),
      ]),
    )
    if (unsettled.length === 0) step("the mesh is done")
    else {
      step(`still working: ${unsettled.join(", ")}; the agents' last log lines:`)
      for (const agent of meshAgents)
        for (const line of lastLogLines(stack.logOf(agent), 5)) step(`  ${agent}: ${line.slice(0, 400)}`)
    }
    const world = await play.close()
    progress?.stop()
    const dayMs = performance.now() - dayStarted
    const opening = new Map(plan.products.map((p) => [p.sku, p.stock.opening]))
    const summary = summarizeDay(watch.events(), stack.simulators.ledger(), opening)
    outcome = {
      namespace,
      seed: options.seed,
      startMs,
      dayMs,
      summary,
      world,
      unsettled,
      restarts,
      kills,
      agentLoad,
      reactionTimes,
    }
    if (options.output === "json") console.log(JSON.stringify(outcome))
    else if (options.output === "text") {
      console.log(
        `\n${renderSummary({ summary, world, namespace, natsUrl: stack.natsUrl, kept: options.keep, dayMs, startMs, tty })}`,
      )
      if (unsettled.length > 0)
        console.log(`\nStill working when the day was called: ${unsettled.join(", ")}`)
    }
    if (options.keep)
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve())
        process.once("SIGTERM", () => resolve())
      })
    return outcome
  } finally {
    await watch.stop()
    await nats.connection.close().catch(() => undefined)
    await stack.stop()
  }
}
