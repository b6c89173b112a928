import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { makeEventLog, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, postgresTestUrl, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCommandHandler } from "../deciders/commandHandler.ts"
import { deterministicUuid } from "../deciders/ids.ts"
import { boardAggregate, taskAggregate, taskCatalog } from "../testing/taskBoard.ts"

const agentScript = join(import.meta.dirname, "..", "testing", "taskBoardAgent.ts")
const node = process.execPath

let server: NatsServerHandle
beforeAll(async () => {
  server = await startNatsServer()
})
afterAll(async () => {
  await server?.stop()
})

const startAgentProcess = (env: Record<string, string>) => {
  const child = spawn(node, [agentScript], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, exited, output: () => output }
}

const waitFor = async <A>(probe: () => Promise<A | undefined>, timeoutMs = 20_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 100))
  }
}

const urlFrom = (output: string) => /ready on (http:\/\/[^\s]+)/.exec(output)?.[1]

describe("agent host", () => {
  it("stops at start-up with a message naming a bad setting", async () => {
    for (const [name, value] of [
      ["HTTP_PORT", "eighty"],
      ["MESH_NAMESPACE", "Not.Valid"],
      ["MESH_STREAM_REPLICAS", "9"],
    ] as const) {
      const agent = startAgentProcess({ NATS_URL: server.url, [name]: value })
      expect(await agent.exited).toBe(1)
      expect(agent.output()).toContain(`invalid setting`)
      expect(agent.output()).toContain(name)
    }
  })

  it("serves health, readiness and status, reacts, and drains on SIGTERM", async () => {
    const namespace = uniqueNamespace("host")
    const readModelSchema = `rm_${namespace}`.replaceAll("-", "_")
    const agent = startAgentProcess({
      NATS_URL: server.url,
      MESH_NAMESPACE: namespace,
      HTTP_PORT: "0",
      HTTP_HOST: "127.0.0.1",
      DATABASE_URL: postgresTestUrl(),
      MESH_READ_MODEL_SCHEMA: readModelSchema,
    })
    let child: ChildProcess | undefined = agent.child
    try {
      const url = await waitFor(async () => urlFrom(agent.output()))
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
      expect((await fetch(`${url}/readyz`)).status).toBe(200)

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
      await waitFor(async () => {
        const s = await Effect.runPromise(board.state("main"))
        return s.state.completions === 1 ? true : undefined
      })

      // The projection worker keeps the task list in the agent's read-model database.
      const pool = new pg.Pool({ connectionString: postgresTestUrl(), max: 1 })
      const row = await waitFor(async () => {
        const result = await pool.query(`select title, status, assignee from "${readModelSchema}".task_list`)
        return result.rows[0]?.status === "done" ? result.rows[0] : undefined
      })
      expect(row).toEqual({ title: "Pack order 7", status: "done", assignee: "ana" })

      const status = (await (await fetch(`${url}/status`)).json()) as {
        ready: boolean
        reactors: Array<{ name: string; pending: number }>
        parts: Array<{ name: string; state: string }>
        workers: Array<{ name: string; status: { lag: number } }>
      }
      expect(status.ready).toBe(true)
      expect([...status.parts].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
        { name: "projection task-list", kind: "worker", state: "running" },
        { name: "tally-completions", kind: "reactor", state: "running" },
      ])
      expect(status.reactors[0]).toMatchObject({ name: "tally-completions", pending: 0 })
      expect(status.workers[0]).toMatchObject({ name: "projection task-list", status: { lag: 0 } })

      agent.child.kill("SIGTERM")
      expect(await agent.exited).toBe(0)
      child = undefined
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
