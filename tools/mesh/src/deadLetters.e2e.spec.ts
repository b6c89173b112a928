import {
  applyTopology,
  CurrentReactionCause,
  declareTopology,
  makeEventLog,
  openNats,
  readDeadLetters,
} from "@mesh/eventlog"
import {
  agentHostLayerFromConfig,
  defineAgent,
  defineReactor,
  deterministicUuid,
  makeCommandHandler,
  startAgent,
} from "@mesh/kernel"
import { boardAggregate, taskAggregate, taskCatalog } from "@mesh/kernel/testing/taskBoard"
import { type NatsServerHandle, startNatsServer, uniqueNamespace, waitFor } from "@mesh/stack"
import { ConfigProvider, Effect, Fiber, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMesh } from "./testing/runMesh.ts"

// A board agent whose tally reaction was broken for a while: it gave up on each completed task and
// dead-lettered it. Once the bug is fixed, an operator hands some dead letters back by filter and
// discards the rest, each on the record; the reaction runs once for each one handed back.

const namespace = uniqueNamespace("dlq")
let server: NatsServerHandle
let agent: Fiber.Fiber<unknown, unknown>
let broken = true
let between = ""

const tally = defineReactor<(typeof taskCatalog.definitions)[number], Error>({
  name: "board-tally",
  consumes: { domain: "content" },
  eventTypes: ["TaskCompleted"],
  react: (event) =>
    broken
      ? Effect.fail(new Error(`tally store rejected ${event.aggregateId}`))
      : Effect.succeed([
          {
            aggregateType: "board",
            aggregateId: "main",
            command: { _tag: "TallyCompletion", taskId: event.aggregateId },
          },
        ]),
  maxDeliveries: 1,
  backoff: { initialMs: 10, maxMs: 10, factor: 1 },
})

const boardAgent = defineAgent({
  name: "board",
  catalog: taskCatalog,
  aggregates: [taskAggregate, boardAggregate],
  reactors: [tally],
})

/** Runs `definition` in this process on the namespace until the fiber is interrupted. */
const runAgent = (
  definition: typeof boardAgent,
  agentNamespace: string,
  extraEnv: Record<string, string> = {},
): Fiber.Fiber<unknown, unknown> => {
  const env = {
    MESH_NATS_URL: server.url,
    MESH_NAMESPACE: agentNamespace,
    MESH_DATABASE_URL: "pglite:memory",
    MESH_HTTP_PORT: "0",
    MESH_HTTP_HOST: "127.0.0.1",
    ...extraEnv,
  }
  return Effect.runFork(
    Effect.scoped(Effect.andThen(startAgent(definition), Effect.never)).pipe(
      Effect.provide(
        agentHostLayerFromConfig(definition.name).pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))),
        ),
      ),
    ),
  )
}

beforeAll(async () => {
  server = await startNatsServer()
  // The agent runs in this process until the file's tests are done.
  agent = runAgent(boardAgent, namespace)
  const nats = await openNats(server.url)
  // The agent declares the streams as it starts; the test writes as soon as they are there.
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const tasks = makeCommandHandler(makeEventLog({ nats, catalog: taskCatalog, namespace }), taskAggregate)
  const completeTasks = async (from: number, to: number) => {
    for (let t = from; t < to; t++)
      for (const [i, command] of [
        { _tag: "OpenTask", title: `Pack order ${t}` },
        { _tag: "AssignTask", assignee: "ana" },
        { _tag: "CompleteTask", by: "ana" },
      ].entries())
        await Effect.runPromise(
          tasks.handle({
            commandId: deterministicUuid(`${namespace}-${t}-${i}`, 1),
            aggregateId: `t${t}`,
            command: command as Parameters<typeof tasks.handle>[0]["command"],
            issuedAt: 1_700_000_000_000,
            metadata: { correlationId: `c${t}`, causationId: null, actor: { kind: "human", id: "ana" } },
          }),
        )
    await waitFor(
      "the completions are dead-lettered",
      async () =>
        (await Effect.runPromise(readDeadLetters(nats, namespace))).length === to ? true : undefined,
      { timeoutMs: 30_000 },
    )
  }
  // Two dead-lettered, then two more a moment later: a time filter tells them apart.
  await completeTasks(0, 2)
  await new Promise((resolve) => setTimeout(resolve, 50))
  between = new Date().toISOString()
  await new Promise((resolve) => setTimeout(resolve, 50))
  await completeTasks(2, 4)
  await nats.connection.close()
}, 60_000)

afterAll(async () => {
  await Effect.runPromise(Fiber.interrupt(agent))
  await server?.stop()
})

const mesh = (args: ReadonlyArray<string>) =>
  runMesh([...args, "--nats-url", server.url, "--namespace", namespace], {}, { timeoutMs: 120_000 })

const board = async () => {
  const nats = await openNats(server.url)
  const state = await Effect.runPromise(
    makeCommandHandler(makeEventLog({ nats, catalog: taskCatalog, namespace }), boardAggregate).state("main"),
  )
  await nats.connection.close()
  return state.state
}

const lines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l))

describe("mesh dead-letters by filter", () => {
  it("lists, retries and discards dead letters by filter, each on the record, the reaction running once for each retried", async () => {
    const listed = lines(
      (await mesh(["dead-letters", "--type", "TaskCompleted", "--error", "TALLY STORE", "--json"])).stdout,
    )
    expect(listed).toHaveLength(4)
    expect(listed[0]).toMatchObject({ consumer: "board-tally", types: ["TaskCompleted"] })
    expect(listed[0].reason).toContain("tally store rejected")
    expect(lines((await mesh(["dead-letters", "--consumer", "someone-else", "--json"])).stdout)).toEqual([])

    // Still broken: a retry fails again, names why, and keeps the dead letters.
    const sameBug = await mesh([
      "dead-letters",
      "retry",
      "--consumer",
      "board-tally",
      "--until",
      between,
      "--as",
      "sre-anna",
    ])
    expect(sameBug.code).toBe(1)
    expect(sameBug.stdout).toContain("still failing (tally store rejected")
    expect(sameBug.stdout).toContain("2 dead letters retried: 0 reacted, 2 still dead-lettered")
    expect(lines((await mesh(["dead-letters", "--json"])).stdout)).toHaveLength(4)

    // Fixed: the first two handed back, the other two discarded.
    broken = false
    const dry = await mesh(["dead-letters", "retry", "--all", "--dry-run", "--as", "sre-anna"])
    expect(dry.stdout).toContain("4 dead letters would be retried")
    expect((await board()).completions).toBe(0)

    const retried = await mesh(["dead-letters", "retry", "--until", between, "--as", "sre-anna", "--json"])
    expect(retried.code, retried.stderr).toBe(0)
    expect(lines(retried.stdout).map((o) => o.outcome)).toEqual(["retried", "retried"])
    expect((await board()).completions).toBe(2)
    const left = lines((await mesh(["dead-letters", "--json"])).stdout)
    expect(left.map((d) => JSON.parse(d.data)[0].aggregateId).sort()).toEqual(["t2", "t3"])

    const unfiltered = await mesh([
      "dead-letters",
      "discard",
      "--reason",
      "tallied by hand",
      "--as",
      "sre-anna",
    ])
    expect(unfiltered.code).toBe(2)
    expect(unfiltered.stderr).toContain("say which dead letters to discard")
    const discarded = await mesh([
      "dead-letters",
      "discard",
      "--since",
      between,
      "--reason",
      "tallied by hand",
      "--as",
      "sre-anna",
    ])
    expect(discarded.code, discarded.stderr).toBe(0)
    expect(discarded.stdout).toContain("2 dead letters discarded")
    expect((await mesh(["dead-letters", "--json"])).stdout).toBe("")
    expect((await board()).completions).toBe(2)

    // Every operation is in the log with the operator: each try of a redelivery (two that failed,
    // two that worked) and each discard with the reason.
    const recorded = lines((await mesh(["tail", "requests", "--no-follow", "--json"])).stdout)
    expect(recorded.map((e) => `${e.payload.name} ${e.actor.id}`)).toEqual([
      "RedeliverDeadLetter sre-anna",
      "RedeliverDeadLetter sre-anna",
      "RedeliverDeadLetter sre-anna",
      "RedeliverDeadLetter sre-anna",
      "DiscardDeadLetter sre-anna",
      "DiscardDeadLetter sre-anna",
    ])
    expect(recorded[4].payload.body).toMatchObject({
      consumer: "board-tally",
      types: ["TaskCompleted"],
      reason: "tallied by hand",
    })
  }, 120_000)
})

describe("a dead letter handed back to an agent replaying history", () => {
  it("runs its reaction as the reactor would in the replay: reading as it first ran", async () => {
    const replayNamespace = uniqueNamespace("dlqreplay")
    const seen: Array<{ readonly replaying: boolean | undefined; readonly readAsOf: string | undefined }> = []
    let failing = true
    const replayTally = defineReactor<(typeof taskCatalog.definitions)[number], Error>({
      ...tally,
      name: "replay-tally",
      react: (event, cause) =>
        Effect.gen(function* () {
          const reaction = yield* CurrentReactionCause
          seen.push({ replaying: reaction?.replaying, readAsOf: reaction?.readAsOf })
          if (failing) return yield* Effect.fail(new Error(`tally store rejected ${event.aggregateId}`))
          return yield* tally.react(event, cause)
        }),
    })
    // The history first, as a sandbox has it before its agents start.
    const nats = await openNats(server.url)
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace: replayNamespace })))
    const log = makeEventLog({ nats, catalog: taskCatalog, namespace: replayNamespace })
    const tasks = makeCommandHandler(log, taskAggregate)
    for (const [i, command] of [
      { _tag: "OpenTask", title: "Pack order 9" },
      { _tag: "AssignTask", assignee: "ana" },
      { _tag: "CompleteTask", by: "ana" },
    ].entries())
      await Effect.runPromise(
        tasks.handle({
          commandId: deterministicUuid(`${replayNamespace}-${i}`, 1),
          aggregateId: "t9",
          command: command as Parameters<typeof tasks.handle>[0]["command"],
          issuedAt: 1_700_000_000_000,
          metadata: { correlationId: "c9", causationId: null, actor: { kind: "human", id: "ana" } },
        }),
      )
    const replaying = runAgent(
      defineAgent({
        name: "board",
        catalog: taskCatalog,
        aggregates: [taskAggregate, boardAggregate],
        reactors: [replayTally],
      }),
      replayNamespace,
      { MESH_REPLAY: "true" },
    )
    try {
      await waitFor(
        "the completion is dead-lettered",
        async () =>
          (await Effect.runPromise(readDeadLetters(nats, replayNamespace))).length === 1 ? true : undefined,
        { timeoutMs: 30_000 },
      )
      failing = false
      const retried = await runMesh(
        [
          "dead-letters",
          "retry",
          "--all",
          "--as",
          "sre-anna",
          "--json",
          "--nats-url",
          server.url,
          "--namespace",
          replayNamespace,
        ],
        {},
        { timeoutMs: 120_000 },
      )
      expect(retried.code, retried.stderr).toBe(0)
      // Delivered once by the consumer, once handed back: both read as the reaction first ran.
      expect(seen).toHaveLength(2)
      expect(seen.every((s) => s.replaying === true)).toBe(true)
      expect(seen[1]?.readAsOf).toBe(seen[0]?.readAsOf)
      expect(lines(retried.stdout).map((o) => o.outcome)).toEqual(["retried"])
      // A replay appends what the log lacks nowhere: the tally it now gives is reported, not written.
      const board = await Effect.runPromise(makeCommandHandler(log, boardAggregate).state("main"))
      expect((board.state as { completions: number }).completions).toBe(0)
      expect(await Effect.runPromise(readDeadLetters(nats, replayNamespace))).toEqual([])
    } finally {
      await Effect.runPromise(Fiber.interrupt(replaying))
      await nats.connection.close()
    }
  }, 120_000)
})
