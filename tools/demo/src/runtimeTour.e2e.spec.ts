import { execFile } from "node:child_process"
import { join } from "node:path"
import { findRepoRoot, type NatsServerHandle, startNatsServer, workspaceNode } from "@mesh/stack"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

// `pnpm demo:runtime` walks through the runtime the agents are made of; this test keeps it working. It runs against this
// file's private server (MESH_NATS_URL) so that it never touches the project's .data store.

let server: NatsServerHandle
beforeAll(async () => {
  server = await startNatsServer()
})
afterAll(async () => {
  await server?.stop()
})

describe("pnpm demo:runtime", () => {
  it("plays the shop's morning end to end", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (resolve) =>
        execFile(
          workspaceNode(),
          [join(findRepoRoot(), "tools", "demo", "src", "runtimeTour.ts")],
          { env: { ...process.env, MESH_NATS_URL: server.url }, timeout: 120_000 },
          (error, out, err) =>
            resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout: out, stderr: err }),
        ),
    )
    expect(code, stderr).toBe(0)
    expect(stdout).toMatch(/writer [AB]: won/)
    expect(stdout).toMatch(/writer [AB]: lost: concurrency conflict/)
    expect(stdout).toContain("retry duplicate=true")
    expect(stdout).toContain("read back as TicketOpened v2 with channel=email")
    expect(stdout).toContain("demo-refunds gave up on")
    expect(stdout).toContain("refund A-1: require-approval")
    expect(stdout).toContain("a purchase order proposed by the reply skill: deny (allow-list)")
    expect(stdout).toContain("approve 490.00 EUR instead: Refused parameters-mismatch")
    expect(stdout).toMatch(/approve the shown refund: Approved; executor says succeeded/)
    expect(stdout).toContain("SagaCompensating → SagaStepCompensated → SagaStepCompensated → SagaCompensated")
    expect(stdout).toContain("payment refund.created re_000001 key A-1")
    expect(stdout).toMatch(/Done in [\d.]+s/)
  })
})
