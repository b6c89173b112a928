import { Subjects } from "@mesh/contracts"
import { applyTopology, declareTopology, makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { countingNats } from "@mesh/eventlog/testing"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readRecordedCommands } from "../reactors/recordedCommands.ts"
import {
  boardAggregate,
  type TaskCommand,
  type TaskState,
  taskAggregate,
  taskCatalog,
  taskDecider,
} from "../testing/taskBoard.ts"
import { type CommandEnvelope, makeCommandHandler } from "./commandHandler.ts"
import { commandEventId, deterministicUuid } from "./ids.ts"
import { makeKvSnapshotStore } from "./snapshots.ts"

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

const setup = async () => {
  const namespace = uniqueNamespace("cmd")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const log = makeEventLog({ nats, catalog: taskCatalog, namespace })
  const snapshots = await makeKvSnapshotStore(nats, namespace)
  return { namespace, log, snapshots }
}

let n = 0
const envelope = <C>(aggregateId: string, command: C, commandId?: string): CommandEnvelope<C> => ({
  commandId: commandId ?? deterministicUuid(`test-${n++}-${Math.random()}`, 1_700_000_000_000),
  aggregateId,
  command,
  issuedAt: 1_700_000_000_000,
  metadata: { correlationId: "c", causationId: null, actor: { kind: "human", id: "tester" } },
})

describe("command handler", () => {
  it("loads, decides and appends; a business rejection is an event", async () => {
    const { log } = await setup()
    const tasks = makeCommandHandler(log, taskAggregate)
    const opened = await Effect.runPromise(
      tasks.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })),
    )
    expect(opened).toMatchObject({ status: "appended", position: { version: 1 } })
    const refused = await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "CompleteTask", by: "ana" })))
    expect(refused.events.map((e) => e.type)).toEqual(["TaskCompletionRefused"])
    const nothing = await Effect.runPromise(
      tasks.handle(envelope("t1", { _tag: "OpenTask", title: "again" })),
    )
    expect(nothing.status).toBe("nothing-decided")
  })

  it("refuses to decide on a history holding an event type its build does not know", async () => {
    const { log } = await setup()
    const tasks = makeCommandHandler(log, taskAggregate)
    const opened = await Effect.runPromise(
      tasks.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })),
    )
    // A newer build archived the task: a state folded without that event would still be "open".
    const archived = {
      ...opened.events[0]!,
      eventId: deterministicUuid("archived", 1),
      type: "TaskArchived",
      aggregateVersion: 2,
      payload: { reason: "duplicate" },
    }
    await nats.js.publish(
      Subjects.aggregate(log.namespace, "content", "task", "t1"),
      new TextEncoder().encode(JSON.stringify([archived])),
    )
    const error = await Effect.runPromise(
      Effect.flip(tasks.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" }))),
    )
    expect(error.reason._tag).toBe("EventLog")
    expect(error.message).toContain('unknown event type "TaskArchived", written by a newer build')
    expect(await Effect.runPromise(tasks.state("t1").pipe(Effect.flip))).toMatchObject({
      reason: { _tag: "UndecodableMessage" },
    })
  })

  it("turns a throwing decide into a typed InvalidCommand error", async () => {
    const { log } = await setup()
    const tasks = makeCommandHandler(log, taskAggregate)
    const exit = await Effect.runPromiseExit(
      tasks.handle(envelope("ghost", { _tag: "AssignTask", assignee: "ana" })),
    )
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("task does not exist")
  })

  it("retries on concurrency conflicts so that 20 concurrent commands all land, in order of versions", async () => {
    const { log } = await setup()
    const board = makeCommandHandler(log, boardAggregate, { maxConflictRetries: 30 })
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        Effect.runPromise(
          board.handle(envelope("main", { _tag: "TallyCompletion", taskId: `t${i}` } as const)),
        ),
      ),
    )
    expect(outcomes.every((o) => o.status === "appended")).toBe(true)
    const state = await Effect.runPromise(board.state("main"))
    expect(state.state.completions).toBe(20)
    expect(state.position.version).toBe(20)
  })

  it("does not decide a command twice when it is sent again with the same id", async () => {
    const { log } = await setup()
    const board = makeCommandHandler(log, boardAggregate)
    const command = envelope(
      "main",
      { _tag: "TallyCompletion", taskId: "t1" } as const,
      deterministicUuid("fixed", 1),
    )
    const first = await Effect.runPromise(board.handle(command))
    const again = await Effect.runPromise(board.handle(command))
    expect(first.status).toBe("appended")
    expect(again.status).toBe("already-handled")
    expect(again.events.map((e) => e.eventId)).toEqual(first.events.map((e) => e.eventId))
    expect((await Effect.runPromise(board.state("main"))).state.completions).toBe(1)
  })

  it("in a replay, decides a command the log lacks on the aggregate as it was issued, appends nothing, and reports what it decides", async () => {
    const { log } = await setup()
    const live = makeCommandHandler(log, taskAggregate)
    const at = (
      issuedAt: number,
      causationId: string | null,
      command: Parameters<typeof live.handle>[0]["command"],
    ) => ({
      ...envelope("t1", command),
      issuedAt,
      metadata: { correlationId: "c", causationId, actor: { kind: "agent", id: "tester" } } as const,
    })
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5))
    const beforeOpen = Date.now() - 1
    await pause()
    await Effect.runPromise(live.handle(at(Date.now(), null, { _tag: "OpenTask", title: "Count stock" })))
    await pause()
    const opened = Date.now()
    await pause()
    // Assigned in answer to an event (`cause-1`) that occurred when the task was open.
    await Effect.runPromise(live.handle(at(opened, "cause-1", { _tag: "AssignTask", assignee: "ana" })))
    await pause()
    await Effect.runPromise(live.handle(at(Date.now(), null, { _tag: "CompleteTask", by: "ana" })))
    const head = await Effect.runPromise(live.state("t1"))
    expect(head.state.status).toBe("done")

    const replaying = makeCommandHandler(log, taskAggregate, { replaying: true })
    // Issued while the task was open and unassigned: it decides a refusal the log never recorded.
    const whileOpen = await Effect.runPromise(
      replaying.handle(at(opened, "cause-2", { _tag: "CompleteTask", by: "ana" })),
    )
    expect(whileOpen).toMatchObject({
      status: "nothing-decided",
      events: [],
      otherwise: { recorded: [], now: ["TaskCompletionRefused"] },
    })
    // Another answer to the event the assignment answered saw the assignment.
    const sameCause = await Effect.runPromise(
      replaying.handle(at(opened, "cause-1", { _tag: "CompleteTask", by: "ana" })),
    )
    expect(sameCause.otherwise).toMatchObject({ recorded: [], now: ["TaskCompleted"] })
    // Issued before the task existed, it is refused now: reported, the reaction not failed.
    const beforeIt = await Effect.runPromise(
      replaying.handle(at(beforeOpen, "cause-3", { _tag: "CompleteTask", by: "ana" })),
    )
    expect(beforeIt.otherwise).toMatchObject({
      recorded: [],
      now: null,
      difference: "now refused: task does not exist",
    })
    // Issued now, on the finished task, it decides nothing, as the log holds nothing: no departure.
    const onHead = await Effect.runPromise(
      replaying.handle(at(Date.now(), "cause-4", { _tag: "CompleteTask", by: "ana" })),
    )
    expect(onHead.status).toBe("nothing-decided")
    expect(onHead.otherwise).toBeUndefined()
    // Nothing was appended.
    expect((await Effect.runPromise(live.state("t1"))).position).toEqual(head.position)
  })

  describe("a command sent again that the code now decides otherwise", () => {
    it("appends nothing, answers with the recorded events, and names what differs", async () => {
      const { log } = await setup()
      const board = makeCommandHandler(log, boardAggregate)
      const id = deterministicUuid("changed", 1)
      const first = await Effect.runPromise(
        board.handle(envelope("main", { _tag: "TallyCompletion", taskId: "t1" } as const, id)),
      )
      const same = await Effect.runPromise(
        board.handle(envelope("main", { _tag: "TallyCompletion", taskId: "t1" } as const, id)),
      )
      expect(same.status).toBe("already-handled")
      expect(same.otherwise).toBeUndefined()
      // A fresh handler (a replica, a restarted agent) reads it from the log, not from what it kept.
      const fresh = makeCommandHandler(log, boardAggregate)
      const changed = await Effect.runPromise(
        fresh.handle(envelope("main", { _tag: "TallyCompletion", taskId: "t2" } as const, id)),
      )
      expect(changed.status).toBe("already-handled")
      expect(changed.events.map((e) => e.eventId)).toEqual(first.events.map((e) => e.eventId))
      expect(changed.otherwise).toEqual({
        recorded: ["CompletionTallied"],
        now: ["CompletionTallied"],
        difference: 'CompletionTallied taskId: recorded "t1", now "t2"',
      })
      // The log holds what was decided first, and only that.
      const state = await Effect.runPromise(fresh.state("main"))
      expect(state.position.version).toBe(1)
    })

    it("decides it on the state it was first decided on, not on the aggregate's state now", async () => {
      const { log } = await setup()
      const tasks = makeCommandHandler(log, taskAggregate)
      const open = envelope("t1", { _tag: "OpenTask", title: "Count stock" } as const)
      await Effect.runPromise(tasks.handle(open))
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" } as const)))
      // Decided on the state now (open), OpenTask would decide nothing: on the absent task it was
      // decided on, it opens it again, as recorded.
      const again = await Effect.runPromise(makeCommandHandler(log, taskAggregate).handle(open))
      expect(again.status).toBe("already-handled")
      expect(again.otherwise).toBeUndefined()
      const retitled = await Effect.runPromise(
        makeCommandHandler(log, taskAggregate).handle({
          ...open,
          command: { _tag: "OpenTask", title: "Count the stock" },
        }),
      )
      expect(retitled.otherwise?.difference).toBe(
        'TaskOpened title: recorded "Count stock", now "Count the stock"',
      )
    })

    it("compares too when a replica that had not seen the command appends it and the log finds it a duplicate", async () => {
      const { log } = await setup()
      // The stale replica: it keeps the board's state at version 1.
      const stale = makeCommandHandler(log, boardAggregate)
      await Effect.runPromise(
        stale.handle(envelope("main", { _tag: "TallyCompletion", taskId: "t1" } as const)),
      )
      // Another replica handles the command first (version 2).
      const id = deterministicUuid("raced", 1)
      const first = await Effect.runPromise(
        makeCommandHandler(log, boardAggregate).handle(
          envelope("main", { _tag: "TallyCompletion", taskId: "t2" } as const, id),
        ),
      )
      // The stale one, on newer code, decides it on the state it kept (the one the recorded events
      // follow) and appends; the log refuses the copy.
      const again = await Effect.runPromise(
        stale.handle(envelope("main", { _tag: "TallyCompletion", taskId: "t3" } as const, id)),
      )
      expect(again.status).toBe("already-handled")
      expect(again.events.map((e) => e.eventId)).toEqual(first.events.map((e) => e.eventId))
      expect(again.otherwise?.difference).toBe('CompletionTallied taskId: recorded "t2", now "t3"')
      expect(
        (await Effect.runPromise(makeCommandHandler(log, boardAggregate).state("main"))).position.version,
      ).toBe(2)
    })

    it("says so when a changed decider now refuses what it decided", async () => {
      const { log } = await setup()
      const id = deterministicUuid("refused", 1)
      const command = envelope("main", { _tag: "TallyCompletion", taskId: "t1" } as const, id)
      await Effect.runPromise(makeCommandHandler(log, boardAggregate).handle(command))
      const stricter = makeCommandHandler(log, {
        ...boardAggregate,
        decider: {
          ...boardAggregate.decider,
          decide: () => {
            throw new Error("tallies are closed")
          },
        },
      })
      const again = await Effect.runPromise(stricter.handle(command))
      expect(again.status).toBe("already-handled")
      expect(again.otherwise).toEqual({
        recorded: ["CompletionTallied"],
        now: null,
        difference: "now refused: tallies are closed",
      })
    })
  })

  describe("the state it keeps after an append", () => {
    // The real log, its loads counted with the version each read from: the kept state is there to spare them.
    const countingLoads = <L extends { load: (...args: Array<never>) => unknown }>(log: L) => {
      const froms: Array<number> = []
      const counted = {
        ...log,
        load: (...args: Parameters<L["load"]>) => {
          froms.push((args[1] as { readonly version: number } | undefined)?.version ?? 0)
          return (log.load as (...a: Parameters<L["load"]>) => ReturnType<L["load"]>)(...args)
        },
      } as L
      return { counted, loads: () => froms.length, froms }
    }

    it("decides the next command to the same aggregate without reading the log", async () => {
      const { log } = await setup()
      const { counted, loads } = countingLoads(log)
      const tasks = makeCommandHandler(counted, taskAggregate)
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })))
      const afterOpen = loads()
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" })))
      const done = await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "CompleteTask", by: "ana" })))
      expect(done.events.map((e) => e.type)).toEqual(["TaskCompleted"])
      expect(done.position.version).toBe(3)
      expect(loads()).toBe(afterOpen)
    })

    it("decides again on a fresh load when another writer got in between, and sees what it wrote", async () => {
      const { log } = await setup()
      const here = makeCommandHandler(log, taskAggregate)
      const elsewhere = makeCommandHandler(log, taskAggregate)
      await Effect.runPromise(here.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })))
      await Effect.runPromise(elsewhere.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" })))
      // Kept here, the task is unassigned: completing it would be refused. The log knows better.
      const done = await Effect.runPromise(here.handle(envelope("t1", { _tag: "CompleteTask", by: "ana" })))
      expect(done.events.map((e) => e.type)).toEqual(["TaskCompleted"])
      expect(done.position.version).toBe(3)
    })

    it("decides nothing for a command another writer made moot, as a fresh load would", async () => {
      const { log } = await setup()
      const here = makeCommandHandler(log, taskAggregate)
      const elsewhere = makeCommandHandler(log, taskAggregate)
      // Kept here, t1 is open (version 1); elsewhere assigns and completes it.
      await Effect.runPromise(here.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })))
      await Effect.runPromise(elsewhere.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" })))
      await Effect.runPromise(elsewhere.handle(envelope("t1", { _tag: "CompleteTask", by: "ana" })))
      const again = await Effect.runPromise(
        here.handle(envelope("t1", { _tag: "AssignTask", assignee: "bo" })),
      )
      expect(again.status).toBe("nothing-decided")
      expect(again.position.version).toBe(3)
    })

    it("recognises a command another writer already handled, and appends nothing", async () => {
      const { log } = await setup()
      const here = makeCommandHandler(log, boardAggregate)
      const elsewhere = makeCommandHandler(log, boardAggregate)
      await Effect.runPromise(
        here.handle(envelope("main", { _tag: "TallyCompletion", taskId: "t0" } as const)),
      )
      const command = envelope(
        "main",
        { _tag: "TallyCompletion", taskId: "t1" } as const,
        deterministicUuid("redelivered", 1),
      )
      expect((await Effect.runPromise(elsewhere.handle(command))).status).toBe("appended")
      const again = await Effect.runPromise(here.handle(command))
      expect(again.status).toBe("already-handled")
      const state = await Effect.runPromise(here.state("main"))
      expect(state.state.completions).toBe(2)
      expect(state.position.version).toBe(2)
    })

    it("answers a moot command from the kept state after one look at the log's head, and keeps it", async () => {
      const { log } = await setup()
      const { counted, froms } = countingLoads(log)
      const tasks = makeCommandHandler(counted, taskAggregate)
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })))
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" })))
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "CompleteTask", by: "ana" })))
      froms.length = 0
      // A done task: assigning it decides nothing, three times over (a redelivered webhook, say).
      for (const assignee of ["bo", "cy", "di"]) {
        const moot = await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "AssignTask", assignee })))
        expect(moot.status).toBe("nothing-decided")
        expect(moot.position.version).toBe(3)
      }
      // Each looked only past the kept position (version 3), never at the whole history.
      expect(froms).toEqual([3, 3, 3])
      // A refused command on a kept state that is the head: the refusal stands, nothing was reloaded.
      froms.length = 0
      const other = await Effect.runPromiseExit(
        makeCommandHandler(counted, taskAggregate).handle(
          envelope("t2", { _tag: "AssignTask", assignee: "ana" }),
        ),
      )
      expect(other._tag).toBe("Failure")
      expect(froms).toEqual([0])
    })

    it("catches up a kept state from the commits written after it, and decides on that", async () => {
      const { log } = await setup()
      const { counted, froms } = countingLoads(log)
      const here = makeCommandHandler(counted, taskAggregate)
      const elsewhere = makeCommandHandler(log, taskAggregate)
      await Effect.runPromise(here.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })))
      froms.length = 0
      await Effect.runPromise(elsewhere.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" })))
      // Kept here: open and unassigned (version 1). Completing is refused on it, then decided on the head.
      const done = await Effect.runPromise(here.handle(envelope("t1", { _tag: "CompleteTask", by: "ana" })))
      expect(done.events.map((e) => e.type)).toEqual(["TaskCompleted"])
      expect(done.position.version).toBe(3)
      // Its append conflicted (the kept position was 1); the catch-up read from there, not from 0.
      expect(froms).toEqual([1])
      const state = await Effect.runPromise(here.state("t1"))
      expect(state.state).toMatchObject({ status: "done" })
    })

    it("keeps none when told to, and then reads the log for every command", async () => {
      const { log } = await setup()
      const { counted, loads } = countingLoads(log)
      const tasks = makeCommandHandler(counted, taskAggregate, { cachedAggregates: 0 })
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })))
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" })))
      expect(loads()).toBe(2)
    })
  })

  it("loads from a snapshot plus the tail and gets the same state as a full replay", async () => {
    const { log, snapshots } = await setup()
    const withSnapshots = makeCommandHandler(log, taskAggregate, { snapshots })
    const withoutSnapshots = makeCommandHandler(log, taskAggregate)
    await Effect.runPromise(withSnapshots.handle(envelope("t9", { _tag: "OpenTask", title: "Busy task" })))
    for (let i = 0; i < 23; i++) {
      await Effect.runPromise(
        withSnapshots.handle(envelope("t9", { _tag: "AssignTask", assignee: `p${i}` } as const)),
      )
    }
    const stored = await Effect.runPromise(snapshots.read({ domain: "content", type: "task", id: "t9" }))
    expect(stored).toBeDefined()
    const a = await Effect.runPromise(withSnapshots.state("t9"))
    const b = await Effect.runPromise(withoutSnapshots.state("t9"))
    expect(a).toEqual(b)
    expect(a.state).toMatchObject({ status: "open", assignee: "p22" })
    // A command already in the snapshot's window is still recognised after the snapshot.
    const replayed = envelope(
      "t9",
      { _tag: "AssignTask", assignee: "late" } as const,
      deterministicUuid("late", 2),
    )
    await Effect.runPromise(withSnapshots.handle(replayed))
    expect((await Effect.runPromise(withSnapshots.handle(replayed))).status).toBe("already-handled")
  })

  describe("a command that opens its aggregate", () => {
    const opening = {
      ...taskAggregate,
      opensWith: (command: { readonly _tag: string }) => command._tag === "OpenTask",
    }
    const withCountedLog = async () => {
      const { namespace, log } = await setup()
      const counted = countingNats(nats)
      return {
        log,
        counted,
        countedLog: makeEventLog({ nats: counted.nats, catalog: taskCatalog, namespace }),
      }
    }

    it("is appended as a new aggregate's first commit without reading the aggregate", async () => {
      const { log, counted, countedLog } = await withCountedLog()
      const tasks = makeCommandHandler(countedLog, opening)
      const opened = await Effect.runPromise(
        tasks.handle(envelope("t1", { _tag: "OpenTask", title: "Count stock" })),
      )
      expect(counted.calls.map((c) => c.path)).toEqual(["js.publish"])
      expect(opened).toMatchObject({ status: "appended", position: { version: 1 } })
      // Its state is kept: the next command decides on it without a read either.
      counted.reset()
      await Effect.runPromise(tasks.handle(envelope("t1", { _tag: "AssignTask", assignee: "ana" })))
      expect(counted.calls.map((c) => c.path)).toEqual(["js.publish"])
      const history = await Effect.runPromise(log.load({ domain: "content", type: "task", id: "t1" }))
      expect(history.events.map((e) => e.type)).toEqual(["TaskOpened", "TaskAssigned"])
    })

    it("is decided on the history when the aggregate exists after all: the log refuses the guess", async () => {
      const { log, counted, countedLog } = await withCountedLog()
      const elsewhere = makeCommandHandler(log, taskAggregate)
      const first = envelope<TaskCommand>("t2", { _tag: "OpenTask", title: "Count stock" })
      await Effect.runPromise(elsewhere.handle(first))
      await Effect.runPromise(elsewhere.handle(envelope("t2", { _tag: "AssignTask", assignee: "ana" })))
      // A handler that keeps nothing of t2 (another process) guesses it new, and is told otherwise.
      const tasks = makeCommandHandler(countedLog, opening)
      const again = await Effect.runPromise(
        tasks.handle(envelope("t2", { _tag: "OpenTask", title: "Count it again" })),
      )
      expect(again).toMatchObject({ status: "nothing-decided", position: { version: 2 } })
      expect(counted.calls.map((c) => c.path)[0]).toBe("js.publish")
      // The first one redelivered to it, past the log's deduplication window or not: handled once.
      const redelivered = await Effect.runPromise(makeCommandHandler(log, opening).handle(first))
      expect(redelivered.status).toBe("already-handled")
      expect(redelivered.events.map((e) => e.type)).toEqual(["TaskOpened"])
      const history = await Effect.runPromise(log.load({ domain: "content", type: "task", id: "t2" }))
      expect(history.events.map((e) => e.type)).toEqual(["TaskOpened", "TaskAssigned"])
    })

    it("appends what it decides on the history when the guess is refused, under the same command's ids", async () => {
      const { log, counted, countedLog } = await withCountedLog()
      // An opening command that decides otherwise on an opened task (as a ticket's message does):
      // opening on the initial state, an assignment on an open task.
      const lenient = {
        ...opening,
        decider: {
          ...taskDecider,
          decide: (command: TaskCommand, state: TaskState) =>
            command._tag === "OpenTask" && state.status === "open"
              ? [{ type: "TaskAssigned" as const, payload: { assignee: command.title } }]
              : taskDecider.decide(command, state),
        },
      } as typeof opening
      await Effect.runPromise(
        makeCommandHandler(log, taskAggregate).handle(
          envelope("t5", { _tag: "OpenTask", title: "Count stock" }),
        ),
      )
      const tasks = makeCommandHandler(countedLog, lenient)
      const second = envelope<TaskCommand>("t5", { _tag: "OpenTask", title: "bo" })
      const outcome = await Effect.runPromise(tasks.handle(second))
      expect(outcome).toMatchObject({ status: "appended", position: { version: 2 } })
      // The refused guess stored nothing, so the log takes the same command's events afterwards.
      expect(counted.calls.filter((c) => c.path === "js.publish")).toHaveLength(2)
      const history = await Effect.runPromise(log.load({ domain: "content", type: "task", id: "t5" }))
      expect(history.events.map((e) => e.type)).toEqual(["TaskOpened", "TaskAssigned"])
      expect(history.events[1]!.commandId).toBe(second.commandId)
      // And taken again, it is the command already handled.
      const again = await Effect.runPromise(makeCommandHandler(log, lenient).handle(second))
      expect(again.status).toBe("already-handled")
    })

    it("is not guessed new when it decides nothing on the initial state, in a replay, nor for other commands", async () => {
      const { counted, countedLog } = await withCountedLog()
      const tasks = makeCommandHandler(countedLog, opening)
      const refused = await Effect.runPromiseExit(
        tasks.handle(envelope("t3", { _tag: "AssignTask", assignee: "ana" })),
      )
      expect(refused._tag).toBe("Failure")
      // Read, decided on what the log holds (nothing), refused: no append was tried.
      expect(counted.calls.map((c) => c.path)).not.toContain("js.publish")
      // An opening command that decides nothing on the initial state: nothing to guess with.
      const picky = {
        ...opening,
        decider: {
          ...taskDecider,
          decide: (command: TaskCommand, state: TaskState) =>
            command._tag === "OpenTask" && command.title === "" ? [] : taskDecider.decide(command, state),
        },
      } as typeof opening
      counted.reset()
      const nothing = await Effect.runPromise(
        makeCommandHandler(countedLog, picky).handle(envelope("t6", { _tag: "OpenTask", title: "" })),
      )
      expect(nothing.status).toBe("nothing-decided")
      expect(counted.calls.map((c) => c.path)).toEqual(["jsm.streams.getMessage"])
      // A replay decides on the history as the command was issued, and appends nothing.
      counted.reset()
      const replayed = await Effect.runPromise(
        makeCommandHandler(countedLog, opening, { replaying: true }).handle(
          envelope("t7", { _tag: "OpenTask", title: "Count stock" }),
        ),
      )
      expect(replayed.status).toBe("nothing-decided")
      expect(counted.calls.map((c) => c.path)).not.toContain("js.publish")
    })
  })
})

describe("commands to one aggregate handled together", () => {
  const opening = {
    ...taskAggregate,
    opensWith: (command: { readonly _tag: string }) => command._tag === "OpenTask",
  }
  const ref = (id: string) => ({ domain: "content", type: "task", id }) as const
  const withCountedLog = async () => {
    const { namespace, log, snapshots } = await setup()
    const counted = countingNats(nats)
    return {
      log,
      snapshots,
      counted,
      countedLog: makeEventLog({ nats: counted.nats, catalog: taskCatalog, namespace }),
    }
  }
  const run = (id: string, commands: ReadonlyArray<TaskCommand>) =>
    commands.map((command, i) => envelope<TaskCommand>(id, command, deterministicUuid(`${id}-run-${i}`, 1)))

  it("appends them as one commit, each event under its own command's ids, with each command's outcome", async () => {
    const { log, counted, countedLog } = await withCountedLog()
    const tasks = makeCommandHandler(countedLog, opening)
    const sent = run("t1", [
      { _tag: "OpenTask", title: "Count stock" },
      { _tag: "AssignTask", assignee: "ana" },
      { _tag: "OpenTask", title: "again" },
      { _tag: "CompleteTask", by: "ana" },
    ])
    const outcomes = await Effect.runPromise(tasks.handleAll(sent))
    // A new task's opening run: guessed new, so not even read; one append for four commands.
    expect(counted.calls.map((c) => c.path)).toEqual(["js.publish"])
    expect(outcomes.map((o) => o.status)).toEqual(["appended", "appended", "nothing-decided", "appended"])
    expect(outcomes.map((o) => o.events.map((e) => e.type))).toEqual([
      ["TaskOpened"],
      ["TaskAssigned"],
      [],
      ["TaskCompleted"],
    ])
    const history = await Effect.runPromise(log.load(ref("t1")))
    expect(history.events.map((e) => [e.type, e.aggregateVersion, e.commandId])).toEqual([
      ["TaskOpened", 1, sent[0]!.commandId],
      ["TaskAssigned", 2, sent[1]!.commandId],
      ["TaskCompleted", 3, sent[3]!.commandId],
    ])
    // The ids handling them one by one would have given, so a redelivery finds them.
    expect(history.events.map((e) => e.eventId)).toEqual(
      [0, 1, 3].map((i) => commandEventId(sent[i]!.commandId, 0, sent[i]!.issuedAt)),
    )
    expect(history.position).toEqual({ version: 3, sequence: 1 })
    // A replay reads the commit as the three commands that wrote it.
    const recorded = await Effect.runPromise(readRecordedCommands(log, ["content"]))
    expect([0, 1, 2, 3].map((i) => recorded.get(sent[i]!.commandId)?.types)).toEqual([
      ["TaskOpened"],
      ["TaskAssigned"],
      undefined,
      ["TaskCompleted"],
    ])
    // The state the commit leaves is kept: the next command decides on it, and appends, unread.
    counted.reset()
    const next = await Effect.runPromise(
      tasks.handleAll(
        run("t1b", [
          { _tag: "OpenTask", title: "Count shelves" },
          { _tag: "AssignTask", assignee: "ana" },
        ]),
      ),
    )
    expect(next.map((o) => o.status)).toEqual(["appended", "appended"])
    await Effect.runPromise(tasks.handle(envelope("t1b", { _tag: "CompleteTask", by: "ana" })))
    expect(counted.calls.map((c) => c.path)).toEqual(["js.publish", "js.publish"])
  })

  it("handles a redelivered run once, together or one by one, each command with its own events", async () => {
    const { log, counted, countedLog } = await withCountedLog()
    const sent = run("t2", [
      { _tag: "OpenTask", title: "Count stock" },
      { _tag: "AssignTask", assignee: "ana" },
      { _tag: "CompleteTask", by: "ana" },
    ])
    const writer = makeCommandHandler(log, opening)
    const first = await Effect.runPromise(writer.handleAll(sent))
    const ownIds = first.map((o) => o.events.map((e) => e.eventId))
    // Together: on the handler that wrote them (it keeps the state), and on one that keeps nothing
    // of t2 (another process, after a crash), which guesses it new and is told otherwise.
    for (const handler of [writer, makeCommandHandler(countedLog, opening)]) {
      const again = await Effect.runPromise(handler.handleAll(sent))
      expect(again.map((o) => o.status)).toEqual(["already-handled", "already-handled", "already-handled"])
      expect(again.map((o) => o.events.map((e) => e.eventId))).toEqual(ownIds)
    }
    // The guess is tried once: told the task exists, the first command is not guessed new again.
    expect(counted.calls.filter((c) => c.path === "js.publish")).toHaveLength(1)
    // One by one, on handlers that keep nothing of t2: the first is guessed new, and the log's
    // deduplication hands back the whole commit, of which only its own event is the command's.
    for (const [i, envelope] of sent.entries()) {
      const alone = await Effect.runPromise(makeCommandHandler(log, opening).handle(envelope))
      expect(alone.status).toBe("already-handled")
      expect(alone.events.map((e) => e.eventId)).toEqual(ownIds[i])
      expect(alone.otherwise).toBeUndefined()
    }
    const history = await Effect.runPromise(log.load(ref("t2")))
    expect(history.events.map((e) => e.type)).toEqual(["TaskOpened", "TaskAssigned", "TaskCompleted"])
    expect(history.position.sequence).toBe(1)
  })

  it("stops the commit at a command refused: those before it are appended, it fails as alone, the rest wait", async () => {
    const { log } = await setup()
    // Assigning to "nobody" is refused (a throwing decide), as a malformed command would be.
    const strict = {
      ...opening,
      decider: {
        ...taskDecider,
        decide: (command: TaskCommand, state: TaskState) => {
          if (command._tag === "AssignTask" && command.assignee === "nobody")
            throw new Error("no such person")
          return taskDecider.decide(command, state)
        },
      },
    } as typeof opening
    const sent = run("t3", [
      { _tag: "OpenTask", title: "Count stock" },
      { _tag: "AssignTask", assignee: "nobody" },
      { _tag: "AssignTask", assignee: "ana" },
    ])
    const exit = await Effect.runPromiseExit(makeCommandHandler(log, strict).handleAll(sent))
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("no such person")
    expect(JSON.stringify(exit)).toContain(sent[1]!.commandId)
    const history = await Effect.runPromise(log.load(ref("t3")))
    expect(history.events.map((e) => [e.type, e.commandId])).toEqual([["TaskOpened", sent[0]!.commandId]])
  })

  it("decides them again one by one on the log's head when another writer got in between", async () => {
    const { log } = await setup()
    const here = makeCommandHandler(log, taskAggregate)
    const elsewhere = makeCommandHandler(log, taskAggregate)
    await Effect.runPromise(here.handle(envelope("t4", { _tag: "OpenTask", title: "Count stock" })))
    await Effect.runPromise(elsewhere.handle(envelope("t4", { _tag: "AssignTask", assignee: "ana" })))
    // Kept here, t4 is unassigned: completing it would be refused, and then assigning it would
    // land. On the log's head it is completed, and assigning a completed task decides nothing.
    const outcomes = await Effect.runPromise(
      here.handleAll(
        run("t4", [
          { _tag: "CompleteTask", by: "ana" },
          { _tag: "AssignTask", assignee: "bo" },
        ]),
      ),
    )
    expect(outcomes.map((o) => [o.status, o.events.map((e) => e.type)])).toEqual([
      ["appended", ["TaskCompleted"]],
      ["nothing-decided", []],
    ])
    const history = await Effect.runPromise(log.load(ref("t4")))
    expect(history.events.map((e) => e.type)).toEqual(["TaskOpened", "TaskAssigned", "TaskCompleted"])
  })

  it("keeps every command of a commit in the snapshot it crosses", async () => {
    const { log, snapshots } = await setup()
    const sent = run("t5", [
      { _tag: "OpenTask", title: "Busy task" },
      ...Array.from({ length: 12 }, (_, i): TaskCommand => ({ _tag: "AssignTask", assignee: `p${i}` })),
    ])
    await Effect.runPromise(makeCommandHandler(log, taskAggregate, { snapshots }).handleAll(sent))
    expect(await Effect.runPromise(snapshots.read(ref("t5")))).toBeDefined()
    // A handler that starts from the snapshot, with no tail after it, still knows each command.
    const fresh = makeCommandHandler(log, taskAggregate, { snapshots })
    const outcomes = await Effect.runPromise(Effect.forEach(sent, fresh.handle))
    expect(outcomes.every((o) => o.status === "already-handled")).toBe(true)
    expect((await Effect.runPromise(fresh.state("t5"))).state).toMatchObject({ assignee: "p11" })
  })
})
