/**
 * Servers started by this process must not outlive it, nor leave their temp dirs behind. A plain
 * 'exit' listener misses deaths by signal (a SIGKILLed test worker), so a small shell watchdog
 * holds a pipe from us; when we die the pipe closes and it kills the pids still listed and removes
 * the dirs still listed.
 *
 * natsServer.ts and postgresServer.ts both use it.
 */
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { rm } from "node:fs/promises"
import type { Socket } from "node:net"

const liveChildren = new Set<ChildProcess>()
const tempDirsToRemove = new Set<string>()
let exitHookInstalled = false
let watchdog: ChildProcess | undefined

// It ignores INT, HUP and TERM: a signal to our whole process group (Ctrl-C, GNU timeout) must
// reach it only through our death, or the dirs it holds would be left behind.
const WATCHDOG_SCRIPT = `trap "" INT HUP TERM
pids=" "
dirs=""
while read -r op arg; do
  case "$op" in
    add) pids="$pids$arg " ;;
    del) pids=$(printf '%s' "$pids" | sed "s/ $arg / /") ;;
    dir) dirs="$dirs
$arg" ;;
    undir) dirs=$(printf '%s\\n' "$dirs" | grep -vxF -- "$arg") ;;
  esac
done
for p in $pids; do kill -KILL "$p" 2>/dev/null; done
printf '%s\\n' "$dirs" | while IFS= read -r d; do [ -n "$d" ] && rm -rf "$d"; done
`

const tellWatchdog = (line: string): void => {
  const stdin = watchdog?.stdin
  if (stdin && !stdin.destroyed && stdin.writable) stdin.write(`${line}\n`)
}

/** Installs the exit hook and the watchdog once per process. */
export const installExitHooks = (): void => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL")
    for (const dir of tempDirsToRemove) rmSync(dir, { recursive: true, force: true })
  })
  const dog = spawn("sh", ["-c", WATCHDOG_SCRIPT], { stdio: ["pipe", "ignore", "ignore"] })
  dog.on("error", () => {
    watchdog = undefined
  })
  dog.stdin?.on("error", () => undefined)
  dog.unref()
  ;(dog.stdin as Socket | null)?.unref()
  watchdog = dog
}

/** Kills `child` when this process dies, until it exits by itself. */
export const ownProcess = (child: ChildProcess): void => {
  installExitHooks()
  liveChildren.add(child)
  const pid = child.pid
  if (pid !== undefined) tellWatchdog(`add ${pid}`)
  child.once("exit", () => {
    liveChildren.delete(child)
    if (pid !== undefined) tellWatchdog(`del ${pid}`)
  })
}

/** Removes `dir` when this process dies, unless {@link releaseTempDir} removed it first. */
export const ownTempDir = (dir: string): void => {
  installExitHooks()
  tempDirsToRemove.add(dir)
  tellWatchdog(`dir ${dir}`)
}

/** Removes a dir registered with {@link ownTempDir}. */
export const releaseTempDir = async (dir: string): Promise<void> => {
  await rm(dir, { recursive: true, force: true })
  tempDirsToRemove.delete(dir)
  tellWatchdog(`undir ${dir}`)
}

/** Resolves once the child has exited (at once if it already has). */
export const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()))

/** Whether the child is still running. */
export const isRunning = (child: ChildProcess | undefined): boolean =>
  child !== undefined && child.exitCode === null && child.signalCode === null

/** The last lines a server logged, for error messages. */
export class LogTail {
  private lines: Array<string> = []
  private partial = ""
  private readonly limit: number

  constructor(limit = 40) {
    this.limit = limit
  }

  push(chunk: string): void {
    const parts = (this.partial + chunk).split("\n")
    this.partial = parts.pop() ?? ""
    this.lines.push(...parts)
    if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit)
  }

  text(): string {
    return [...this.lines, this.partial].filter((l) => l.length > 0).join("\n")
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
