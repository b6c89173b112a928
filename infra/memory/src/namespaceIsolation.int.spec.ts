import { domains, Subjects } from "@mesh/contracts"
import { MeshNamespace, makeEventLog, NatsClient, type NatsHandles, openNats } from "@mesh/eventlog"
import {
  AgentSettings,
  deterministicUuid,
  makeCommandHandler,
  makeKvSnapshotStore,
  readModelSchemaOf,
  startAgent,
} from "@mesh/kernel"
import { taskAggregate, taskCatalog } from "@mesh/kernel/testing/taskBoard"
import { taskBoardAgent } from "@mesh/kernel/testing/taskBoardAgent"
import { DecisionRecorder, ModelProvider, runSkill } from "@mesh/models"
import { sortMessage } from "@mesh/models/testing"
import { makeKysely, openPostgresPool, ReadModelDb } from "@mesh/sql"
import { postgresTestUrl, uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Layer, Redacted } from "effect"
import { sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MemoryStore } from "./memoryStore.ts"
import { recordsFor, tempMemoryDir, vectorOf } from "./testing/memoryTestKit.ts"

// Two namespaces with the same agent names on one Postgres, one NATS and one LanceDB folder: a
// sandbox or a fork beside the live mesh. They play the same workload, each with its own words,
// and neither sees the other's rows, messages, vectors or keys.

const nats = useNatsServer()
const memoryDir = tempMemoryDir()
let client: NatsHandles
beforeAll(async () => {
  client = await openNats(nats.url)
})
afterAll(async () => {
  await client?.connection.drain()
  memoryDir[Symbol.dispose]()
})

const layersOf = (namespace: string) =>
  Layer.mergeAll(
    NatsClient.layer(nats.url, `task-board-${namespace}`),
    ReadModelDb.layer(Redacted.make(postgresTestUrl())),
    MeshNamespace.layer(namespace),
    AgentSettings.layer({ httpPort: 0 }),
  )

/** The namespace's memory in the one folder both share. */
const memoryOf = (namespace: string) => MemoryStore.layer({ dir: memoryDir.dir, namespace })

/** Plays the same day in a namespace: tasks opened and completed, a memory, a decision, a snapshot. */
const playDay = (namespace: string, word: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const agent = yield* startAgent(taskBoardAgent)
      const handles = yield* NatsClient
      const tasks = makeCommandHandler(
        makeEventLog({ nats: handles, catalog: taskCatalog, namespace }),
        taskAggregate,
      )
      for (const id of ["t1", "t2", "t3"]) {
        for (const [step, command] of [
          { _tag: "OpenTask", title: `${word} ${id}` },
          { _tag: "AssignTask", assignee: word },
          { _tag: "CompleteTask", by: word },
        ].entries()) {
          yield* tasks.handle({
            commandId: deterministicUuid(`${namespace}:${id}:${step}`, 1),
            aggregateId: id,
            command: command as never,
            issuedAt: 1_700_000_000_000,
            metadata: { correlationId: id, causationId: null, actor: { kind: "human", id: word } },
          })
        }
      }
      // Same memory id, same decision id and same snapshot key in both namespaces.
      const memory = yield* MemoryStore
      yield* memory.upsert(
        "task-board",
        "kb_article",
        yield* Effect.promise(() =>
          recordsFor([{ id: "faq-1", tenantId: "shop", text: `how to pack ${word} parcels`, sequence: 1 }]),
        ),
      )
      const run = yield* runSkill(sortMessage, {
        subject: `${word} parcel`,
        body: `where is my ${word} parcel`,
      })
      const recorder = yield* DecisionRecorder
      yield* recorder.record({
        agent: "task-board",
        decisionId: "triage-1",
        invocation: run.invocation,
        metadata: { correlationId: "t1", causationId: null, actor: { kind: "agent", id: "task-board" } },
      })
      const snapshots = yield* Effect.promise(() => makeKvSnapshotStore(handles, namespace))
      yield* snapshots.write({ domain: "content", type: "task", id: "t1" }, new TextEncoder().encode(word))
      // Wait until the projection has every task.
      for (;;) {
        const status = (yield* agent.status) as { workers: Array<{ status: { lag?: number } }> }
        if (status.workers[0]?.status.lag === 0) break
        yield* Effect.sleep("50 millis")
      }
    }),
  ).pipe(
    Effect.provide(
      Layer.mergeAll(ModelProvider.layerOffline, DecisionRecorder.layerFromConfig, memoryOf(namespace)).pipe(
        Layer.provideMerge(layersOf(namespace)),
      ),
    ),
  )

describe("two namespaces beside each other", () => {
  it("share no rows, messages, vectors, decisions or snapshot keys", async () => {
    const live = uniqueNamespace("live")
    const fork = uniqueNamespace("fork")
    await Effect.runPromise(playDay(live, "blue"))
    await Effect.runPromise(playDay(fork, "green"))

    // Rows: each namespace's read model holds its own tasks only.
    const db = makeKysely<unknown>(openPostgresPool(postgresTestUrl(), { max: 1 }))
    try {
      const titles = async (namespace: string) =>
        (
          await sql<{
            title: string
          }>`select title from ${sql.table(`${readModelSchemaOf(namespace, "task-board")}.task_list`)} order by title`.execute(
            db,
          )
        ).rows.map((r) => r.title)
      expect(await titles(live)).toEqual(["blue t1", "blue t2", "blue t3"])
      expect(await titles(fork)).toEqual(["green t1", "green t2", "green t3"])
      for (const namespace of [live, fork])
        await sql`drop schema if exists ${sql.id(readModelSchemaOf(namespace, "task-board"))} cascade`.execute(
          db,
        )
    } finally {
      await db.destroy()
    }

    // Messages: each namespace's streams hold only its own subjects.
    for (const namespace of [live, fork]) {
      for (const domain of domains) {
        const info = await client.jsm.streams.info(Subjects.streamName(namespace, domain))
        expect(info.config.subjects).toEqual([Subjects.domainWildcard(namespace, domain)])
      }
      const content = await client.jsm.streams.info(Subjects.streamName(namespace, "content"))
      expect(content.state.messages).toBeGreaterThanOrEqual(9)
    }

    // Vectors, decisions and keys: the same ids answer each namespace with its own.
    const inNamespace = <A, E>(
      namespace: string,
      effect: Effect.Effect<A, E, MemoryStore | DecisionRecorder>,
    ) =>
      Effect.runPromise(
        effect.pipe(
          Effect.provide(
            Layer.mergeAll(DecisionRecorder.layerFromConfig, memoryOf(namespace)).pipe(
              Layer.provideMerge(layersOf(namespace)),
            ),
          ),
        ),
      )
    for (const [namespace, word, other] of [
      [live, "blue", "green"],
      [fork, "green", "blue"],
    ] as const) {
      const hits = await inNamespace(
        namespace,
        Effect.flatMap(Effect.service(MemoryStore), (memory) =>
          Effect.flatMap(
            Effect.promise(() => vectorOf(`how to pack ${other} parcels`)),
            (queryVector) =>
              memory.search({ agent: "task-board", kind: "kb_article", tenantId: "shop", queryVector }),
          ),
        ),
      )
      expect(hits.hits.map((h) => h.text)).toEqual([`how to pack ${word} parcels`])
      const decision = await inNamespace(
        namespace,
        Effect.flatMap(Effect.service(DecisionRecorder), (recorder) =>
          recorder.load("task-board", "triage-1"),
        ),
      )
      expect(decision.invocation.prompt.user).toContain(word)
      expect(decision.invocation.prompt.user).not.toContain(other)
      const snapshots = await makeKvSnapshotStore(client, namespace)
      const stored = await Effect.runPromise(snapshots.read({ domain: "content", type: "task", id: "t1" }))
      expect(new TextDecoder().decode(stored)).toBe(word)
    }
  })
})
