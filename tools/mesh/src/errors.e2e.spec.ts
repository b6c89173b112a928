import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { freePorts, type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { linesOf, type MeshRun, runMesh } from "./testing/runMesh.ts"

let server: NatsServerHandle
let nats: NatsHandles
/** A port nothing listens on: freed by the OS a moment ago. */
let unreachable: string

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  const [port] = await freePorts(1)
  unreachable = `nats://127.0.0.1:${port}`
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

/** A failure as the issue asks: exactly one line on stderr, no stack trace, no Effect boilerplate. */
const expectOneLine = (run: MeshRun, code: number, mentions: ReadonlyArray<string>) => {
  const lines = linesOf(run.stderr)
  expect(lines, run.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^mesh: /)
  for (const text of mentions) expect(lines[0]).toContain(text)
  expect(run.stderr).not.toMatch(/^ {4}at /m)
  expect(run.stderr).not.toContain("An error occurred")
  expect(run.code, run.stderr).toBe(code)
}

const hash = "a".repeat(64)
const commandsOnNats: ReadonlyArray<ReadonlyArray<string>> = [
  ["streams"],
  ["streams", "--json"],
  ["tail", "customer"],
  ["tail", "customer", "--no-follow", "--json"],
  ["history", "customer", "ticket", "T-1"],
  ["dead-letters"],
  ["approvals"],
  ["approve", "customer-ops", "A-1", "--hash", hash, "--as", "maria"],
  ["reject", "customer-ops", "A-1", "--reason", "no", "--as", "maria"],
  ["cost", "--since", "24h", "--json"],
  ["registers"],
  ["registers", "get", "inventory-on-hand", "SKU-1", "--json"],
  ["conflicts"],
  ["conflicts", "--open", "--json"],
  ["conflicts", "resolve", "c-1", "--choose", "0", "--hash", hash, "--as", "maria"],
]

describe("mesh with NATS unreachable", () => {
  it.each(commandsOnNats)("%s … names the URL in one line and exits 4", async (...args) => {
    const run = await runMesh([...args, "--nats-url", unreachable])
    expectOneLine(run, 4, [`cannot reach NATS at ${unreachable}`])
    expect(run.stdout).toBe("")
  })

  it("reads the URL from MESH_NATS_URL too, and `mesh dev` uses it without starting a server", async () => {
    expectOneLine(await runMesh(["approvals"], { MESH_NATS_URL: unreachable }), 4, [unreachable])
    expectOneLine(await runMesh(["dev"], { MESH_NATS_URL: unreachable }), 4, [unreachable])
  })

  it("fails within seconds on a host that never answers, instead of waiting on reconnects", async () => {
    const started = performance.now()
    // 192.0.2.0/24 is TEST-NET-1: routed nowhere, so the connection attempt times out.
    const run = await runMesh(["dead-letters", "--nats-url", "nats://192.0.2.1:4222"])
    expectOneLine(run, 4, ["nats://192.0.2.1:4222"])
    expect(performance.now() - started).toBeLessThan(20_000)
  })

  it("says where to find NATS when nothing names one and no `mesh dev` runs", async () => {
    expectOneLine(await runMesh(["history", "customer", "ticket", "T-1"]), 4, [
      "--nats-url",
      "MESH_NATS_URL",
      "pnpm mesh dev",
    ])
  })
})

describe("mesh dev without its infrastructure", () => {
  it("prints how to install nats-server once, in one line, when none is on PATH", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mesh-dev-"))
    const run = await runMesh(["dev"], { PATH: join(dataDir, "no-bin"), MESH_DATA_DIR: dataDir })
    expectOneLine(run, 4, [
      "no nats-server on PATH",
      "apt-get install nats-server",
      "brew install",
      "docker run",
    ])
    expect(run.stderr.match(/brew install/g)).toHaveLength(1)
  })

  it("refuses a store that another process is still starting a server on", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mesh-dev-"))
    mkdirSync(join(dataDir, "nats"))
    // A live owner (this test's process) that has not recorded its server yet.
    writeFileSync(join(dataDir, "nats", "mesh-nats-server.json"), JSON.stringify({ ownerPid: process.pid }))
    expectOneLine(await runMesh(["dev"], { MESH_DATA_DIR: dataDir }), 4, [
      `${join(dataDir, "nats")} is in use by process ${process.pid}`,
    ])
  })

  it("names the Postgres it cannot reach, without its password", async () => {
    const [port] = await freePorts(1)
    const run = await runMesh(["dev", "--namespace", uniqueNamespace("dev")], {
      MESH_NATS_URL: server.url,
      MESH_DATABASE_URL: `postgres://mesh:secret@127.0.0.1:${port}/mesh`,
    })
    expectOneLine(run, 4, [`cannot reach Postgres at postgres://mesh:***@127.0.0.1:${port}/mesh`])
    expect(run.stderr).not.toContain("secret")
  })
})

describe("mesh exit codes", () => {
  it("exits 2 on bad arguments and bad settings, naming what is wrong", async () => {
    const badDomain = await runMesh(["tail", "nowhere", "--nats-url", server.url])
    expect(badDomain.code).toBe(2)
    expect(badDomain.stderr).toContain('Invalid value for argument <domain>: "nowhere"')
    expect((await runMesh(["bogus"])).code).toBe(2)
    expect((await runMesh([])).code).toBe(2)
    const badSince = await runMesh(["tail", "customer", "--since", "yesterday", "--nats-url", server.url])
    expect(badSince.code).toBe(2)
    expect(badSince.stderr).toContain("--since takes an ISO time")
    expectOneLine(await runMesh(["approvals", "--nats-url", server.url], { MESH_LOG_LEVEL: "loud" }), 2, [
      "MESH_LOG_LEVEL",
    ])
  })

  it("exits 3 when `mesh streams` finds drift, and reports it as JSON too", async () => {
    const namespace = uniqueNamespace("drift")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const [first] = declareTopology({ namespace })
    const info = await nats.jsm.streams.info(first!.name)
    await nats.jsm.streams.update(first!.name, { ...info.config, max_age: 3_600 * 1e9 })
    const text = await runMesh(["streams", "--nats-url", server.url, "--namespace", namespace])
    expect(text.code).toBe(3)
    expect(text.stdout).toContain(`DRIFTED    ${first!.name}`)
    const json = await runMesh(["streams", "--json", "--nats-url", server.url, "--namespace", namespace])
    expect(json.code).toBe(3)
    const drifted = linesOf(json.stdout)
      .map((line) => JSON.parse(line))
      .filter((s) => s.status === "drifted")
    expect(drifted).toEqual([
      { stream: first!.name, status: "drifted", fields: [expect.objectContaining({ field: "max_age" })] },
    ])
  })

  it("exits 0 after `mesh --help`, which lists every command", async () => {
    const help = await runMesh(["--help"])
    expect(help.code).toBe(0)
    for (const command of [
      "dev",
      "streams",
      "tail",
      "history",
      "dead-letters",
      "approvals",
      "approve",
      "reject",
      "registers",
      "conflicts",
      "eval",
    ])
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, "m"))
    expect(help.stdout).toContain("Exit codes: 0 success; 1 the command failed or refused; 2 usage error")
  })
})
