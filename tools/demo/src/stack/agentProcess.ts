import { type ChildProcess, spawn } from "node:child_process"
import { closeSync, createWriteStream, openSync, readSync, statSync, type WriteStream } from "node:fs"
import { join } from "node:path"
import { findRepoRoot, ownProcess, waitFor, workspaceNode } from "@mesh/stack"

/** The mesh's processes: the three domain agents and the conflict resolver, each started by its path. */
export const meshAgents = ["procurement", "content-ops", "customer-ops", "conflict-resolver"] as const
/** One of the mesh's processes. */
export type MeshAgent = (typeof meshAgents)[number]

/** How an agent process is started: its name, and the environment a deployment would give it. */
export interface AgentProcessSpec {
  readonly agent: MeshAgent
  /** Its HTTP port, fixed for the run so that a restarted process answers where the last one did. */
  readonly port: number
  readonly env: Readonly<Record<string, string>>
  /** Where its log lines go (stdout and stderr, appended across restarts). */
  readonly logFile: string
}

/** A supervised agent process: restarted when it dies of anything but a stop (ours, or a drain to exit 0). */
export interface AgentProcess {
  readonly agent: MeshAgent
  readonly url: string
  /** The running process's pid (a new one after each restart). */
  readonly pid: () => number | undefined
  /** Times it died and was started again. */
  readonly restarts: () => number
  /** Kills it with SIGKILL, as a node losing power would; the supervisor starts it again. */
  readonly kill: () => void
  /** Resolves once the process answers ready (after a restart, the new one). */
  readonly ready: () => Promise<void>
  /** Stops it with SIGTERM (it drains), SIGKILL after the grace period. */
  readonly stop: () => Promise<void>
}

const entryOf = (agent: MeshAgent) => join(findRepoRoot(), "services", agent, "src", "main.ts")

/**
 * Starts in a row that end before the process is ready, after which the supervisor stops
 * restarting it: a bad setting or a missing dependency fails every start the same way, and the
 * demo then says why at once instead of restarting it until its two minutes are up.
 */
export const FAILED_STARTS_BEFORE_GIVING_UP = 3

/** The last lines (up to `count`) a process wrote to its log, e.g. what it said as it stopped. */
export const lastLogLines = (file: string, count: number): ReadonlyArray<string> => {
  try {
    const size = statSync(file).size
    const length = Math.min(size, 4096)
    const buffer = Buffer.alloc(length)
    const fd = openSync(file, "r")
    try {
      readSync(fd, buffer, 0, length, size - length)
    } finally {
      closeSync(fd)
    }
    return buffer
      .toString("utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "")
      .slice(-count)
  } catch {
    return []
  }
}

const readyz = async (url: string): Promise<boolean> => {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok
  } catch {
    return false
  }
}

/**
 * Starts an agent's process and keeps it running: when it exits while not being stopped (a crash,
 * a `kill -9`), it is started again on the same port and environment, as Kubernetes restarts a pod.
 * Resolves once the first process is ready.
 */
export const startAgentProcess = async (
  spec: AgentProcessSpec,
  options: { readonly startTimeoutMs?: number; readonly onRestart?: (agent: MeshAgent) => void } = {},
): Promise<AgentProcess> => {
  const url = `http://127.0.0.1:${spec.port}`
  const log: WriteStream = createWriteStream(spec.logFile, { flags: "a" })
  let child: ChildProcess | undefined
  let stopping = false
  let restarts = 0
  let starting: Promise<void> = Promise.resolve()
  const startTimeoutMs = options.startTimeoutMs ?? 120_000
  // Starts in a row that ended before ready, and why the supervisor gave up, once it has.
  let failedStarts = 0
  let gaveUp: string | undefined
  // Processes this supervisor killed itself.
  const killed = new WeakSet<ChildProcess>()

  const launch = (): Promise<void> => {
    const process_ = spawn(workspaceNode(), [entryOf(spec.agent)], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        ...spec.env,
        MESH_HTTP_HOST: "127.0.0.1",
        MESH_HTTP_PORT: String(spec.port),
      },
      stdio: ["ignore", "pipe", "pipe"],
    })
    // It dies with the supervisor, however the supervisor dies (a SIGKILL, a harness's timeout):
    // an agent left running would go on acting on the day's streams, unsupervised and unseen.
    ownProcess(process_)
    child = process_
    let ready = false
    process_.stdout?.pipe(log, { end: false })
    process_.stderr?.pipe(log, { end: false })
    process_.once("exit", (code, signal) => {
      // A process that drained and exited 0 was asked to stop (Ctrl-C in the terminal reaches the
      // whole process group); anything else (a crash, SIGKILL) is restarted, unless it keeps
      // ending before it is ready.
      if (stopping || child !== process_ || (code === 0 && signal === null)) return
      // A kill of ours (the demo's chaos) is not the process failing to start, however early it came.
      failedStarts = ready ? 0 : killed.has(process_) ? failedStarts : failedStarts + 1
      if (failedStarts >= FAILED_STARTS_BEFORE_GIVING_UP) {
        // Its pipes may still hold its last words: read the log once they are flushed.
        setTimeout(() => {
          const said = lastLogLines(spec.logFile, 1)[0] ?? ""
          gaveUp = `${spec.agent} ended ${failedStarts} times in a row before it was ready (last: ${signal ?? `exit code ${code}`})${said === "" ? "" : `: ${said}`}; its log: ${spec.logFile}`
        }, 100)
        return
      }
      restarts += 1
      options.onRestart?.(spec.agent)
      starting = launch()
      // A restart that fails is seen by the next caller of ready().
      starting.catch(() => undefined)
    })
    // A restarted process answers on the same port, so an earlier wait ends when it is ready.
    return waitFor(`${spec.agent} is ready`, async () => ((await readyz(url)) ? true : undefined), {
      timeoutMs: startTimeoutMs,
      stopIf: () => gaveUp,
    }).then(() => {
      if (child === process_) ready = true
    })
  }

  starting = launch()
  await starting

  return {
    agent: spec.agent,
    url,
    pid: () => child?.pid,
    restarts: () => restarts,
    kill: () => {
      if (child === undefined) return
      killed.add(child)
      child.kill("SIGKILL")
    },
    ready: () => starting,
    stop: async () => {
      stopping = true
      const running = child
      if (running !== undefined && running.exitCode === null && running.signalCode === null) {
        const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()))
        running.kill("SIGTERM")
        const timer = setTimeout(() => running.kill("SIGKILL"), 15_000)
        await exited
        clearTimeout(timer)
      }
      await new Promise<void>((resolve) => log.end(() => resolve()))
    },
  }
}
