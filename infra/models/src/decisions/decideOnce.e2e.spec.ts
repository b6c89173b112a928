import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { decisionEvents, makeCatalog, Subjects } from "@mesh/contracts"
import {
  applyTopology,
  declareTopology,
  ensureDurableConsumer,
  makeEventLog,
  type NatsHandles,
  openNats,
} from "@mesh/eventlog"
import { deterministicUuid, makeCommandHandler } from "@mesh/kernel"
import { taskAggregate, taskCatalog } from "@mesh/kernel/testing/taskBoard"
import { postgresTestUrl, uniqueNamespace, waitFor, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeOllama, startFakeOllama } from "../testing/fakeOllama.ts"
import { triageBoardName } from "../testing/triageBoardAgent.ts"
import { decisionIdFor } from "./decideOnce.ts"

// The words: a reaction that calls a skill is redelivered five times, including across a
// SIGKILL after the model answered. The model is called once, counted on the local server that
// speaks Ollama's API, and one decision is recorded. The agent is a real process of the triage
// board (`testing/triageBoardAgent.ts`), wired from the environment like any agent, that follows a
// crash plan once its decision is made: SIGKILL itself, or fail the reaction, before the ack.

const agentScript = join(import.meta.dirname, "..", "testing", "triageBoardAgent.ts")

const server = useNatsServer()
let nats: NatsHandles
let ollama: FakeOllama
beforeAll(async () => {
  ;[nats, ollama] = await Promise.all([openNats(server.url), startFakeOllama()])
})
afterAll(async () => {
  await Promise.all([nats?.connection.drain(), ollama?.close()])
})

/** One run of the agent process: its reaction lines, its output, and how it ended. */
interface AgentRun {
  readonly process: ChildProcess
  readonly reactions: () => ReadonlyArray<string>
  readonly output: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const startAgent = (namespace: string, plan: ReadonlyArray<string>): AgentRun => {
  const child = spawn(workspaceNode(), [agentScript], {
    env: {
      PATH: process.env.PATH ?? "",
      MESH_NATS_URL: server.url,
      MESH_DATABASE_URL: postgresTestUrl(),
      MESH_NAMESPACE: namespace,
      MESH_HTTP_HOST: "127.0.0.1",
      MESH_HTTP_PORT: "0",
      MESH_OLLAMA_HOST: ollama.url,
      MESH_LOG_LEVEL: "warn",
      MESH_CRASH_PLAN: plan.join(","),
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += d))
  child.stderr!.on("data", (d) => (stderr += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  )
  return {
    process: child,
    reactions: () => stdout.split("\n").filter((line) => line.startsWith("reaction ")),
    output: () => `${stdout}${stderr}`.slice(-4000),
    exited,
  }
}

describe("a reaction that calls a skill", () => {
  it("is redelivered five times, across SIGKILLs after the model answered, and asks the model once", async () => {
    const started = Date.now()
    const namespace = uniqueNamespace("once")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    // The reactor's consumer as it declares itself, with an ack deadline of 2 s instead of 30 s,
    // so that an event a killed process held is redelivered within the test.
    await Effect.runPromise(
      ensureDurableConsumer(nats, namespace, { name: "triage-tasks", domain: "content", ackWaitMs: 2_000 }),
    )
    const content = makeEventLog({ nats, catalog: taskCatalog, namespace })
    const tasks = makeCommandHandler(content, taskAggregate)
    const title = `Where is my parcel ${namespace}? It was due on Monday.`
    const opened = await Effect.runPromise(
      tasks.handle({
        commandId: deterministicUuid(`${namespace}-open`, 1),
        aggregateId: "t1",
        command: { _tag: "OpenTask", title },
        issuedAt: 1_700_000_000_000,
        metadata: { correlationId: "c-1", causationId: null, actor: { kind: "human", id: "ana" } },
      }),
    )
    const cause = opened.events[0]!
    const chatsBefore = ollama.stats().chatRequests
    const runs: Array<AgentRun> = []
    try {
      // Delivery 1: the model answers, the decision is recorded, and the process is SIGKILLed
      // before it assigns the task or acks the event.
      runs.push(startAgent(namespace, ["kill"]))
      expect(await runs[0]!.exited, runs[0]!.output()).toEqual({ code: null, signal: "SIGKILL" })
      expect(runs[0]!.reactions()).toEqual(["reaction t1 decided kill"])
      // Deliveries 2 to 4, in a new process once the ack deadline passed: two fail, the third is SIGKILLed.
      runs.push(startAgent(namespace, ["fail", "fail", "kill"]))
      expect(await runs[1]!.exited, runs[1]!.output()).toEqual({ code: null, signal: "SIGKILL" })
      expect(runs[1]!.reactions()).toEqual([
        "reaction t1 recalled fail",
        "reaction t1 recalled fail",
        "reaction t1 recalled kill",
      ])
      // Delivery 5, in a third process: the task is assigned.
      runs.push(startAgent(namespace, []))
      const desk = await waitFor("the task is assigned", async () => {
        const { state } = await Effect.runPromise(tasks.state("t1"))
        return state.status === "open" && state.assignee !== null ? state.assignee : undefined
      }).catch((error: Error) => {
        throw new Error(`${error.message}; agent output:\n${runs[2]!.output()}`)
      })
      expect(desk).toBe("delivery")
      expect(runs[2]!.reactions()).toEqual(["reaction t1 recalled go"])
      runs[2]!.process.kill("SIGTERM")
      expect(await runs[2]!.exited).toEqual({ code: 0, signal: null })
    } finally {
      for (const run of runs)
        if (run.process.exitCode === null && run.process.signalCode === null) run.process.kill("SIGKILL")
    }

    // Five deliveries in all.
    expect(runs.flatMap((run) => run.reactions())).toHaveLength(5)
    // The model was asked once, for this task, on the server that speaks Ollama's API.
    expect(ollama.stats().chatRequests - chatsBefore).toBe(1)
    const asked = ollama
      .requests()
      .filter((r) => r.path === "/api/chat" && JSON.stringify(r.body).includes(namespace))
    expect(asked).toHaveLength(1)
    // One decision recorded, in the task's causal chain.
    const decisions = makeEventLog({ nats, catalog: makeCatalog(decisionEvents), namespace })
    const decisionId = decisionIdFor("sortMessage", cause.eventId)
    const recorded = await Effect.runPromise(
      decisions.load({ domain: "decisions", type: triageBoardName, id: decisionId }),
    )
    expect(recorded.events).toHaveLength(1)
    expect(recorded.events[0]).toMatchObject({ causationId: cause.eventId, correlationId: "c-1" })
    const stream = await nats.jsm.streams.info(Subjects.streamName(namespace, "decisions"))
    expect(stream.state.messages).toBe(1)
    // The reaction's command took effect once.
    const history = await Effect.runPromise(content.load({ domain: "content", type: "task", id: "t1" }))
    expect(history.events.map((e) => e.type)).toEqual(["TaskOpened", "TaskAssigned"])
    expect(Date.now() - started).toBeLessThan(60_000)
  })
})
