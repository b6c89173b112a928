import { execFile, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findRepoRoot, workspaceNode } from "@mesh/stack"

/** What one `mesh` run printed and exited with. */
export interface MeshRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** The `mesh` entry point, as `pnpm mesh` runs it. */
export const meshMain = (): string => join(findRepoRoot(), "tools", "mesh", "src", "main.ts")

// An empty data folder, so that a `mesh dev` the developer runs on the project is never found.
let emptyDataDir: string | undefined

/**
 * Runs `mesh <args>` with the workspace's Node. The environment is the test's without any MESH_*
 * setting, plus `env`; MESH_DATA_DIR defaults to an empty folder.
 */
export const runMesh = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
  options: { readonly nodeArgs?: ReadonlyArray<string>; readonly timeoutMs?: number } = {},
): Promise<MeshRun> => {
  emptyDataDir ??= mkdtempSync(join(tmpdir(), "mesh-cli-data-"))
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("MESH_")),
  )
  return new Promise((resolve) => {
    execFile(
      workspaceNode(),
      [...(options.nodeArgs ?? []), meshMain(), ...args],
      {
        env: { ...inherited, MESH_DATA_DIR: emptyDataDir!, ...env },
        timeout: options.timeoutMs ?? 60_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    )
  })
}

/** The lines of a stream's output, without the final newline's empty one. */
export const linesOf = (text: string): ReadonlyArray<string> => text.split("\n").filter((line) => line !== "")

/** A `mesh` command left running (`mesh dev`, `mesh tail`): its output so far, and how to end it. */
export interface RunningMesh {
  /** Resolves with stdout once it contains `text`; rejects when the process exits first. */
  readonly waitFor: (text: string) => Promise<string>
  /** Sends `signal` (default SIGINT, as Ctrl-C does) and resolves with how the process ended. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<MeshRun>
}

/** Starts `mesh <args>` (environment as {@link runMesh}) and leaves it running. */
export const startMesh = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): RunningMesh => {
  emptyDataDir ??= mkdtempSync(join(tmpdir(), "mesh-cli-data-"))
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("MESH_")),
  )
  const child = spawn(workspaceNode(), [meshMain(), ...args], {
    env: { ...inherited, MESH_DATA_DIR: emptyDataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<MeshRun>((resolve) =>
    child.once("exit", (code, signal) =>
      resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr }),
    ),
  )
  return {
    waitFor: (text) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!stdout.includes(text)) return false
          child.stdout.off("data", check)
          resolve(stdout)
          return true
        }
        if (check()) return
        child.stdout.on("data", check)
        void exited.then((run) =>
          reject(new Error(`mesh exited (${run.code}) before printing ${text}: ${run.stderr}`)),
        )
      }),
    stop: (signal = "SIGINT") => {
      child.kill(signal)
      return exited
    },
  }
}
