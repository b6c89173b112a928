import { Subjects } from "@mesh/contracts"
import {
  applyTopology,
  CurrentReactionCause,
  declareTopology,
  ensureDurableConsumer,
  makeEventLog,
  type NatsHandles,
  openNats,
  type ReactionCause,
} from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Deferred, Effect, Fiber, Option, type Tracer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCommandHandler } from "../deciders/commandHandler.ts"
import { deterministicUuid } from "../deciders/ids.ts"
import { boardAggregate, tallyCompletions, taskAggregate, taskCatalog } from "../testing/taskBoard.ts"
import { ReactionsDecidedOtherwise } from "./reactionsDecidedOtherwise.ts"
import { type Dispatch, defineReactor, makeDispatch, reactToEvent, runReactor } from "./reactor.ts"
import { readRecordedCommands } from "./recordedCommands.ts"

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

    // The consumer is there before the events, as a running agent's is: their first delivery is
    // one nothing handled before (`firstDelivery`).
    await Effect.runPromise(
      ensureDurableConsumer(nats, namespace, { name: tallyCompletions.name, domain: "content" }),
    )
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

    // Whether each reaction ran on its event's first delivery, as the reaction sees it.
    const firstDeliveries: Array<boolean | undefined> = []
    const noting: typeof tallyCompletions = {
      ...tallyCompletions,
      react: (event, written) =>
        CurrentReactionCause.pipe(
          Effect.tap((cause) => Effect.sync(() => firstDeliveries.push(cause?.firstDelivery))),
          Effect.andThen(tallyCompletions.react(event, written)),
        ),
    }

    // Delivery 1 reacts, then the consumer is stopped before it acks (a restart).
    const reacted = await Effect.runPromise(Deferred.make<void>())
    const first = Effect.runFork(
      runReactor({
        nats,
        namespace,
        catalog: taskCatalog,
        reactor: noting,
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
        reactor: noting,
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
    // Only the first delivery may skip looking for what an earlier run recorded.
    expect(firstDeliveries).toEqual([true, false, false])
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

  it("continues the causing event's trace: the reaction's span descends from it and the event it causes joins it", async () => {
    const namespace = uniqueNamespace("trace")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: taskCatalog, namespace })
    const tasks = makeCommandHandler(log, taskAggregate)
    const board = makeCommandHandler(log, boardAggregate)
    const dispatch = makeDispatch([tasks, board])
    const reactionSpans: Array<Tracer.Span> = []
    const causesSeen: Array<ReactionCause | undefined> = []
    const spying: Dispatch = (type, envelope) =>
      Effect.currentSpan.pipe(
        Effect.orDie,
        Effect.tap((span) => Effect.sync(() => reactionSpans.push(span))),
        // The command is handled in the reaction's cause too (a replay decides it as of then).
        Effect.andThen(CurrentReactionCause),
        Effect.tap((cause) => Effect.sync(() => causesSeen.push(cause))),
        Effect.andThen(dispatch(type, envelope)),
      )
    // Reads inside the reaction see the event it answers (the registers read as of it in a replay).
    const seeingItsCause: typeof tallyCompletions = {
      ...tallyCompletions,
      react: (event, position) =>
        CurrentReactionCause.pipe(
          Effect.tap((cause) => Effect.sync(() => causesSeen.push(cause))),
          Effect.andThen(tallyCompletions.react(event, position)),
        ),
    }
    const command = (command: Parameters<typeof tasks.handle>[0]["command"], i: number) =>
      tasks.handle({
        commandId: deterministicUuid(`trace-${namespace}-${i}`, 1),
        aggregateId: "t1",
        command,
        issuedAt: 1_700_000_000_000,
        metadata: { correlationId: "c", causationId: null, actor: { kind: "human", id: "ana" } },
      })
    // The request that completes the task runs in a span, as an HTTP handler's would.
    const completed = await Effect.runPromise(
      Effect.gen(function* () {
        yield* command({ _tag: "OpenTask", title: "Ship order" }, 0)
        yield* command({ _tag: "AssignTask", assignee: "ana" }, 1)
        return yield* command({ _tag: "CompleteTask", by: "ana" }, 2)
      }).pipe(Effect.withSpan("request")),
    )
    const [, traceId, causeSpanId] = completed.events[0]!.trace!.traceparent.split("-")

    const fiber = Effect.runFork(
      runReactor({
        nats,
        namespace,
        catalog: taskCatalog,
        reactor: seeingItsCause,
        dispatch: spying,
        agent: "kernel-test",
      }),
    )
    await waitFor(async () => (await Effect.runPromise(board.state("main"))).state.completions === 1)
    await Effect.runPromise(Fiber.interrupt(fiber))
    const seen = {
      eventId: completed.events[0]!.eventId,
      occurredAt: completed.events[0]!.occurredAt,
      stream: Subjects.streamName(namespace, "content"),
      sequence: completed.position.sequence,
      replaying: false,
      readAsOf: completed.events[0]!.occurredAt,
      // Stored before the reactor made its consumer (as history copied into a fork is): something
      // may have handled it before, so its first delivery still looks for what was recorded.
      firstDelivery: false,
    }
    expect(causesSeen).toEqual([seen, seen])

    // react <- consume <- the span that appended TaskCompleted, in another process as far as it knows.
    const [react] = reactionSpans
    expect(react!.name).toBe("react tally-completions")
    expect(react!.traceId).toBe(traceId)
    const consume = Option.getOrThrow(react!.parent) as Tracer.Span
    expect(consume.name).toBe("consume tally-completions")
    expect(Option.getOrThrow(consume.parent)).toMatchObject({
      _tag: "ExternalSpan",
      traceId,
      spanId: causeSpanId,
    })
    const [tallied] = (await Effect.runPromise(log.load({ domain: "content", type: "board", id: "main" })))
      .events
    const [, talliedTraceId, talliedSpanId] = tallied!.trace!.traceparent.split("-")
    expect(talliedTraceId).toBe(traceId)
    expect(talliedSpanId).not.toBe(causeSpanId)

    // The server delivers it only the aggregate type its event types belong to.
    const info = await nats.jsm.consumers.info(
      Subjects.streamName(namespace, "content"),
      tallyCompletions.name,
    )
    expect(info.config.filter_subject).toBe(Subjects.aggregateTypeWildcard(namespace, "content", "task"))
  })
  it("reads history again through a changed reaction: appends nothing, and notes each reaction that decides otherwise", async () => {
    const namespace = uniqueNamespace("react")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: taskCatalog, namespace })
    const tasks = makeCommandHandler(log, taskAggregate)
    const dispatch = makeDispatch([tasks, makeCommandHandler(log, boardAggregate)])
    for (const [i, task] of ["t1", "t2"].entries()) {
      const send = (command: Parameters<typeof tasks.handle>[0]["command"], step: number) =>
        Effect.runPromise(
          tasks.handle({
            commandId: deterministicUuid(`setup-${namespace}-${i}-${step}`, 1),
            aggregateId: task,
            command,
            issuedAt: 1_700_000_000_000,
            metadata: { correlationId: "c", causationId: null, actor: { kind: "human", id: "ana" } },
          }),
        )
      await send({ _tag: "OpenTask", title: `Ship order ${i}` }, 0)
      await send({ _tag: "AssignTask", assignee: "ana" }, 1)
      await send({ _tag: "CompleteTask", by: "ana" }, 2)
    }
    const boardVersion = async () =>
      (await Effect.runPromise(makeCommandHandler(log, boardAggregate).state("main"))).position.version
    const run = (reactor: typeof tallyCompletions, otherwise: ReactionsDecidedOtherwise) =>
      Effect.runFork(
        runReactor({
          nats,
          namespace,
          catalog: taskCatalog,
          reactor,
          dispatch,
          agent: "kernel-test",
          otherwise,
        }),
      )

    const live = new ReactionsDecidedOtherwise()
    const first = run(tallyCompletions, live)
    await waitFor(async () => (await boardVersion()) === 2)
    await Effect.runPromise(Fiber.interrupt(first))
    expect(live.summary().count).toBe(0)

    // The reactor's consumer gone, its history is read again, by a build whose reaction tallies
    // t1 under another name: a replay of the day through changed code.
    await nats.jsm.consumers.delete(`${namespace}_content`.toUpperCase(), tallyCompletions.name)
    const replayed = new ReactionsDecidedOtherwise()
    const changed = run(
      {
        ...tallyCompletions,
        react: (event) =>
          Effect.succeed([
            {
              aggregateType: "board",
              aggregateId: "main",
              command: {
                _tag: "TallyCompletion",
                taskId: event.aggregateId === "t1" ? "task-1" : event.aggregateId,
              },
            },
          ]),
      },
      replayed,
    )
    await waitFor(async () => {
      // Not there until the changed reactor has created it again.
      const info = await nats.jsm.consumers
        .info(`${namespace}_content`.toUpperCase(), tallyCompletions.name)
        .catch(() => null)
      return (
        info !== null && info.delivered.stream_seq > 0 && info.num_pending === 0 && info.num_ack_pending === 0
      )
    })
    await Effect.runPromise(Fiber.interrupt(changed))
    expect(await boardVersion()).toBe(2)
    const { count, latest } = replayed.summary()
    expect(count).toBe(1)
    expect(latest[0]).toMatchObject({
      cause: { type: "TaskCompleted" },
      aggregate: "board/main",
      recorded: ["CompletionTallied"],
      now: ["CompletionTallied"],
      difference: 'CompletionTallied taskId: recorded "t1", now "task-1"',
    })
    const t1Completed = (
      await Effect.runPromise(log.load({ domain: "content", type: "task", id: "t1" }))
    ).events.at(-1)
    expect(latest[0]?.cause.eventId).toBe(t1Completed?.eventId)

    // A build whose reaction no longer tallies t2 gives fewer commands than the log recorded: in a
    // replay, which reads the commands the log holds first, that is noted too.
    await nats.jsm.consumers.delete(`${namespace}_content`.toUpperCase(), tallyCompletions.name)
    const recorded = await Effect.runPromise(readRecordedCommands(log, ["content"]))
    expect(recorded.size).toBe(8)
    const fewer = new ReactionsDecidedOtherwise()
    const dropping = Effect.runFork(
      runReactor({
        nats,
        namespace,
        catalog: taskCatalog,
        reactor: {
          ...tallyCompletions,
          react: (event, cause) =>
            event.aggregateId === "t2" ? Effect.succeed([]) : tallyCompletions.react(event, cause),
        },
        dispatch,
        agent: "kernel-test",
        otherwise: fewer,
        recorded,
      }),
    )
    // The reactor's consumer has delivered the stream and holds nothing unacknowledged.
    const drained = async () => {
      const info = await nats.jsm.consumers
        .info(`${namespace}_content`.toUpperCase(), tallyCompletions.name)
        .catch(() => null)
      return (
        info !== null && info.delivered.stream_seq > 0 && info.num_pending === 0 && info.num_ack_pending === 0
      )
    }
    await waitFor(drained)
    await Effect.runPromise(Fiber.interrupt(dropping))
    expect(await boardVersion()).toBe(2)
    const t2Completed = (
      await Effect.runPromise(log.load({ domain: "content", type: "task", id: "t2" }))
    ).events.at(-1)
    expect(fewer.summary()).toMatchObject({
      count: 1,
      latest: [
        {
          cause: { eventId: t2Completed?.eventId, type: "TaskCompleted" },
          aggregate: "board/main",
          recorded: ["CompletionTallied"],
          now: [],
          difference: "no longer given: its command 1 (recorded CompletionTallied), where it now gives 0",
        },
      ],
    })

    // A store beside the log (the registers) that a replayed reaction writes otherwise than the
    // day notes it on the reaction's cause; the reactor reports it with the reaction's own
    // departures, once, though the reaction's first run failed after noting it and was delivered
    // again. A live reaction is given nothing to note it on.
    await nats.jsm.consumers.delete(`${namespace}_content`.toUpperCase(), tallyCompletions.name)
    const writes = new ReactionsDecidedOtherwise()
    const runs = new Map<string, number>()
    const writing = Effect.runFork(
      runReactor({
        nats,
        namespace,
        catalog: taskCatalog,
        reactor: {
          ...tallyCompletions,
          backoff: { initialMs: 10, maxMs: 50, factor: 2 },
          react: (event, cause) =>
            Effect.gen(function* () {
              const reaction = yield* CurrentReactionCause
              const run = (runs.get(event.eventId) ?? 0) + 1
              runs.set(event.eventId, run)
              if (event.aggregateId === "t1")
                reaction?.noteDeparture?.({
                  aggregate: "tally-register/t1",
                  writeId: `${event.eventId}:0123456789abcdef`,
                  recorded: [],
                  now: ["RegisterChanged"],
                  difference:
                    'tally-register write: recorded nothing (refused then, or not made), now {"_tag":"Add"}',
                })
              // The first run loses its connection after the write: a transient failure, tried again.
              if (event.aggregateId === "t1" && run === 1)
                return yield* Effect.fail(
                  Object.assign(new Error("the first run lost its connection after its write"), {
                    code: "ECONNRESET",
                  }),
                )
              return yield* tallyCompletions.react(event, cause)
            }),
        },
        dispatch,
        agent: "kernel-test",
        otherwise: writes,
        recorded,
      }),
    )
    await waitFor(() => writes.summary().count > 0 && (runs.get(t1Completed?.eventId ?? "") ?? 0) >= 2)
    await waitFor(drained)
    await Effect.runPromise(Fiber.interrupt(writing))
    expect(writes.summary()).toMatchObject({
      count: 1,
      latest: [
        {
          cause: { eventId: t1Completed?.eventId, type: "TaskCompleted" },
          aggregate: "tally-register/t1",
          commandId: `${t1Completed?.eventId}:0123456789abcdef`,
          recorded: [],
          now: ["RegisterChanged"],
        },
      ],
    })
    expect(await boardVersion()).toBe(2)
  })
  it("sends a reaction's consecutive commands to one aggregate as one commit, and a redelivery appends nothing", async () => {
    const namespace = uniqueNamespace("react")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const log = makeEventLog({ nats, catalog: taskCatalog, namespace })
    const tasks = makeCommandHandler(log, taskAggregate)
    const dispatch = makeDispatch([tasks, makeCommandHandler(log, boardAggregate)])
    const completed = await Effect.runPromise(
      Effect.gen(function* () {
        let i = 0
        const send = (command: Parameters<typeof tasks.handle>[0]["command"]) =>
          tasks.handle({
            commandId: deterministicUuid(`runs-${namespace}-${i++}`, 1),
            aggregateId: "t1",
            command,
            issuedAt: 1_700_000_000_000,
            metadata: { correlationId: "c", causationId: null, actor: { kind: "human", id: "ana" } },
          })
        yield* send({ _tag: "OpenTask", title: "Ship order" })
        yield* send({ _tag: "AssignTask", assignee: "ana" })
        return yield* send({ _tag: "CompleteTask", by: "ana" })
      }),
    )
    const tally = (aggregateId: string, taskId: string) => ({
      aggregateType: "board",
      aggregateId,
      command: { _tag: "TallyCompletion", taskId },
    })
    // Two tallies on "main", one on "spare", two more on "main": three runs, three commits.
    const tallyTwice = defineReactor<(typeof taskCatalog.definitions)[number]>({
      name: "tally-in-runs",
      consumes: { domain: "content" },
      eventTypes: ["TaskCompleted"],
      react: () =>
        Effect.succeed([
          tally("main", "a"),
          tally("main", "b"),
          tally("spare", "c"),
          tally("main", "d"),
          tally("main", "e"),
        ]),
    })
    const react = reactToEvent(tallyTwice, dispatch, "kernel-test")
    const event = completed.events[0]!
    const stream = Subjects.streamName(namespace, "content")
    const cause = { stream, sequence: completed.position.sequence }
    const first = await Effect.runPromise(react(event, cause))
    expect(first.map((o) => o.status)).toEqual(["appended", "appended", "appended", "appended", "appended"])
    const main = await Effect.runPromise(log.load({ domain: "content", type: "board", id: "main" }))
    expect(main.events.map((e) => e.payload)).toEqual(["a", "b", "d", "e"].map((taskId) => ({ taskId })))
    expect(new Set(main.events.map((e) => e.commandId)).size).toBe(4)
    expect(main.events.every((e) => e.causationId === event.eventId)).toBe(true)
    const info = await nats.jsm.streams.info(stream)
    // The task's three commits, then main's first run, spare's, and main's second run.
    expect(info.state.messages).toBe(6)
    const again = await Effect.runPromise(react(event, cause))
    expect(again.map((o) => o.status)).toEqual(Array.from({ length: 5 }, () => "already-handled"))
    expect((await nats.jsm.streams.info(stream)).state.messages).toBe(6)
  })
})
