import { applyTopology, declareTopology, makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCommandHandler } from "../deciders/commandHandler.ts"
import { deterministicUuid } from "../deciders/ids.ts"
import { taskAggregate, taskCatalog } from "../testing/taskBoard.ts"
import { replayStream } from "./replay.ts"

let server: NatsServerHandle
let nats: NatsHandles
beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

// Two tasks' histories, interleaved on the stream as commands decided them: t1 opened, assigned
// and completed, t2 opened and assigned.
const recordHistory = async () => {
  const namespace = uniqueNamespace("replay")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const log = makeEventLog({ nats, catalog: taskCatalog, namespace })
  const tasks = makeCommandHandler(log, taskAggregate)
  let n = 0
  const handle = (aggregateId: string, command: Parameters<typeof tasks.handle>[0]["command"]) =>
    Effect.runPromise(
      tasks.handle({
        commandId: deterministicUuid(`replay-${namespace}-${++n}`, 1_700_000_000_000 + n),
        aggregateId,
        command,
        issuedAt: 1_700_000_000_000 + n * 1_000,
        metadata: {
          correlationId: `chain-${aggregateId}`,
          causationId: null,
          actor: { kind: "human", id: "ana" },
        },
      }),
    )
  await handle("t1", { _tag: "OpenTask", title: "Count stock" })
  await handle("t2", { _tag: "OpenTask", title: "Call supplier" })
  await handle("t1", { _tag: "AssignTask", assignee: "ana" })
  await handle("t2", { _tag: "AssignTask", assignee: "ben" })
  await handle("t1", { _tag: "CompleteTask", by: "ana" })
  return log
}

const replayAll = (
  log: Awaited<ReturnType<typeof recordHistory>>,
  options: { untilSequence?: number; untilTime?: number } = {},
) =>
  Effect.runPromise(
    Effect.flatMap(replayStream(log, { domain: "content", aggregates: [taskAggregate], ...options }), (s) =>
      Stream.runCollect(s),
    ),
  )

describe("replaying a stream", () => {
  it("gives every event with its aggregate's state after it, in stream order, and appends nothing", async () => {
    const log = await recordHistory()
    const head = await Effect.runPromise(log.headSequence("content"))
    const replayed = await replayAll(log)
    expect(replayed.map((r) => [r.sequence, r.aggregate, r.version, r.event.type])).toEqual([
      [1, "task/t1", 1, "TaskOpened"],
      [2, "task/t2", 1, "TaskOpened"],
      [3, "task/t1", 2, "TaskAssigned"],
      [4, "task/t2", 2, "TaskAssigned"],
      [5, "task/t1", 3, "TaskCompleted"],
    ])
    expect(replayed.map((r) => r.state)).toEqual([
      { status: "open", title: "Count stock", assignee: null },
      { status: "open", title: "Call supplier", assignee: null },
      { status: "open", title: "Count stock", assignee: "ana" },
      { status: "open", title: "Call supplier", assignee: "ben" },
      { status: "done", title: "Count stock", by: "ana" },
    ])
    // It read: the stream is as it was, and a second replay gives the same.
    expect(await Effect.runPromise(log.headSequence("content"))).toBe(head)
    expect(await replayAll(log)).toEqual(replayed)
  })

  it("stops after a sequence, or after the events that occurred by an instant", async () => {
    const log = await recordHistory()
    expect((await replayAll(log, { untilSequence: 3 })).map((r) => r.sequence)).toEqual([1, 2, 3])
    // A sequence past the head ends at the head.
    expect(await replayAll(log, { untilSequence: 99 })).toHaveLength(5)
    const all = await replayAll(log)
    const third = Date.parse(all[2]!.event.occurredAt)
    expect((await replayAll(log, { untilTime: third })).map((r) => r.sequence)).toEqual(
      all.filter((r) => Date.parse(r.event.occurredAt) <= third).map((r) => r.sequence),
    )
  })

  it("replays an aggregate no given decider folds without a state, and an empty stream as nothing", async () => {
    const log = await recordHistory()
    const replayed = await Effect.runPromise(
      Effect.flatMap(replayStream(log, { domain: "content", aggregates: [] }), (s) => Stream.runCollect(s)),
    )
    expect(replayed).toHaveLength(5)
    expect(replayed.every((r) => r.state === undefined)).toBe(true)
    const empty = await Effect.runPromise(
      Effect.flatMap(replayStream(log, { domain: "customer", aggregates: [taskAggregate] }), (s) =>
        Stream.runCollect(s),
      ),
    )
    expect(empty).toEqual([])
  })
})
