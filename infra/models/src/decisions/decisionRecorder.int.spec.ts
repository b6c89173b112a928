import { type CommitMetadata, Subjects } from "@mesh/contracts"
import { applyTopology, declareTopology, NatsClient, type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Objm } from "@nats-io/obj"
import { Effect, Exit, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultPriceTable } from "../config.ts"
import { ModelProvider, type ModelProviderShape } from "../modelProvider.ts"
import { runSkill } from "../skills/skill.ts"
import { sortMessage } from "../testing/sampleSkill.ts"
import type { DecisionContentPolicy } from "./decisionContent.ts"
import { DecisionError, DecisionRecorder } from "./decisionRecorder.ts"

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

const agent = "customer-ops"
/** The ticket event each recorded decision answers. */
const metadata: CommitMetadata = {
  correlationId: "T-1",
  causationId: "019abcde-0000-7000-8000-00000000000a",
  actor: { kind: "agent", id: agent },
}

/** A remote model answering with a fixed valid sorting, counting its calls. */
const remoteModel = () => {
  let calls = 0
  const provider: ModelProviderShape = {
    provider: "ollama",
    resolveChatModel: (preferred) => preferred,
    embedModel: "all-minilm",
    prices: defaultPriceTable,
    chat: (request) =>
      Effect.sync(() => {
        calls++
        return {
          content: JSON.stringify({
            topic: "refund",
            urgent: true,
            reason: "safety",
            confidence: 0.9,
            actions: ["reply", "refund"],
          }),
          model: request.model,
          provider: "ollama" as const,
          promptTokens: 2400,
          completionTokens: 40,
          latencyMs: 850,
        }
      }),
    embed: () => Effect.die("not used"),
  }
  return { layer: Layer.succeed(ModelProvider, provider), calls: () => calls }
}

/** A model that must never be asked: replay is free and deterministic. */
const forbiddenModel: ModelProviderShape = {
  provider: "ollama",
  resolveChatModel: (preferred) => preferred,
  embedModel: "all-minilm",
  prices: defaultPriceTable,
  chat: () => Effect.die(new Error("replay called a model")),
  embed: () => Effect.die(new Error("replay called an embedder")),
}

/** A fresh namespace with its streams, and a recorder for it. */
const recorderLayer = async (policy?: DecisionContentPolicy) => {
  const namespace = uniqueNamespace("dec")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const layer = DecisionRecorder.layer({ namespace, ...(policy === undefined ? {} : { policy }) }).pipe(
    Layer.provide(Layer.succeed(NatsClient, nats)),
  )
  return { namespace, layer }
}

const bigTicket = {
  subject: "Refund for a lamp that sparks",
  // About 40 KB of customer history pasted into the ticket: far above the 1 KiB inline limit.
  body: `The lamp sparks and could start a fire, please refund. ${"Earlier message in the thread. ".repeat(1300)}`,
}

const retrieved = [
  { id: "T-17:resolved_ticket", kind: "resolved_ticket", score: 0.83, similarity: 0.83 },
  { id: "KB-4:kb_article", kind: "kb_article", score: 0.71, similarity: 0.71 },
]

const failureOf = (exit: Exit.Exit<unknown, unknown>): DecisionError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (failure === undefined || failure._tag !== "Fail" || !(failure.error instanceof DecisionError))
    throw new Error(`expected a DecisionError, got ${String(exit.cause)}`)
  return failure.error
}

describe("DecisionRecorder", () => {
  it("records a skill run and replays it to the same decision without calling a model", async () => {
    const { layer } = await recorderLayer()
    const remote = remoteModel()
    const original = await Effect.runPromise(
      runSkill(sortMessage, bigTicket).pipe(Effect.provide(remote.layer)),
    )
    expect(remote.calls()).toBe(1)
    const recorded = await Effect.runPromise(
      DecisionRecorder.use((recorder) =>
        recorder.record({ agent, metadata, decisionId: "D-1", invocation: original.invocation, retrieved }),
      ).pipe(Effect.provide(layer)),
    )
    expect(recorded.event.aggregateType).toBe(agent)
    expect(recorded.event.payload).toMatchObject({
      skill: "sortMessage",
      skillVersion: 2,
      promptVersion: "sort-2",
      provider: "ollama",
      model: "llama3.2:3b",
      outcome: "answered",
      promptTokens: 2400,
      completionTokens: 40,
      promptHash: original.invocation.promptHash,
      retrieved: [
        { memoryId: "T-17:resolved_ticket", kind: "resolved_ticket", score: 0.83, similarity: 0.83 },
        { memoryId: "KB-4:kb_article", kind: "kb_article", score: 0.71, similarity: 0.71 },
      ],
    })
    expect(recorded.event.payload.prompt._tag).toBe("Stored")

    const replayed = await Effect.runPromise(
      DecisionRecorder.use((recorder) => recorder.replay(sortMessage, agent, "D-1")).pipe(
        Effect.provide(Layer.merge(layer, Layer.succeed(ModelProvider, forbiddenModel))),
      ),
    )
    expect(replayed.output).toEqual(original.output)
    expect(replayed.invocation).toEqual(original.invocation)
    expect(remote.calls()).toBe(1)
  })

  it("stores a large input and prompt once for two decisions and keeps each event under a few KB", async () => {
    const { namespace, layer } = await recorderLayer()
    const remote = remoteModel()
    const [first, second] = await Effect.runPromise(
      Effect.gen(function* () {
        const recorder = yield* DecisionRecorder
        // The skill renders the whole body into its prompt.
        const a = yield* runSkill(sortMessage, bigTicket)
        const b = yield* runSkill(sortMessage, bigTicket)
        return [
          yield* recorder.record({ agent, metadata, decisionId: "D-1", invocation: a.invocation, retrieved }),
          yield* recorder.record({ agent, metadata, decisionId: "D-2", invocation: b.invocation, retrieved }),
        ] as const
      }).pipe(Effect.provide(Layer.merge(layer, remote.layer))),
    )
    const { input, prompt } = first.event.payload
    expect(prompt).toMatchObject({ _tag: "Stored" })
    expect(prompt.bytes).toBeGreaterThan(40_000)
    // The input the prompt was rendered from is as large, and kept the same way.
    expect(input).toMatchObject({ _tag: "Stored" })
    expect(input?.bytes).toBeGreaterThan(39_000)
    expect(second.event.payload.prompt).toEqual(prompt)
    expect(second.event.payload.input).toEqual(input)
    expect(first.objectsWritten).toBe(2)
    expect(second.objectsWritten).toBe(0)

    const store = await new Objm(nats.js).open(Subjects.decisionContentBucket(namespace))
    const objects = await store.list()
    expect(new Map(objects.map((o) => [o.name, o.size]))).toEqual(
      new Map([
        [prompt.sha256, prompt.bytes],
        [input?.sha256, input?.bytes],
      ]),
    )

    for (const id of ["D-1", "D-2"]) {
      const message = await nats.jsm.streams.getMessage(Subjects.streamName(namespace, "decisions"), {
        last_by_subj: Subjects.aggregate(namespace, "decisions", agent, id),
      })
      expect(message?.data.length).toBeLessThan(4096)
    }
  })

  it("names the hash when referenced content is corrupt or missing", async () => {
    const { namespace, layer } = await recorderLayer()
    const remote = remoteModel()
    const recorded = await Effect.runPromise(
      Effect.gen(function* () {
        const run = yield* runSkill(sortMessage, bigTicket)
        return yield* DecisionRecorder.use((r) =>
          r.record({ agent, metadata, decisionId: "D-9", invocation: run.invocation }),
        )
      }).pipe(Effect.provide(Layer.merge(layer, remote.layer))),
    )
    const sha256 = recorded.event.payload.prompt.sha256
    const store = await new Objm(nats.js).open(Subjects.decisionContentBucket(namespace))
    const load = () =>
      Effect.runPromiseExit(DecisionRecorder.use((r) => r.load(agent, "D-9")).pipe(Effect.provide(layer)))

    await store.putBlob({ name: sha256 }, new TextEncoder().encode('{"system":"","user":"tampered"}'))
    const corrupt = failureOf(await load())
    expect(corrupt.reason).toMatchObject({ _tag: "ContentCorrupt", sha256 })
    expect(corrupt.message).toContain(sha256)

    await store.delete(sha256)
    const missing = failureOf(await load())
    expect(missing.reason).toEqual({ _tag: "ContentMissing", sha256 })
    expect(missing.message).toContain(sha256)
  })

  it("keeps only hashes under a hash-only policy, and says replay cannot read them", async () => {
    const { namespace, layer } = await recorderLayer({
      prompt: { mode: "hash-only" },
      output: { mode: "inline" },
    })
    const remote = remoteModel()
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const recorder = yield* DecisionRecorder
        const run = yield* runSkill(sortMessage, bigTicket)
        const recorded = yield* recorder.record({
          agent,
          metadata,
          decisionId: "D-3",
          invocation: run.invocation,
        })
        expect(recorded.event.payload.prompt).toEqual({
          _tag: "HashOnly",
          sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
          bytes: expect.any(Number),
        })
        expect(recorded.event.payload.output).toMatchObject({ _tag: "Inline" })
        expect(recorded.objectsWritten).toBe(0)
        return yield* recorder.replay(sortMessage, agent, "D-3")
      }).pipe(Effect.provide(Layer.merge(layer, remote.layer))),
    )
    expect(failureOf(exit).reason._tag).toBe("ContentNotRecorded")
    const store = await new Objm(nats.js).open(Subjects.decisionContentBucket(namespace))
    expect(await store.list()).toEqual([])
  })

  it("records a decision id once: a retry with the same event id is a duplicate, another decision is refused", async () => {
    const { layer } = await recorderLayer()
    const remote = remoteModel()
    const eventId = "019abcde-0000-7000-8000-000000000001"
    const outcomes = await Effect.runPromise(
      Effect.gen(function* () {
        const recorder = yield* DecisionRecorder
        const run = yield* runSkill(sortMessage, { subject: "Lamp", body: "It sparks, refund please." })
        const record = () =>
          recorder.record({ agent, metadata, decisionId: "D-4", invocation: run.invocation, eventId })
        const first = yield* record()
        const retry = yield* record()
        const other = yield* Effect.exit(
          recorder.record({
            agent,
            metadata,
            decisionId: "D-4",
            invocation: { ...run.invocation, latencyMs: 1 },
          }),
        )
        const unknown = yield* Effect.exit(recorder.load(agent, "D-404"))
        const badId = yield* Effect.exit(recorder.load(agent, "D.4"))
        return { first, retry, other, unknown, badId }
      }).pipe(Effect.provide(Layer.merge(layer, remote.layer))),
    )
    expect(outcomes.first.duplicate).toBe(false)
    expect(outcomes.retry).toMatchObject({ duplicate: true, sequence: outcomes.first.sequence })
    expect(failureOf(outcomes.other).reason).toEqual({ _tag: "AlreadyRecorded", agent, decisionId: "D-4" })
    expect(failureOf(outcomes.unknown).reason).toEqual({
      _tag: "DecisionNotFound",
      agent,
      decisionId: "D-404",
    })
    expect(failureOf(outcomes.badId).reason._tag).toBe("InvalidDecision")
  })
})
