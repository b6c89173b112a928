import { applyTopology, declareTopology, makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Deferred, Effect, Fiber } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCommandHandler } from "../deciders/commandHandler.ts"
import { deterministicUuid } from "../deciders/ids.ts"
import { boardAggregate, tallyCompletions, taskAggregate, taskCatalog } from "../testing/taskBoard.ts"
import { makeDispatch, runReactor } from "./reactor.ts"

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

const waitFor = async (predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe("reactor", () => {
  it("issues its command once for an event delivered three times (consumer restart before ack, then a nak)", async () => {
    const namespace = uniqueNamespace("react")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: taskCatalog, namespace })
    const tasks = makeCommandHandler(log, taskAggregate)
    const board = makeCommandHandler(log, boardAggregate)
    const dispatch = makeDispatch([tasks, board])
    const outcomes: Array<string> = []
    const recordingDispatch: typeof dispatch = (type, envelope) =>
      dispatch(type, envelope).pipe(Effect.tap((o) => Effect.sync(() => outcomes.push(o.status))))

    const cmd = (command: Parameters<typeof tasks.handle>[0]["command"], i: number) =>
      tasks.handle({
        commandId: deterministicUuid(`setup-${namespace}-${i}`, 1),
        aggregateId: "t1",
        command,
        issuedAt: 1_700_000_000_000,
        metadata: { correlationId: "c", causationId: null, actor: { kind: "human", id: "ana" } },
      })
    await Effect.runPromise(cmd({ _tag: "OpenTask", title: "Ship order" }, 0))
    await Effect.runPromise(cmd({ _tag: "AssignTask", assignee: "ana" }, 1))
    await Effect.runPromise(cmd({ _tag: "CompleteTask", by: "ana" }, 2))

    // Delivery 1 reacts, then the consumer is stopped before it acks (a restart).
    const reacted = await Effect.runPromise(Deferred.make<void>())
    const first = Effect.runFork(
      runReactor({
        nats,
        namespace,
        catalog: taskCatalog,
        reactor: { ...tallyCompletions },
        dispatch: recordingDispatch,
        agent: "kernel-test",
        beforeAck: (event) =>
          event.type === "TaskCompleted"
            ? Deferred.succeed(reacted, undefined).pipe(Effect.andThen(Effect.never))
            : Effect.void,
      }),
    )
    await Effect.runPromise(Deferred.await(reacted))
    await Effect.runPromise(Fiber.interrupt(first))
    await nats.jsm.consumers.update(`${namespace}_content`.toUpperCase(), tallyCompletions.name, {
      ack_wait: 1_000_000_000,
    })

    // Delivery 2 (after ack_wait) reacts and fails before the ack; delivery 3 reacts and acks.
    const deliveries: Array<number> = []
    const second = Effect.runFork(
      runReactor({
        nats,
        namespace,
        catalog: taskCatalog,
        reactor: tallyCompletions,
        dispatch: recordingDispatch,
        agent: "kernel-test",
        beforeAck: (event, delivery) =>
          event.type !== "TaskCompleted"
            ? Effect.void
            : Effect.sync(() => deliveries.push(delivery.deliveryCount)).pipe(
                Effect.andThen(delivery.deliveryCount < 3 ? Effect.fail("crash before ack") : Effect.void),
              ),
      }),
    )
    await waitFor(() => deliveries.includes(3))
    await new Promise((r) => setTimeout(r, 300))
    await Effect.runPromise(Fiber.interrupt(second))

    expect(outcomes).toEqual(["appended", "already-handled", "already-handled"])
    const tally = await Effect.runPromise(board.state("main"))
    expect(tally.state.completions).toBe(1)
    const history = await Effect.runPromise(log.load({ domain: "content", type: "board", id: "main" }))
    const [tallied] = history.events
    const completed = (await Effect.runPromise(log.load({ domain: "content", type: "task", id: "t1" })))
      .events[2]!
    expect(tallied!.causationId).toBe(completed.eventId)
    expect(tallied!.correlationId).toBe(completed.correlationId)
    expect(tallied!.actor).toEqual({ kind: "agent", id: "kernel-test" })
  })
})
