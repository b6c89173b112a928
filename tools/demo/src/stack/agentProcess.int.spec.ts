import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePorts } from "@mesh/stack"
import { afterAll, describe, expect, it } from "vitest"
import { FAILED_STARTS_BEFORE_GIVING_UP, startAgentProcess } from "./agentProcess.ts"

const dir = mkdtempSync(join(tmpdir(), "agent-process-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

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
})
