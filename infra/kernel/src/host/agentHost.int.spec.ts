import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type ProcessVitals, type ReactionTimesSummary, reactionMetricNames } from "@mesh/contracts"
import { makeEventLog, openNats } from "@mesh/eventlog"
import { postgresTestUrl, uniqueNamespace, waitFor, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCommandHandler } from "../deciders/commandHandler.ts"
import { deterministicUuid } from "../deciders/ids.ts"
import { readModelSchemaOf } from "../projections/names.ts"
import { boardAggregate, taskAggregate, taskCatalog } from "../testing/taskBoard.ts"

const agentScript = join(import.meta.dirname, "..", "testing", "taskBoardAgent.ts")

const server = useNatsServer()

// A PATH whose `nats-server` and `docker` only leave a mark when something runs them: an agent
// process must never start infrastructure of its own, whatever its settings lack.
let decoys = ""
beforeAll(async () => {
  decoys = await mkdtemp(join(tmpdir(), "mesh-host-decoys-"))
  for (const name of ["nats-server", "docker"]) {
    const path = join(decoys, name)
    await writeFile(path, `#!/bin/sh\ntouch "${decoys}/${name}.ran"\nsleep 30\n`)
    await chmod(path, 0o755)
  }
})
afterAll(async () => {
  await rm(decoys, { recursive: true, force: true })
})

/** Starts the task-board agent with exactly these settings (nothing inherited but PATH and HOME). */
const startAgentProcess = (env: Record<string, string>, args: ReadonlyArray<string> = [agentScript]) => {
  const child = spawn(workspaceNode(), args, {
    env: { PATH: `${decoys}:${process.env.PATH ?? ""}`, HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += d))
  child.stderr!.on("data", (d) => (stderr += d))
  const started = performance.now()
  const exited = new Promise<{ code: number | null; afterMs: number }>((resolve) =>
    child.on("exit", (code) => resolve({ code, afterMs: performance.now() - started })),
  )
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

const urlFrom = (output: string) => /ready on (http:\/\/[^\s"]+)/.exec(output)?.[1]

const complete = { MESH_DATABASE_URL: "pglite:memory", MESH_HTTP_PORT: "0", MESH_HTTP_HOST: "127.0.0.1" }

describe("agent host", () => {
  it("stops within 2 s naming MESH_NATS_URL when it is missing, and starts no server", async () => {
    const agent = startAgentProcess({ ...complete })
    const { code, afterMs } = await agent.exited
    expect(code).toBe(1)
    const lines = agent.stderr().trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^agent task-board cannot run: missing setting: MESH_NATS_URL$/)
    expect(agent.stdout()).toBe("")
    expect(existsSync(join(decoys, "nats-server.ran"))).toBe(false)
    expect(existsSync(join(decoys, "docker.ran"))).toBe(false)
    // The goal is 2 s; on an idle 2-core machine it exits in about 1.1 s, nearly all of it loading
    // its modules. A loaded CI machine stretches that, so the check is against the same modules
    // loaded by a process that does nothing else: stopping adds no wait for a connection, a
    // timeout or a server.
    const loading = startAgentProcess({}, [
      "--input-type=module",
      "-e",
      `await import(${JSON.stringify(agentScript)})`,
    ])
    const baseline = await loading.exited
    expect(baseline.code).toBe(0)
    expect(afterMs - baseline.afterMs).toBeLessThan(1_000)
  })

  it("stops naming MESH_DATABASE_URL when it is missing: no embedded database it was not told to use", async () => {
    const agent = startAgentProcess({ MESH_NATS_URL: server.url, MESH_HTTP_PORT: "0" })
    expect((await agent.exited).code).toBe(1)
    expect(agent.stderr().trim()).toBe("agent task-board cannot run: missing setting: MESH_DATABASE_URL")
  })

  it("stops naming the URL when NATS does not answer", async () => {
    const agent = startAgentProcess({ ...complete, MESH_NATS_URL: "nats://127.0.0.1:1" })
    const { code } = await agent.exited
    expect(code).toBe(1)
    expect(agent.stderr().trim().split("\n")).toHaveLength(1)
    expect(agent.stderr()).toContain("nats://127.0.0.1:1")
    expect(agent.stderr()).not.toMatch(/^\s+at /m)
  })

  it("stops at start-up with one line naming a bad setting", async () => {
    for (const [name, value] of [
      ["MESH_HTTP_PORT", "eighty"],
      ["MESH_NAMESPACE", "Not.Valid"],
      ["MESH_STREAM_REPLICAS", "9"],
      ["MESH_DATABASE_URL", "mysql://db/mesh"],
      ["MESH_LOG_LEVEL", "loud"],
    ] as const) {
      const agent = startAgentProcess({ ...complete, MESH_NATS_URL: server.url, [name]: value })
      expect((await agent.exited).code).toBe(1)
      const lines = agent.stderr().trim().split("\n")
      expect(lines, agent.stderr()).toHaveLength(1)
      expect(lines[0]).toContain(name)
    }
  })

  it("stops with exit code 3 naming the loss when its embedded database's thread dies, and its restart opens the files again", async () => {
    const namespace = uniqueNamespace("lost")
    const dataDir = await mkdtemp(join(tmpdir(), "mesh-host-lost-"))
    const env = {
      ...complete,
      MESH_NATS_URL: server.url,
      MESH_NAMESPACE: namespace,
      MESH_DATABASE_URL: `pglite:${dataDir}`,
    }
    // An agent that ends while it is awaited fails the wait at once, with its log.
    const readyAt = async (agent: ReturnType<typeof startAgentProcess>) => {
      let ended = false
      void agent.exited.then(() => (ended = true))
      const watch = {
        timeoutMs: 30_000,
        stopIf: () => (ended ? `the agent ended before it was ready: ${agent.stderr()}` : undefined),
        detail: agent.stderr,
      }
      const url = await waitFor("the agent listens", async () => urlFrom(agent.stderr()), watch)
      await waitFor(
        "the agent is ready",
        async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
        watch,
      )
      return url
    }
    const nats = await openNats(server.url)
    const tasks = makeCommandHandler(makeEventLog({ nats, catalog: taskCatalog, namespace }), taskAggregate)
    const open = (title: string, i: number) =>
      Effect.runPromise(
        tasks.handle({
          commandId: deterministicUuid(`${namespace}-${i}`, 1),
          aggregateId: `t${i}`,
          command: { _tag: "OpenTask", title },
          issuedAt: 1_700_000_000_000,
          metadata: { correlationId: "c", causationId: null, actor: { kind: "human", id: "ana" } },
        }),
      )
    // The task list's checkpoint, from /status.
    const checkpoint = async (url: string) => {
      const status = (await (await fetch(`${url}/status`)).json()) as {
        readonly workers: ReadonlyArray<{
          readonly name: string
          readonly status?: { readonly streams: ReadonlyArray<{ readonly checkpoint: number }> }
        }>
      }
      return (
        status.workers.find((w) => w.name === "projection task-list")?.status?.streams[0]?.checkpoint ?? 0
      )
    }
    const holds = (
      url: string,
      appended: { readonly position: { readonly sequence: number } },
      what: string,
    ) =>
      waitFor(what, async () => ((await checkpoint(url)) >= appended.position.sequence ? true : undefined), {
        timeoutMs: 20_000,
      })
    const losing = startAgentProcess(env, [
      join(import.meta.dirname, "..", "testing", "taskBoardAgentLosingItsDatabase.ts"),
    ])
    let restarted: ReturnType<typeof startAgentProcess> | undefined
    try {
      const url = await readyAt(losing)
      const first = await open("Pack order 7", 1)
      await holds(url, first, "the task list holds the task")

      losing.child.kill("SIGUSR2")
      const { code } = await losing.exited
      expect(code).toBe(3)
      const lastLine = losing.stderr().trim().split("\n").at(-1)
      expect(lastLine).toBe(
        `agent task-board stopped: the read-model database (PGlite in ${dataDir}) is lost: PGlite's thread ended unasked (exit code 1); the process must start again to open it`,
      )

      // Restarted, as Kubernetes or the demo restarts it: the files open again, with what was written.
      restarted = startAgentProcess(env, [agentScript])
      const again = await readyAt(restarted)
      const second = await open("Pack order 8", 2)
      await holds(again, second, "the task list holds the next task too")
    } finally {
      // Both ended before their folder goes: neither may still be writing in it.
      losing.child.kill("SIGKILL")
      await losing.exited
      restarted?.child.kill("SIGTERM")
      await restarted?.exited
      await nats.connection.close()
      await rm(dataDir, { recursive: true, force: true })
    }
    // Two agents on PGlite started one after the other, and a drain between: above the project's
    // default on a loaded machine.
  }, 150_000)

  it("serves health, readiness and status, reacts, logs to stderr only, and drains on SIGTERM", async () => {
    const namespace = uniqueNamespace("host")
    const readModelSchema = readModelSchemaOf(namespace, "task-board")
    const agent = startAgentProcess({
      ...complete,
      MESH_NATS_URL: server.url,
      MESH_NAMESPACE: namespace,
      MESH_DATABASE_URL: postgresTestUrl(),
    })
    let child: ChildProcess | undefined = agent.child
    try {
      const url = await waitFor("the agent listens", async () => urlFrom(agent.stderr()), {
        timeoutMs: 20_000,
      })
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
      // Ready once its projection's tables are set up, not merely once it listens.
      await waitFor(
        "the agent is ready",
        async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
        {
          timeoutMs: 20_000,
        },
      )

      const nats = await openNats(server.url)
      const log = makeEventLog({ nats, catalog: taskCatalog, namespace })
      const tasks = makeCommandHandler(log, taskAggregate)
      const board = makeCommandHandler(log, boardAggregate)
      const send = (command: Parameters<typeof tasks.handle>[0]["command"], i: number) =>
        Effect.runPromise(
          tasks.handle({
            commandId: deterministicUuid(`${namespace}-${i}`, 1),
            aggregateId: "t1",
            command,
            issuedAt: 1_700_000_000_000,
            metadata: { correlationId: "c", causationId: null, actor: { kind: "human", id: "ana" } },
          }),
        )
      await send({ _tag: "OpenTask", title: "Pack order 7" }, 0)
      await send({ _tag: "AssignTask", assignee: "ana" }, 1)
      await send({ _tag: "CompleteTask", by: "ana" }, 2)
      await waitFor(
        "the completion is tallied",
        async () => {
          const s = await Effect.runPromise(board.state("main"))
          return s.state.completions === 1 ? true : undefined
        },
        { timeoutMs: 20_000 },
      )

      // The projection worker keeps the task list in the agent's read-model database.
      const pool = new pg.Pool({ connectionString: postgresTestUrl(), max: 1 })
      const row = await waitFor(
        "the task list shows the task done",
        async () => {
          const result = await pool.query(
            `select title, status, assignee from "${readModelSchema}".task_list`,
          )
          return result.rows[0]?.status === "done" ? result.rows[0] : undefined
        },
        { timeoutMs: 20_000 },
      )
      expect(row).toEqual({ title: "Pack order 7", status: "done", assignee: "ana" })

      const status = (await (await fetch(`${url}/status`)).json()) as {
        ready: boolean
        dependencies: { nats: { ok: boolean }; database: { ok: boolean } }
        reactors: Array<{ name: string; pending: number; timing: ReactionTimesSummary }>
        parts: Array<{ name: string; kind: string; state: string }>
        workers: Array<{ name: string; status: { lag: number } }>
        process: ProcessVitals
      }
      expect(status.ready).toBe(true)
      expect(status.dependencies).toEqual({ nats: { ok: true }, database: { ok: true } })
      expect(status.parts.map(({ name, kind, state }) => ({ name, kind, state }))).toEqual([
        { name: "projection task-list", kind: "worker", state: "running" },
        { name: "tally-completions", kind: "reactor", state: "running" },
      ])
      expect(status.reactors[0]).toMatchObject({ name: "tally-completions", pending: 0 })
      // Where its reaction to the completion spent its time: on its way, its own work, its commands
      // (noted once its command's events are stored, so asked until it is).
      const { timing } = await waitFor(
        "the reaction's times are noted",
        async () => {
          const now = (await (await fetch(`${url}/status`)).json()) as typeof status
          return now.reactors[0]?.timing.workMs?.count === 1 ? now.reactors[0] : undefined
        },
        { timeoutMs: 10_000 },
      )
      expect(timing.deliveryMs?.count).toBe(1)
      expect(timing.workMs?.count).toBe(1)
      expect(timing.commitMs?.count).toBe(1)
      expect(timing.queueMs?.p99).toBeLessThanOrEqual(timing.deliveryMs!.p99)
      expect(timing.deliveryMs!.p50).toBeLessThan(20_000)
      expect(timing.meshMs!.count).toBe(1)
      // The same as histograms, for Prometheus.
      const metrics = await (await fetch(`${url}/metrics`)).text()
      const series = `{agent="task-board",reactor="tally-completions",domain="content",le="+Inf"}`
      for (const name of Object.values(reactionMetricNames))
        expect(metrics).toContain(`${name}_bucket${series} 1`)
      expect(status.workers[0]).toMatchObject({ name: "projection task-list", status: { lag: 0 } })
      // The agent's own process, not the spec's: it started, loaded its modules and reacted.
      expect(status.process.pid).toBe(agent.child.pid)
      expect(status.process.cpuSeconds.user).toBeGreaterThan(0)
      expect(status.process.eventLoop.activeMs).toBeGreaterThan(0)
      expect(status.process.memoryBytes.rss).toBeGreaterThan(status.process.memoryBytes.heapUsed)

      agent.child.kill("SIGTERM")
      expect((await agent.exited).code).toBe(0)
      child = undefined
      // Data goes to stdout, logs to stderr: an agent has no data to print.
      expect(agent.stdout()).toBe("")
      const consumer = await nats.jsm.consumers.info(
        `${namespace}_content`.toUpperCase(),
        "tally-completions",
      )
      expect(consumer.num_ack_pending).toBe(0)
      await pool.query(`drop schema if exists "${readModelSchema}" cascade`)
      await pool.end()
      await nats.connection.drain()
    } finally {
      child?.kill("SIGKILL")
    }
  })
})
