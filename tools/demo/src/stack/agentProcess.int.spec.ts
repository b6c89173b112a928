import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { freePorts, waitFor, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, describe, expect, it } from "vitest"
import { FAILED_STARTS_BEFORE_GIVING_UP, startAgentProcess } from "./agentProcess.ts"

const dir = mkdtempSync(join(tmpdir(), "agent-process-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const nats = useNatsServer()

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("the demo's supervisor of an agent process", () => {
  it("gives up on a process that ends before it is ready, saying why, instead of restarting it for good", async () => {
    const [port] = await freePorts(1)
    const restarts: Array<string> = []
    const started = performance.now()
    const outcome = await startAgentProcess(
      {
        agent: "conflict-resolver",
        port: port as number,
        // A setting no agent can run with: every start ends at once, the same way.
        env: { MESH_NATS_URL: "nats://127.0.0.1:1", MESH_NAMESPACE: "Not A Namespace!" },
        logFile: join(dir, "resolver.log"),
      },
      { onRestart: (agent) => restarts.push(agent) },
    ).then(
      () => "ready",
      (error: Error) => error.message,
    )
    expect(outcome).toContain(
      `conflict-resolver ended ${FAILED_STARTS_BEFORE_GIVING_UP} times in a row before it was ready`,
    )
    // The process's own last words name the setting.
    expect(outcome).toContain("MESH_NAMESPACE")
    expect(restarts).toHaveLength(FAILED_STARTS_BEFORE_GIVING_UP - 1)
    // Long before the two minutes a start may take.
    expect(performance.now() - started).toBeLessThan(60_000)
  }, 90_000)

  it("dies with its supervisor: a demo killed with SIGKILL leaves no agent process running", async () => {
    const [port] = await freePorts(1)
    // A supervisor in a process of its own, as `pnpm demo` is: it starts the resolver and says its pid.
    const supervisor = spawn(
      workspaceNode(),
      [
        "--input-type=module",
        "-e",
        `const { startAgentProcess } = await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, "agentProcess.ts")).href)})
const agent = await startAgentProcess(${JSON.stringify({
          agent: "conflict-resolver",
          port,
          env: {
            MESH_NATS_URL: nats.url,
            MESH_NAMESPACE: "orphans",
            MESH_DATABASE_URL: `pglite:${join(dir, "pglite-resolver")}`,
            MESH_INSTANCE_ID: "conflict-resolver-1",
          },
          logFile: join(dir, "orphan.log"),
        })})
process.stdout.write(agent.pid() + "\\n")`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    )
    const agentPid = await new Promise<number>((resolve, reject) => {
      let said = ""
      supervisor.stdout?.on("data", (chunk: Buffer) => {
        said += chunk.toString()
        if (said.includes("\n")) resolve(Number(said.trim()))
      })
      supervisor.once("exit", (code) =>
        reject(new Error(`the supervisor ended (${code}) before its agent was ready`)),
      )
    })
    expect(isAlive(agentPid)).toBe(true)
    try {
      supervisor.kill("SIGKILL")
      // Nothing is left to stop it or to read what it writes: it must go by itself.
      await waitFor("the orphaned agent to end", async () => (isAlive(agentPid) ? undefined : true), {
        timeoutMs: 20_000,
      })
    } finally {
      if (isAlive(agentPid)) process.kill(agentPid, "SIGKILL")
    }
  }, 90_000)
})
