import { meshCatalog } from "@mesh/contracts"
import {
  type AggregatePosition,
  applyTopology,
  declareTopology,
  type EventLog,
  ensureDurableConsumer,
  initialPosition,
  makeEventLog,
  type NatsHandles,
  openNats,
  readDeadLetters,
} from "@mesh/eventlog"
import { makeKysely, openPostgresPool } from "@mesh/sql"
import {
  type NatsServerHandle,
  type PostgresServerHandle,
  startNatsServer,
  startPostgresServer,
  uniqueNamespace,
} from "@mesh/stack"
import { useQuietLane } from "@mesh/stack/vitest"
import { Cause, Duration, Effect, Exit, Fiber, References, Schedule } from "effect"
import { type Kysely, sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest"
import { makeCommandHandler } from "../deciders/commandHandler.ts"
import { deterministicUuid } from "../deciders/ids.ts"
import { isTransientError, isTransientFailure } from "../host/transient.ts"
import { type Dispatch, defineReactor, makeDispatch, runReactor } from "../reactors/reactor.ts"
import { boardAggregate, taskAggregate, taskCatalog } from "../testing/taskBoard.ts"
import { makeProjector } from "./projector.ts"
import {
  doubleApplied,
  type MeshDefinition,
  ticketProjection,
  ticketReadModelChecksum,
} from "./testing/ticketProjection.ts"
import { type TrafficCommit, ticketTraffic } from "./testing/traffic.ts"

// A private Postgres and a private nats-server, each SIGKILLed and restarted five times while a
// projector projects tickets and a reactor tallies completed tasks, both under a steady stream of
// appends. A small restart loop stands in for the agent host's part supervisor. Without the fixes
// this guards, a NATS restart left the projector waiting for ever on a stalled ordered consumer,
// and a Postgres outage dead-lettered the reactor's events after three deliveries.

let pg: PostgresServerHandle
let natsServer: NatsServerHandle
let nats: NatsHandles
let db: Kysely<unknown>

const escaped: Array<string> = []
const onRejection = (reason: unknown) => void escaped.push(`unhandled rejection: ${String(reason)}`)
const onException = (error: Error) => void escaped.push(`uncaught exception: ${error.stack ?? error.message}`)

// Timed: one such file at a time (vitest.config.ts).
useQuietLane()
beforeAll(async () => {
  process.on("unhandledRejection", onRejection)
  process.on("uncaughtException", onException)
  ;[pg, natsServer] = await Promise.all([startPostgresServer(), startNatsServer()])
  nats = await openNats(natsServer.url, "faults-test")
  db = makeKysely<unknown>(openPostgresPool(pg.url, { max: 4 }))
})
afterAll(async () => {
  process.off("unhandledRejection", onRejection)
  process.off("uncaughtException", onException)
  await db?.destroy().catch(() => undefined)
  await nats?.connection.close().catch(() => undefined)
  await Promise.all([natsServer?.stop(), pg?.stop()])
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const between = (min: number, max: number) => min + Math.random() * (max - min)
const firstLine = (cause: Cause.Cause<unknown>) => Cause.pretty(cause).split("\n")[0] ?? ""

/**
 * Stands in for the host's part supervisor: after a transient failure it runs the part again,
 * after a capped, jittered backoff; any other failure ends it (and the test) with that cause.
 */
const supervise = (
  run: Effect.Effect<void, unknown>,
  restarts: Array<string>,
): Effect.Effect<void, unknown> => {
  const attempt = (failures: number): Effect.Effect<void, unknown> =>
    Effect.gen(function* () {
      const startedAt = performance.now()
      // Quiet: the reactor warns at every retried delivery, and the test counts them instead.
      const exit = yield* Effect.exit(run.pipe(Effect.provideService(References.MinimumLogLevel, "Error")))
      if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return
      if (!isTransientFailure(exit.cause)) return yield* Effect.failCause(exit.cause)
      restarts.push(firstLine(exit.cause))
      const count = performance.now() - startedAt > 5_000 ? 1 : failures + 1
      yield* Effect.sleep(Duration.millis(between(0.5, 1) * Math.min(2_000, 50 * 2 ** count)))
      return yield* attempt(count)
    })
  return attempt(0)
}

/** Retries an effect for as long as it fails transiently, as a client would through an outage. */
const throughOutages = <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(Effect.retry({ while: isTransientError, schedule: Schedule.spaced("200 millis") }))

const metadata = {
  correlationId: "faults",
  causationId: null,
  actor: { kind: "system", id: "faults" },
} as const

/**
 * Appends ticket commits until told to stop, each with ids derived from its place in the plan so
 * that a retry after a lost ack is recognised as the same commit, never stored twice.
 */
const ticketProducer = (log: EventLog<MeshDefinition>) => {
  const positions = new Map<string, AggregatePosition>()
  const counts = new Map<string, number>()
  let events = 0
  const append = (commit: TrafficCommit) => {
    const n = counts.get(commit.ticketId) ?? 0
    counts.set(commit.ticketId, n + 1)
    return throughOutages(
      Effect.suspend(() =>
        log.append({
          aggregate: { domain: "customer", type: "ticket", id: commit.ticketId },
          expected: positions.get(commit.ticketId) ?? initialPosition,
          events: commit.events.map((e, i) => ({
            ...e,
            eventId: deterministicUuid(
              `${log.namespace}:${commit.ticketId}:${n}:${i}`,
              1_800_000_000_000 + n,
            ),
          })),
          metadata,
        }),
      ),
    ).pipe(
      Effect.tap((result) =>
        Effect.sync(() => {
          positions.set(commit.ticketId, result.position)
          events += commit.events.length
        }),
      ),
    )
  }
  return {
    run: async (stopped: () => boolean) => {
      for (const round of ticketTraffic({ events: 100_000, tickets: 16, prefix: "t", maxCommitSize: 3 })) {
        if (stopped()) return
        await Effect.runPromise(Effect.forEach(round, append, { concurrency: 8, discard: true }))
        await sleep(60)
      }
    },
    events: () => events,
  }
}

const boardOf = (taskId: string) => `board-${Number(taskId.slice("task-".length)) % 12}`

/**
 * Tallies each completed task on one of twelve boards, after a look in the read-model database as
 * reactions that consult a read model do, so that it needs Postgres as well as NATS. It
 * dead-letters after three failed deliveries: an outage must not count toward them.
 */
const tallyOnBoards = defineReactor<(typeof taskCatalog.definitions)[number], unknown>({
  name: "tally-through-faults",
  consumes: { domain: "content" },
  eventTypes: ["TaskCompleted"],
  react: (event) =>
    Effect.tryPromise(() => sql`select 1`.execute(db)).pipe(
      Effect.as([
        {
          aggregateType: "board",
          aggregateId: boardOf(event.aggregateId),
          command: { _tag: "TallyCompletion", taskId: event.aggregateId },
        },
      ]),
    ),
  maxDeliveries: 3,
  backoff: { initialMs: 100, maxMs: 1_000, factor: 2 },
})

describe("a projector and a reactor while Postgres and NATS are SIGKILLed and restarted", () => {
  it("recover by themselves each time; the read model equals a fresh projection and every reaction happened once", {
    timeout: 240_000,
  }, async () => {
    const namespace = uniqueNamespace("kf")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const ticketLog = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const taskLog = makeEventLog({ nats, catalog: taskCatalog, namespace })
    const tasks = makeCommandHandler(taskLog, taskAggregate)
    const boards = makeCommandHandler(taskLog, boardAggregate)
    const dispatch: Dispatch = makeDispatch([tasks, boards])
    let tallied = 0
    const countingDispatch: Dispatch = (type, envelope) =>
      dispatch(type, envelope).pipe(Effect.tap(() => Effect.sync(() => tallied++)))
    // A short ack deadline, so that a delivery whose ack or nak was lost in an outage comes back soon.
    await Effect.runPromise(
      ensureDurableConsumer(nats, namespace, {
        name: tallyOnBoards.name,
        domain: "content",
        ackWaitMs: 5_000,
      }),
    )

    const projection = ticketProjection({ batchSize: 50, lingerMs: 10 })
    const live = makeProjector({ projection, db, schema: "live", eventLog: ticketLog })
    const projectorRestarts: Array<string> = []
    const reactorRestarts: Array<string> = []
    let redelivered = 0
    const parts = [
      Effect.runFork(supervise(live.run, projectorRestarts)),
      Effect.runFork(
        supervise(
          runReactor({
            nats,
            namespace,
            catalog: taskCatalog,
            reactor: tallyOnBoards,
            dispatch: countingDispatch,
            agent: "faults",
            beforeAck: (_, delivery) =>
              Effect.sync(() => {
                if (delivery.deliveryCount > 1) redelivered++
              }),
          }),
          reactorRestarts,
        ),
      ),
    ]
    let partsStopped = false
    const assertPartsAlive = () => {
      if (partsStopped) return
      for (const part of parts) {
        const exit = part.pollUnsafe()
        if (exit !== undefined)
          throw new Error(
            `a part stopped: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "it returned"}`,
          )
      }
    }
    const waitFor = async (what: string, condition: () => Promise<boolean>, timeoutMs = 60_000) => {
      const deadline = performance.now() + timeoutMs
      for (;;) {
        assertPartsAlive()
        if (await condition().catch(() => false)) return
        if (performance.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`)
        await sleep(100)
      }
    }
    const head = () => Effect.runPromise(throughOutages(ticketLog.headSequence("customer")))
    const checkpoint = () => Effect.runPromise(live.status).then((s) => s.streams[0]!.checkpoint)

    // Traffic: ticket commits for the projector, tasks opened, assigned and completed for the reactor.
    let stopped = false
    const tickets = ticketProducer(ticketLog)
    const ticketsDone = tickets.run(() => stopped)
    const completed: Array<string> = []
    const tasksDone = (async () => {
      for (let i = 0; !stopped; i++) {
        const taskId = `task-${i}`
        const issuedAt = 1_800_000_000_000 + i
        const steps = [
          { _tag: "OpenTask", title: `Task ${i}` },
          { _tag: "AssignTask", assignee: "ana" },
          { _tag: "CompleteTask", by: "ana" },
        ] as const
        for (const [step, command] of steps.entries()) {
          await Effect.runPromise(
            throughOutages(
              tasks.handle({
                commandId: deterministicUuid(`${namespace}:${taskId}:${step}`, issuedAt),
                aggregateId: taskId,
                command,
                issuedAt,
                metadata,
              }),
            ),
          )
        }
        completed.push(taskId)
        await sleep(80)
      }
    })()

    const stopTraffic = async () => {
      stopped = true
      // Bounded: a client stuck in a read that never ends must not hide why the test stopped.
      await Promise.race([
        Promise.allSettled([
          ticketsDone,
          tasksDone,
          Effect.runPromise(Effect.forEach(parts, Fiber.interrupt, { discard: true })),
        ]),
        sleep(10_000),
      ])
    }
    onTestFinished(stopTraffic)

    // Five SIGKILLs of each, alternating. After each restart both parts must be moving again within `recoveryMs`: the projector past
    // the head as it stood after the restart, and a new reaction done. (Before the read of the log
    // failed on a lost connection, a projector stalled for half a minute or more after a NATS restart.)
    const recoveryMs = 20_000
    const recoveries: Array<number> = []
    const moving = async (after: string) => {
      const since = performance.now()
      const target = await head()
      const talliedBefore = tallied
      await waitFor(
        `${after}: projector past #${target}`,
        async () => (await checkpoint()) >= target,
        recoveryMs,
      )
      await waitFor(`${after}: reactor reacting`, async () => tallied > talliedBefore, recoveryMs)
      return performance.now() - since
    }
    await moving("start")
    const kills: Array<string> = []
    for (let round = 0; round < 10; round++) {
      await sleep(between(100, 600))
      const [name, server] = round % 2 === 0 ? (["postgres", pg] as const) : (["nats", natsServer] as const)
      kills.push(name)
      await server.kill()
      await sleep(between(300, 1_200))
      await server.restart()
      recoveries.push(await moving(`${name} kill ${kills.filter((k) => k === name).length}`))
    }

    stopped = true
    await Promise.all([ticketsDone, tasksDone])
    const lastSequence = await head()
    await waitFor("projector at the head", async () => (await checkpoint()) === lastSequence)
    const talliesOf = async (board: string) =>
      (await Effect.runPromise(taskLog.load({ domain: "content", type: "board", id: board }))).events
    const allTallies = async () =>
      (await Promise.all(Array.from({ length: 12 }, (_, b) => talliesOf(`board-${b}`)))).flat()
    await waitFor("every completed task tallied", async () => (await allTallies()).length >= completed.length)
    partsStopped = true
    await Effect.runPromise(Effect.forEach(parts, Fiber.interrupt, { discard: true }))

    // The read model equals a fresh projection of the same log from sequence 0, nothing applied twice.
    const fresh = makeProjector({ projection, db, schema: "rebuilt", eventLog: ticketLog })
    const rebuilding = Effect.runFork(fresh.run)
    await waitFor("the fresh projection at the head", async () => {
      const status = await Effect.runPromise(fresh.status)
      return status.streams[0]!.checkpoint === lastSequence
    })
    await Effect.runPromise(Fiber.interrupt(rebuilding))
    const liveModel = await ticketReadModelChecksum(db, "live")
    expect(liveModel.ledger.rows).toBe(tickets.events())
    expect(liveModel).toEqual(await ticketReadModelChecksum(db, "rebuilt"))
    expect(await doubleApplied(db, "live")).toEqual([])

    // Every completed task was tallied exactly once, caused by its completion; nothing was dead-lettered.
    const tallies = await allTallies()
    const taskIds = tallies.map((e) => (e.type === "CompletionTallied" ? e.payload.taskId : e.type))
    expect(taskIds.length).toBe(completed.length)
    expect(new Set(taskIds)).toEqual(new Set(completed))
    const completions = await Effect.runPromise(
      Effect.forEach(
        completed,
        (id) =>
          Effect.map(
            taskLog.load({ domain: "content", type: "task", id }),
            (history) => [id, history.events.find((e) => e.type === "TaskCompleted")?.eventId] as const,
          ),
        { concurrency: 8 },
      ),
    )
    const completionOf = new Map(completions)
    for (const tally of tallies)
      expect(tally.causationId).toBe(
        completionOf.get(tally.type === "CompletionTallied" ? tally.payload.taskId : ""),
      )
    expect(await Effect.runPromise(readDeadLetters(nats, namespace))).toEqual([])
    // The outages reached both parts: every NATS kill ends the projector's read, and a reaction
    // arrives every quarter second or so, each needing Postgres.
    expect(projectorRestarts.length).toBeGreaterThanOrEqual(5)
    expect(redelivered).toBeGreaterThan(0)

    expect(escaped).toEqual([])
    expect(kills.filter((k) => k === "postgres")).toHaveLength(5)
    expect(kills.filter((k) => k === "nats")).toHaveLength(5)
    console.log(
      `faults: ${kills.length} kills, each recovered from within ${Math.ceil(Math.max(...recoveries))} ms; ${tickets.events()} ticket events up to #${lastSequence}, ` +
        `${completed.length} tasks tallied once each; projector restarted ${projectorRestarts.length} times, ` +
        `reactor ${reactorRestarts.length} times ` +
        `(${redelivered} reactions succeeded on a redelivery)\n  projector: ${[...new Set(projectorRestarts)].join("\n             ")}` +
        `\n  reactor: ${[...new Set(reactorRestarts)].join("\n           ")}`,
    )
  })
})
