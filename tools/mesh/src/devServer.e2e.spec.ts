import { execFile } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findRepoRoot, type NatsServerHandle, startNatsServer, workspaceNode } from "@mesh/stack"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMesh, startMesh } from "./testing/runMesh.ts"

// A server on a project's store, as `mesh dev` leaves it: the store is locked, and the lock names
// the server's URL and pid.
let dataDir: string
let server: NatsServerHandle

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "mesh-project-"))
  server = await startNatsServer({ storeDir: join(dataDir, "nats") })
})
afterAll(async () => {
  await server?.stop()
})

describe("a running mesh dev server", () => {
  it("is reused by a second `mesh dev`, which says so in one line and leaves it running", async () => {
    const second = startMesh(["dev"], { MESH_DATA_DIR: dataDir })
    const out = await second.waitFor("Ctrl-C")
    expect(out.split("\n").filter((line) => line.includes("reusing"))).toEqual([
      `NATS      ${server.url} (reusing the nats-server (pid ${server.pid}) that process ${process.pid} runs on ${join(dataDir, "nats")})`,
    ])
    expect(out).toContain(`export MESH_NATS_URL=${server.url}`)
    const ended = await second.stop()
    expect(ended.code, ended.stderr).toBe(0)
    expect(server.running).toBe(true)
  })

  it("is where the other commands look when no URL is given", async () => {
    const run = await runMesh(["approvals", "--json"], { MESH_DATA_DIR: dataDir })
    expect(run.code, run.stderr).toBe(0)
  })

  it("is reused by `pnpm demo`, which says so", async () => {
    const { MESH_NATS_URL: _, ...env } = process.env
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        workspaceNode(),
        [
          join(findRepoRoot(), "tools", "demo", "src", "main.ts"),
          ...["--tickets", "3", "--orders", "2", "--products", "2", "--speed", "5", "--no-faults"],
        ],
        { env: { ...env, MESH_DATA_DIR: dataDir }, timeout: 180_000 },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
      ),
    )
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain(`NATS ${server.url} (the server of \`mesh dev\`, pid ${server.pid})`)
    expect(server.running).toBe(true)
  }, 200_000)

  it("runs the whole mesh with --with-agents: the agents answer, the printed settings reach them, Ctrl-C stops them", async () => {
    const namespace = `withagents${Date.now().toString(36)}`
    const dev = startMesh(["dev", "--with-agents", "--namespace", namespace], { MESH_DATA_DIR: dataDir })
    const out = await dev.waitFor("Ctrl-C stops the agents")
    const pids = [...out.matchAll(/\(pid (\d+), log/g)].map((m) => Number(m[1]))
    expect(pids).toHaveLength(4)
    // The settings it prints, as a developer pastes them into another terminal.
    const exported = out.slice(out.indexOf("export ")).split("\n").slice(0, 3).join(" ").replaceAll("\\", " ")
    const settings = Object.fromEntries(
      [...exported.matchAll(/(MESH_[A-Z_]+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]),
    )
    expect(settings).toMatchObject({ MESH_NATS_URL: server.url, MESH_NAMESPACE: namespace })
    const opened = await runMesh(
      [
        "tickets",
        "open",
        "--customer",
        "c-1",
        "--subject",
        "Order 1001",
        "--body",
        "Where is my order 1001?",
      ],
      { ...settings, MESH_DATA_DIR: dataDir },
    )
    expect(opened.code, opened.stderr).toBe(0)
    const ticketId = opened.stdout.trim()
    let listed = ""
    // Triaged once customer ops has answered it (a minute at most on a loaded machine).
    for (let i = 0; i < 240 && !listed.includes("intent=order_status"); i++) {
      await new Promise((r) => setTimeout(r, 250))
      listed = (await runMesh(["tickets"], { ...settings, MESH_DATA_DIR: dataDir })).stdout
    }
    expect(listed).toContain(`${ticketId} open customer=c-1 intent=order_status`)
    const ended = await dev.stop()
    expect(ended.code, ended.stderr).toBe(0)
    // Every agent process stopped with it; the server it reused keeps running.
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
    expect(server.running).toBe(true)
  }, 240_000)
})

describe("mesh dev on a free store", () => {
  it("starts a private server there, serves a second `mesh dev`, and stops it on Ctrl-C", async () => {
    const project = mkdtempSync(join(tmpdir(), "mesh-project-"))
    const first = startMesh(["dev"], { MESH_DATA_DIR: project })
    const out = await first.waitFor("Ctrl-C stops the stack.")
    const url = /^NATS {6}(\S+) \(private nats-server/m.exec(out)?.[1]
    expect(url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/)
    const second = startMesh(["dev"], { MESH_DATA_DIR: project })
    expect(await second.waitFor("Ctrl-C stops this command; the server keeps running.")).toContain(
      `NATS      ${url} (reusing`,
    )
    expect((await second.stop()).code).toBe(0)
    const ended = await first.stop()
    expect(ended.code, ended.stderr).toBe(0)
    expect(ended.stderr).toBe("")
    expect(existsSync(join(project, "nats", "mesh-nats-server.json"))).toBe(false)
  })
})
