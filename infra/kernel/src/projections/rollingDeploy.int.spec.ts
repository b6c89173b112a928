import { defineEvent, type EventDefinition, makeCatalog, NonEmpty } from "@mesh/contracts"
import {
  applyTopology,
  declareTopology,
  type EventLog,
  MeshNamespace,
  makeEventLog,
  NatsClient,
  type NatsHandles,
  openNats,
  readDeadLetters,
} from "@mesh/eventlog"
import { ReadModelDb } from "@mesh/sql"
import { postgresTestUrl, uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Layer, Redacted, Schema } from "effect"
import { type Kysely, sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AggregateDefinition, makeCommandHandler } from "../deciders/commandHandler.ts"
import { type AgentDefinition, defineAgent } from "../host/agentDefinition.ts"
import { type RunningAgent, startAgent } from "../host/agentHost.ts"
import { AgentSettings } from "../host/agentSettings.ts"
import { projectionWorker } from "../host/projectionWorker.ts"
import { defineReactor } from "../reactors/reactor.ts"
import {
  boardAggregate,
  TaskCompleted,
  type TaskListReadModel,
  tallyCompletions,
  taskCatalog,
  taskListProjection,
} from "../testing/taskBoard.ts"
import { defineProjection, type ProjectionEvent } from "./projection.ts"
import { awaitReadModelAt } from "./readModelAt.ts"
import { openTestPostgres, type TestDatabase, waitUntil } from "./testing/harness.ts"

// A rolling deploy: a new writer adds an event type before its readers know it. The old reactor
// and projection keep running, count the type they skip and lose nothing; after the upgrade the
// projection holds the new type's effect (a version bump rebuilds it) and the reactor handles
// the new type from then on.

/** The one event type the new build adds. */
const TaskArchived = defineEvent({
  type: "TaskArchived",
  domain: "content",
  aggregateType: "task",
  payload: Schema.Struct({ reason: NonEmpty }),
  summary: "A task was archived.",
  producer: "kernel-tests",
})
/** The new build's catalogue: the old one and TaskArchived. */
const newCatalog = makeCatalog([...taskCatalog.definitions, TaskArchived])
type OldDefs = (typeof taskCatalog.definitions)[number]
type NewDefs = (typeof newCatalog.definitions)[number]

/** The upgraded reactor: it still tallies completions, and counts archived tasks on board "archived". */
const tallyV2 = defineReactor<NewDefs>({
  ...tallyCompletions,
  eventTypes: [TaskCompleted.type, TaskArchived.type],
  react: (event) =>
    Effect.succeed([
      {
        aggregateType: "board",
        aggregateId: event.type === "TaskArchived" ? "archived" : "main",
        command: { _tag: "TallyCompletion", taskId: event.aggregateId },
      },
    ]),
})

/** The upgraded task list: version 2, since it now applies TaskArchived. */
const taskListV2 = defineProjection<NewDefs, TaskListReadModel>({
  ...taskListProjection,
  version: 2,
  apply: async (trx, events, target) => {
    for (const projected of events) {
      if (projected.event.type === "TaskArchived") {
        await trx
          .updateTable("task_list")
          .set({ status: "archived" })
          .where("task_id", "=", projected.event.aggregateId)
          .execute()
      } else {
        await taskListProjection.apply(trx, [projected as ProjectionEvent<OldDefs>], target)
      }
    }
  },
})
// The board folds only its own events (CompletionTallied), which both catalogues hold.
const board = boardAggregate as unknown as AggregateDefinition<NewDefs, unknown, unknown>

const nats = useNatsServer()
let client: NatsHandles
let database: TestDatabase
beforeAll(async () => {
  client = await openNats(nats.url)
  database = await openTestPostgres()
})
afterAll(async () => {
  await client?.connection.drain()
  await database?.close()
})

/** What an agent's /status answers, as far as this test reads it. */
interface Status {
  readonly ready: boolean
  readonly parts: ReadonlyArray<{ readonly name: string; readonly state: string }>
  readonly reactors: ReadonlyArray<{
    readonly name: string
    readonly pending: number | null
    readonly unacknowledged: number | null
    readonly skipped: Record<string, number>
    readonly retrying: {
      readonly count: number
      readonly oldest: ReadonlyArray<{
        readonly sequence: number
        readonly deliveries: number
        readonly reason: string
      }>
    }
  }>
  readonly workers: ReadonlyArray<{
    readonly name: string
    readonly status: {
      readonly version: number
      readonly liveVersion: number
      readonly lag: number
      readonly skipped: Record<string, number>
    }
  }>
}

const statusOf = async (agent: RunningAgent): Promise<Status> =>
  (await (await fetch(`${agent.httpUrl}/status`)).json()) as Status

/** Every event handed to the agent's reactor and projection has been handled. */
const settled = async (agent: RunningAgent) => {
  let last: Status | undefined
  await waitUntil(
    async () => {
      last = await statusOf(agent)
      return (
        last.ready &&
        last.reactors.every((r) => r.pending === 0 && r.unacknowledged === 0) &&
        last.workers.every((w) => w.status.lag === 0)
      )
    },
    { timeoutMs: 30_000 },
  ).catch((e) => Promise.reject(new Error(`not settled: ${JSON.stringify(last)}`, { cause: e })))
  return last!
}

/** Runs one build of the agent, from start to drain, around `body`. */
const runBuild = <D extends EventDefinition, A>(
  namespace: string,
  agent: AgentDefinition<D>,
  body: (running: RunningAgent) => Promise<A>,
): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const running = yield* startAgent(agent)
        return yield* Effect.promise(() => body(running))
      }),
    ).pipe(
      Effect.provide(
        Layer.mergeAll(
          NatsClient.layer(nats.url, agent.name),
          ReadModelDb.layer(Redacted.make(postgresTestUrl())),
          MeshNamespace.layer(namespace),
          AgentSettings.layer({ httpPort: 0 }),
        ),
      ),
    ),
  )

const taskList = async (schema: string) =>
  (
    await sql<{ task_id: string; status: string; assignee: string | null }>`
      select task_id, status, assignee from ${sql.table(`${schema}.task_list`)} order by task_id`.execute(
      database.db,
    )
  ).rows

describe("a rolling deploy that adds an event type", () => {
  it("keeps the old readers running, counting the skipped type; the upgraded ones hold its effect", async () => {
    const namespace = uniqueNamespace("rolling")
    const schema = database.newSchema()
    await Effect.runPromise(applyTopology(client.jsm, declareTopology({ namespace })))
    // The new writer, rolled out first.
    const writer: EventLog<NewDefs> = makeEventLog({ nats: client, catalog: newCatalog, namespace })
    type Written = Parameters<typeof writer.append>[0]["events"][number]
    const write = (id: string, ...events: ReadonlyArray<Written>) =>
      Effect.runPromise(
        writer.append({
          aggregate: { domain: "content", type: "task", id },
          expected: "any",
          events,
          metadata: { correlationId: `c-${id}`, causationId: null, actor: { kind: "human", id: "ana" } },
        }),
      )
    const boardState = (id: string) =>
      Effect.runPromise(makeCommandHandler(writer, board).state(id)).then(
        (s) => (s.state as { completions: number }).completions,
      )

    const oldBuild = defineAgent<OldDefs>({
      name: "task-board",
      catalog: taskCatalog,
      aggregates: [boardAggregate],
      reactors: [tallyCompletions],
      workers: [projectionWorker(taskListProjection, { schema })],
    })
    const oldStatus = await runBuild(namespace, oldBuild, async (running) => {
      await write("t1", { type: "TaskOpened", payload: { title: "Ship order" } })
      await write("t2", { type: "TaskOpened", payload: { title: "Pack order" } })
      await write("t1", { type: "TaskAssigned", payload: { assignee: "ana" } })
      await write("t2", { type: "TaskArchived", payload: { reason: "duplicate" } })
      await write("t1", { type: "TaskCompleted", payload: { by: "ana" } })
      // One commit holding a known type and the new one.
      await write(
        "t3",
        { type: "TaskOpened", payload: { title: "Label parcel" } },
        { type: "TaskArchived", payload: { reason: "merged" } },
      )
      await write("t4", { type: "TaskOpened", payload: { title: "Call courier" } })
      await waitUntil(async () => (await boardState("main")) === 1)
      return settled(running)
    })

    // The old build ran on: nothing stopped, both readers counted the type they skipped...
    expect(oldStatus.parts.map((p) => p.state)).toEqual(["running", "running"])
    expect(oldStatus.reactors).toEqual([
      {
        name: "tally-completions",
        pending: 0,
        unacknowledged: 0,
        skipped: { TaskArchived: 2 },
        decidedOtherwise: { count: 0, latest: [] },
        retrying: { count: 0, oldest: [] },
        timing: expect.any(Object),
      },
    ])
    expect(oldStatus.workers).toMatchObject([
      {
        name: "projection task-list",
        status: { version: 1, liveVersion: 1, lag: 0, skipped: { TaskArchived: 2 } },
      },
    ])
    // ...and lost nothing else: every known event is applied, nothing is dead-lettered.
    expect(await taskList(schema)).toEqual([
      { task_id: "t1", status: "done", assignee: "ana" },
      { task_id: "t2", status: "open", assignee: null },
      { task_id: "t3", status: "open", assignee: null },
      { task_id: "t4", status: "open", assignee: null },
    ])
    expect(await Effect.runPromise(readDeadLetters(client, namespace))).toEqual([])

    // Between the old build's drain and the new one's start.
    await write("t4", { type: "TaskArchived", payload: { reason: "no courier" } })

    const newBuild = defineAgent<NewDefs>({
      name: "task-board",
      catalog: newCatalog,
      aggregates: [board],
      reactors: [tallyV2],
      workers: [projectionWorker(taskListV2, { schema })],
    })
    const newStatus = await runBuild(namespace, newBuild, async (running) => {
      await settled(running)
      await write("t5", { type: "TaskOpened", payload: { title: "Refund" } })
      await write("t5", { type: "TaskArchived", payload: { reason: "refunded" } })
      await waitUntil(async () => (await boardState("archived")) === 2)
      return settled(running)
    })

    // The version bump rebuilt the task list from the log: it holds every TaskArchived, those the
    // old build skipped included.
    expect(newStatus.workers).toMatchObject([{ status: { version: 2, liveVersion: 2, lag: 0, skipped: {} } }])
    expect(await taskList(schema)).toEqual([
      { task_id: "t1", status: "done", assignee: "ana" },
      { task_id: "t2", status: "archived", assignee: null },
      { task_id: "t3", status: "archived", assignee: null },
      { task_id: "t4", status: "archived", assignee: null },
      { task_id: "t5", status: "archived", assignee: null },
    ])
    // The reactor handles the new type from its upgrade on (t4, t5); the old one acknowledged the
    // earlier ones as skipped, and the completion it tallied is tallied once.
    expect(newStatus.reactors).toEqual([
      {
        name: "tally-completions",
        pending: 0,
        unacknowledged: 0,
        skipped: {},
        decidedOtherwise: { count: 0, latest: [] },
        retrying: { count: 0, oldest: [] },
        timing: expect.any(Object),
      },
    ])
    expect(await boardState("archived")).toBe(2)
    expect(await boardState("main")).toBe(1)
    expect(await Effect.runPromise(readDeadLetters(client, namespace))).toEqual([])
  })
})

// A reaction that reads a read model as of its cause waits while the projection is stopped on an
// event it fails on: it is retried (transient), never dead-lettered, and /status says so.
describe("a projection stopped on a failing event", () => {
  it("names on /status the reactions that wait on it, and lets them go once it is mended", async () => {
    const namespace = uniqueNamespace("stopped")
    const schema = database.newSchema()
    await Effect.runPromise(applyTopology(client.jsm, declareTopology({ namespace })))
    const writer = makeEventLog({ nats: client, catalog: taskCatalog, namespace })
    const write = (id: string, event: Parameters<typeof writer.append>[0]["events"][number]) =>
      Effect.runPromise(
        writer.append({
          aggregate: { domain: "content", type: "task", id },
          expected: "any",
          events: [event],
          metadata: { correlationId: `c-${id}`, causationId: null, actor: { kind: "human", id: "ana" } },
        }),
      )
    // The task list stops on a task it cannot apply, until a fix is deployed (here, a flag).
    let mended = false
    const failingList = defineProjection<OldDefs, TaskListReadModel>({
      ...taskListProjection,
      apply: async (trx, events, target) => {
        for (const projected of events)
          if (!mended && projected.event.type === "TaskOpened" && projected.event.payload.title === "poison")
            throw new Error("the task list cannot apply a poisoned task")
        await taskListProjection.apply(trx, events, target)
      },
    })
    // A reactor that reads the task list (from another connection to its database) as of its
    // cause before it tallies.
    const tallyAsOfList = defineReactor<OldDefs, unknown>({
      ...tallyCompletions,
      backoff: { initialMs: 20, maxMs: 100, factor: 2 },
      react: (event, cause) =>
        Effect.gen(function* () {
          yield* awaitReadModelAt({
            db: database.db as Kysely<unknown>,
            schema,
            projection: { name: failingList.name, version: failingList.version },
            cause,
            timeoutMs: 100,
          })
          return yield* tallyCompletions.react(event, cause)
        }),
    })
    const agent = defineAgent<OldDefs>({
      name: "task-board",
      catalog: taskCatalog,
      aggregates: [boardAggregate],
      reactors: [tallyAsOfList],
      workers: [projectionWorker(failingList, { schema })],
    })
    const tallied = () =>
      Effect.runPromise(makeCommandHandler(writer, boardAggregate).state("main")).then(
        (s) => (s.state as { completions: number }).completions,
      )
    await runBuild(namespace, agent, async (running) => {
      await write("t1", { type: "TaskOpened", payload: { title: "poison" } })
      await write("t1", { type: "TaskCompleted", payload: { by: "ana" } })
      let status: Status | undefined
      await waitUntil(
        async () => {
          status = await statusOf(running)
          // Both in their own time: the reaction's retries (every 20-100 ms) can outpace the
          // projection's start, catch-up and first failed batch on a loaded machine.
          return (
            (status.reactors[0]?.retrying.oldest[0]?.deliveries ?? 0) >= 2 &&
            status.parts.find((p) => p.name === "projection task-list")?.state === "failed"
          )
        },
        { timeoutMs: 30_000 },
      )
      // The wait is named where an operator looks: which delivery, how often, and on what.
      const [waiting] = status!.reactors[0]!.retrying.oldest
      expect(status!.reactors[0]!.retrying.count).toBe(1)
      expect(waiting).toMatchObject({ sequence: 2 })
      expect(waiting!.reason).toContain("read model task-list (version 1) has not applied")
      expect(await tallied()).toBe(0)
      expect(status!.parts.find((p) => p.name === "projection task-list")?.state).toBe("failed")
    })
    // The fix deployed: the projection applies the task, and the waiting reaction goes through, once.
    mended = true
    await runBuild(namespace, agent, async (running) => {
      await waitUntil(async () => (await tallied()) === 1, { timeoutMs: 30_000 })
      const after = await settled(running)
      expect(after.reactors[0]!.retrying).toEqual({ count: 0, oldest: [] })
    })
    expect(await tallied()).toBe(1)
    expect(await Effect.runPromise(readDeadLetters(client, namespace))).toEqual([])
  })
})
