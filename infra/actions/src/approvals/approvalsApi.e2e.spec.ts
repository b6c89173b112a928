import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { parametersHash } from "@mesh/contracts"
import { type NatsHandles, openNats } from "@mesh/eventlog"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { postgresTestUrl, uniqueNamespace, waitFor, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ActionCommands, makeActionCommands } from "../action/actionCommands.ts"
import { actionsAgentName } from "../testing/actionsAgent.ts"
import { requestSampleAction, sampleActions, waitForActionStatus } from "../testing/actionTestKit.ts"

// The approvals API served by a real agent process, the test agent that owns actions: its
// projection fills the queue, a human approves over HTTP, its executor performs the refund.

const nats = useNatsServer()
const agent = actionsAgentName
const mariaToken = "maria-token-0123456789"
const refund = (n: number) => ({
  kind: sampleActions.refund.kind,
  parameters: sampleActions.refund.parameters(n),
})

let simulators: Simulators
let connection: NatsHandles
let commands: ActionCommands
let agentProcess: { child: ChildProcess; exited: Promise<number | null>; output: () => string } | undefined
let url: string
let database: string | undefined

/** Runs one statement as the test database's user (creating and dropping the agent's database). */
const administer = async (sql: string) => {
  const client = new pg.Client({ connectionString: postgresTestUrl() })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  simulators = await startSimulators()
  const namespace = uniqueNamespace("apx")
  // A database of its own: the agent keeps its read model in its service schema (`<namespace>__orders_desk`),
  // which a schema per test cannot isolate. (In-memory PGlite isolates too, but takes 20 s to
  // open on a busy 2-core machine, Postgres under a second.)
  database = namespace
  await administer(`create database "${database}"`)
  const databaseUrl = new URL(postgresTestUrl())
  databaseUrl.pathname = `/${database}`
  const child = spawn(workspaceNode(), [join(import.meta.dirname, "..", "testing", "actionsAgent.ts")], {
    env: {
      ...process.env,
      MESH_NATS_URL: nats.url,
      MESH_NAMESPACE: namespace,
      MESH_DATABASE_URL: databaseUrl.toString(),
      MESH_HTTP_HOST: "127.0.0.1",
      MESH_HTTP_PORT: "0",
      MESH_APPROVER_TOKENS: `maria=${mariaToken}`,
      MESH_PAYMENT_URL: simulators.payment.url,
      MESH_SUPPLIER_URL: simulators.supplier.url,
      MESH_STOREFRONT_URL: simulators.storefront.url,
      MESH_MAILBOX_URL: simulators.mailbox.url,
      MESH_CONNECTOR_TIMEOUT_MS: "2000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  agentProcess = { child, exited, output: () => output }
  // Logs go to stderr; the host says where it listens once everything has started.
  url = await waitFor("the agent's ready line", async () => /ready on (http:\/\/\S+)/.exec(output)?.[1], {
    timeoutMs: 45_000,
    stopIf: () =>
      child.exitCode !== null || child.signalCode !== null
        ? `the agent exited (${child.exitCode ?? child.signalCode}): ${output}`
        : undefined,
  })
  // The host is ready before its projection worker has created the read model the queue reads.
  await waitFor("the actions read model", async () => {
    const status = (await (await fetch(`${url}/status`)).json()) as {
      workers: Array<{ name: string; status: { liveVersion?: number } | string }>
    }
    const projection = status.workers.find((worker) => worker.name === "projection actions")?.status
    return typeof projection === "object" && projection.liveVersion !== undefined ? true : undefined
  })
  connection = await openNats(nats.url)
  commands = makeActionCommands({ nats: connection, namespace })
})
afterAll(async () => {
  if (agentProcess !== undefined && agentProcess.child.exitCode === null) {
    agentProcess.child.kill("SIGKILL")
    await agentProcess.exited
  }
  await connection?.connection.drain()
  await simulators?.stop()
  if (database !== undefined) await administer(`drop database if exists "${database}" with (force)`)
})

const request = (path: string, options: { body?: unknown; token?: string | null } = {}) => {
  const token = options.token === undefined ? mariaToken : options.token
  return fetch(`${url}${path}`, {
    method: options.body === undefined ? "GET" : "POST",
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
}

describe("the approvals API of an agent process", () => {
  it("publishes an OpenAPI 3 document of its three paths behind a bearer scheme", async () => {
    const response = await fetch(`${url}/approvals/openapi.json`)
    expect(response.status).toBe(200)
    const document = (await response.json()) as {
      openapi: string
      info: { title: string }
      paths: Record<string, Record<string, { security?: unknown }>>
      components: { securitySchemes: Record<string, { type: string; scheme: string }> }
    }
    expect(document.openapi).toMatch(/^3\./)
    expect(document.info.title).toBe("Agent Mesh approvals")
    expect(Object.keys(document.paths).sort()).toEqual([
      "/approvals",
      "/approvals/{agent}/{actionId}/approve",
      "/approvals/{agent}/{actionId}/reject",
    ])
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "Bearer" })
    expect(document.paths["/approvals"]?.get?.security).toEqual([{ bearer: [] }])
  })

  it("answers 401 to a request without a token or with a token of no approver", async () => {
    const approval = { parametersHash: parametersHash(refund(1).parameters) }
    for (const token of [null, "not-an-approver-0123456789"]) {
      const queue = await request("/approvals", { token })
      expect(queue.status).toBe(401)
      const approve = await request(`/approvals/${agent}/refund-1/approve`, { body: approval, token })
      expect(approve.status).toBe(401)
      expect(await approve.json()).toMatchObject({ _tag: "UnknownApprover" })
    }
  })

  it("answers 400 naming parametersHash when it is malformed or missing", async () => {
    for (const body of [{ parametersHash: "nope" }, {}]) {
      const response = await request(`/approvals/${agent}/refund-1/approve`, { body })
      expect(response.status).toBe(400)
      const problem = (await response.json()) as { field: string; message: string }
      expect(problem.field).toBe("parametersHash")
      expect(problem.message).toMatch(/^parametersHash: /)
    }
  })

  it("shows a refund waiting for approval, and performs it once approved", async () => {
    for (const [actionId, n] of [
      ["refund-1", 1],
      ["refund-2", 2],
    ] as const) {
      await Effect.runPromise(
        requestSampleAction(commands, { agent, actionId, ...refund(n), mode: "require-approval" }),
      )
    }
    // The agent's projection worker fills the queue from the log.
    const queue = await waitFor("both refunds in the queue", async () => {
      const body = (await (await request(`/approvals?agent=${agent}`)).json()) as {
        queue: Array<{ actionId: string; parametersHash: string; status: string }>
      }
      return body.queue.length === 2 ? body.queue : undefined
    })
    expect(queue.map((q) => [q.actionId, q.status])).toEqual([
      ["refund-1", "awaiting-approval"],
      ["refund-2", "awaiting-approval"],
    ])

    const approved = await request(`/approvals/${agent}/refund-1/approve`, {
      body: { parametersHash: queue[0]?.parametersHash },
    })
    expect(approved.status).toBe(200)
    expect(await approved.json()).toMatchObject({ _tag: "Approved" })

    // The agent's executor takes it from there.
    const done = await waitForActionStatus(commands, agent, "refund-1", ["succeeded"], 30_000)
    const history = await Effect.runPromise(
      commands.log.load({ domain: "actions", type: agent, id: "refund-1" }),
    )
    const types = history.events.map((event) => event.type)
    expect(types).toEqual(expect.arrayContaining(["ActionApproved", "ActionSucceeded"]))
    expect(history.events.find((event) => event.type === "ActionApproved")?.actor).toEqual({
      kind: "human",
      id: "maria",
    })
    const refunds = simulators.payment.ledger().filter((entry) => entry.operation === "refund.created")
    expect(refunds.map((entry) => entry.key)).toEqual(["refund-1"])
    expect(done.status === "succeeded" && done.externalRef).toBe(refunds[0]?.resource)
  })

  it("rejects another refund with a reason, which then leaves the queue and is never performed", async () => {
    const rejected = await request(`/approvals/${agent}/refund-2/reject`, {
      body: { reason: "refunded by phone" },
    })
    expect(rejected.status).toBe(200)
    expect(await rejected.json()).toEqual({ _tag: "Rejected" })
    const state = await waitForActionStatus(commands, agent, "refund-2", ["rejected"])
    expect(state.status).toBe("rejected")
    await waitFor("an empty queue", async () => {
      const body = (await (await request("/approvals")).json()) as { queue: Array<unknown> }
      return body.queue.length === 0 ? true : undefined
    })
    expect(simulators.payment.ledger().filter((entry) => entry.key === "refund-2")).toEqual([])
  })

  it("drains and exits 0 on SIGTERM", async () => {
    agentProcess?.child.kill("SIGTERM")
    expect(await agentProcess?.exited).toBe(0)
  })
})
