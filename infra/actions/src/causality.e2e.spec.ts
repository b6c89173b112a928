import { type ChildProcess, execFile, spawn } from "node:child_process"
import { join } from "node:path"
import { type Domain, type EventEnvelope, meshCatalog, parametersHash } from "@mesh/contracts"
import { makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { readModelSchemaOf } from "@mesh/kernel"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { findRepoRoot, postgresTestUrl, uniqueNamespace, waitFor, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Stream } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeActionCommands } from "./action/actionCommands.ts"
import { helpDeskName } from "./testing/helpDeskAgent.ts"

// One causal chain across processes: a ticket opened over HTTP at the help desk's process,
// triaged by a skill, a refund asked of the gate, approved by a person with the `mesh` command
// line (another process), paid through the payment system, and a reply sent. Every event and
// recorded request of it shares the intake request's correlation id, every causation id resolves
// to an event or a recorded request of the log, and the tree has one root.

const nats = useNatsServer()
const namespace = uniqueNamespace("chain")
let simulators: Simulators
let connection: NatsHandles
let agent: ChildProcess | undefined
let output = ""
let url = ""

/** Waits as the whole file does: the agent exiting ends it, a timeout shows the agent's last log. */
const untilThe = <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 60_000) =>
  waitFor(what, probe, {
    timeoutMs,
    stopIf: () =>
      agent?.exitCode !== null && agent?.exitCode !== undefined ? `the agent exited: ${output}` : undefined,
    detail: () => output.slice(-3000),
  })

beforeAll(async () => {
  simulators = await startSimulators()
  agent = spawn(workspaceNode(), [join(import.meta.dirname, "testing", "helpDeskAgent.ts")], {
    env: {
      PATH: process.env.PATH ?? "",
      MESH_NATS_URL: nats.url,
      MESH_NAMESPACE: namespace,
      MESH_DATABASE_URL: postgresTestUrl(),
      MESH_HTTP_HOST: "127.0.0.1",
      MESH_HTTP_PORT: "0",
      MESH_APPROVER_TOKENS: "maria=maria-token-0123456789",
      MESH_PAYMENT_URL: simulators.payment.url,
      MESH_MAILBOX_URL: simulators.mailbox.url,
      MESH_CONNECTOR_TIMEOUT_MS: "2000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  agent.stdout?.on("data", (chunk) => (output += chunk))
  agent.stderr?.on("data", (chunk) => (output += chunk))
  url = await untilThe("the agent listens", async () => /ready on (http:\/\/\S+)/.exec(output)?.[1], 60_000)
  await untilThe("the agent is ready", async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined))
  connection = await openNats(nats.url)
}, 120_000)

afterAll(async () => {
  agent?.kill("SIGTERM")
  await connection?.connection.drain()
  await simulators?.stop()
  const client = new pg.Client({ connectionString: postgresTestUrl() })
  await client.connect()
  await client.query(`drop schema if exists "${readModelSchemaOf(namespace, helpDeskName)}" cascade`)
  await client.end()
})

/** Runs `mesh` as a person would, against this file's server and namespace. */
const mesh = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      workspaceNode(),
      [
        join(findRepoRoot(), "tools", "mesh", "src", "main.ts"),
        ...args,
        "--nats-url",
        nats.url,
        "--namespace",
        namespace,
      ],
      { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    )
  })

/** Every event of the namespace's streams, in log order per stream. */
const everything = async (): Promise<ReadonlyArray<EventEnvelope>> => {
  const log = makeEventLog({ nats: connection, catalog: meshCatalog, namespace })
  const all: Array<EventEnvelope> = []
  for (const domain of [
    "customer",
    "actions",
    "decisions",
    "requests",
  ] as const satisfies ReadonlyArray<Domain>) {
    const head = await Effect.runPromise(log.headSequence(domain))
    if (head === 0) continue
    await Effect.runPromise(
      log.follow(domain, { fromSequence: 1 }).pipe(
        Stream.takeUntil((commit) => commit.sequence >= head),
        Stream.runForEach((commit) => Effect.sync(() => all.push(...commit.events))),
      ),
    )
  }
  return all
}

describe("one causal chain", () => {
  it("runs from a ticket opened over HTTP, through triage, a refund, a human approval and the payment, to a reply sent", async () => {
    const opened = await fetch(`${url}/tickets`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        requestId: "intake-1",
        ticketId: "T-1",
        customerId: "c-7",
        subject: "Refund for a broken vase",
        body: "The vase arrived broken. I want a refund of my money, please.",
      }),
    })
    expect(opened.status).toBe(202)

    const commands = makeActionCommands({ nats: connection, namespace })
    const awaiting = await untilThe("the refund waits for a person", async () => {
      const { state } = await Effect.runPromise(commands.load(helpDeskName, "refund-T-1"))
      return state.status === "awaiting-approval" ? state : undefined
    })
    const hash = parametersHash(awaiting.request.parameters)
    const approved = await mesh(["approve", helpDeskName, "refund-T-1", "--hash", hash, "--as", "maria"])
    expect(approved.stderr).toBe("")
    expect(approved.code).toBe(0)

    const events = await untilThe("the reply is sent and noted on the ticket", async () => {
      const all = await everything()
      return all.some((e) => e.type === "ReplySent") ? all : undefined
    })

    // One correlation id: the intake request's.
    expect(new Set(events.map((e) => e.correlationId))).toEqual(new Set(["intake-1"]))

    // Every cause resolves to an event or a recorded request of the log, and there is one root.
    const byId = new Map(events.map((e) => [e.eventId, e]))
    expect(events.filter((e) => e.causationId !== null && !byId.has(e.causationId))).toEqual([])
    const roots = events.filter((e) => e.causationId === null)
    expect(roots.map((e) => [e.type, e.aggregateId])).toEqual([["RequestReceived", "intake-1"]])

    // Walk the whole tree from its root: every event is reached, none twice.
    const children = new Map<string, Array<EventEnvelope>>()
    for (const e of events)
      if (e.causationId !== null) children.set(e.causationId, [...(children.get(e.causationId) ?? []), e])
    const reached: Array<EventEnvelope> = []
    const walk = (e: EventEnvelope, depth: number) => {
      reached.push(e)
      for (const child of children.get(e.eventId) ?? []) walk(child, depth + 1)
    }
    walk(roots[0]!, 0)
    expect(reached.length).toBe(events.length)
    expect(new Set(reached.map((e) => e.eventId)).size).toBe(events.length)

    // The branches the story needs are where they should be.
    const one = (type: string, aggregateId?: string) => {
      const found = events.filter(
        (e) => e.type === type && (aggregateId === undefined || e.aggregateId === aggregateId),
      )
      expect(found, `${type} ${aggregateId ?? ""}`).toHaveLength(1)
      return found[0]!
    }
    const intake = one("RequestReceived", "intake-1")
    const ticketOpened = one("TicketOpened")
    expect(ticketOpened.causationId).toBe(intake.eventId)
    expect(one("DecisionRecorded").causationId).toBe(ticketOpened.eventId)
    const triaged = one("TicketTriaged")
    expect(one("ActionRequested", "refund-T-1").causationId).toBe(triaged.eventId)
    const waiting = one("ActionAwaitingApproval", "refund-T-1")
    const approval = events.find((e) => e.type === "RequestReceived" && e.aggregateId !== "intake-1")!
    expect(approval).toMatchObject({ causationId: waiting.eventId, actor: { kind: "human", id: "maria" } })
    expect((approval.payload as { origin: string }).origin).toBe("cli")
    expect(one("ActionApproved", "refund-T-1").causationId).toBe(approval.eventId)
    const paid = one("ActionSucceeded", "refund-T-1")
    expect(one("ActionRequested", "reply-T-1").causationId).toBe(paid.eventId)
    const replied = one("ActionSucceeded", "reply-T-1")
    expect(one("ReplySent").causationId).toBe(replied.eventId)
    expect(simulators.payment.ledger().filter((entry) => entry.key === "refund-T-1")).toHaveLength(1)
  })
})
