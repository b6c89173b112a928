import { randomUUID } from "node:crypto"
import {
  type DecisionRecorded,
  decisionEvents,
  type EventEnvelope,
  type EventOf,
  makeCatalog,
  Subjects,
} from "@mesh/contracts"
import {
  applyTopology,
  CurrentReactionCause,
  declareTopology,
  makeEventLog,
  NatsClient,
  type NatsHandles,
  openNats,
} from "@mesh/eventlog"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Exit, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultPriceTable } from "../config.ts"
import { ModelProvider } from "../modelProvider.ts"
import { recordedInput, runSkill, SkillReplayError } from "../skills/skill.ts"
import { type FakeOllama, fakeReplies, startFakeOllama } from "../testing/fakeOllama.ts"
import { sortInBackground, sortMessage, sortMessagesBatch, sortMessageV1 } from "../testing/sampleSkill.ts"
import { decideEachOnce, decideOnce, decisionIdFor, rerunDecision } from "./decideOnce.ts"
import { decisionPayload } from "./decisionContent.ts"
import { DecisionError, DecisionRecorder } from "./decisionRecorder.ts"

// Decisions made once: a reaction that asks a model is keyed by the event it answers, so that a
// redelivery, a second replica or a deploy of a newer prompt reads the decision back instead of
// asking again. Calls are counted on a local server speaking Ollama's API.

const server = useNatsServer()
let nats: NatsHandles
let ollama: FakeOllama
beforeAll(async () => {
  ;[nats, ollama] = await Promise.all([openNats(server.url), startFakeOllama()])
})
afterAll(async () => {
  await Promise.all([nats?.connection.drain(), ollama?.close()])
})

const agent = "customer-ops"
const ticket = { subject: "Lamp", body: "The lamp sparks and could start a fire, please refund." }
const sorting = (confidence: number) =>
  JSON.stringify({
    topic: "refund",
    urgent: true,
    reason: "safety",
    confidence,
    actions: ["reply", "refund"],
  })

/** A ticket event, as a reactor receives it. */
const ticketOpened = (): EventEnvelope => ({
  eventId: randomUUID(),
  type: "TicketOpened",
  schemaVersion: 2,
  aggregateType: "ticket",
  aggregateId: "T-1",
  aggregateVersion: 1,
  occurredAt: "2026-11-27T10:00:00.000Z",
  correlationId: `corr-${randomUUID()}`,
  causationId: null,
  actor: { kind: "human", id: "ana" },
  trace: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
  payload: {},
})

/** A fresh namespace with its streams, a recorder for it, and Ollama at the fake's URL. */
const setUp = async (options: { readonly hashOnlyPrompts?: boolean } = {}) => {
  const namespace = uniqueNamespace("once")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const recorder = DecisionRecorder.layer({
    namespace,
    ...(options.hashOnlyPrompts === true
      ? { policy: { prompt: { mode: "hash-only" }, output: { mode: "inline" } } }
      : {}),
  }).pipe(Layer.provide(Layer.succeed(NatsClient, nats)))
  const model = ModelProvider.layerOllama({
    ollamaHost: ollama.url,
    chatModel: null,
    chatModelByWorkload: { interactive: null, background: null },
    embedModel: "all-minilm",
    timeoutMs: 5_000,
    concurrency: 4,
    prices: defaultPriceTable,
  })
  // The recorder as the agent has it, counting the decisions it is asked to read back.
  let loads = 0
  const counted = Layer.effect(DecisionRecorder)(
    Effect.gen(function* () {
      const real = yield* DecisionRecorder
      return DecisionRecorder.of({
        ...real,
        load: (...args) => {
          loads++
          return real.load(...args)
        },
      })
    }),
  ).pipe(Layer.provide(recorder))
  const run = <A, E>(effect: Effect.Effect<A, E, DecisionRecorder | ModelProvider>) =>
    Effect.runPromise(effect.pipe(Effect.provide(Layer.merge(counted, model))))
  const runExit = <A, E>(effect: Effect.Effect<A, E, DecisionRecorder | ModelProvider>) =>
    Effect.runPromiseExit(effect.pipe(Effect.provide(Layer.merge(counted, model))))
  /** Every DecisionRecorded the log holds under a decision id. */
  const recorded = (decisionId: string) =>
    Effect.runPromise(
      makeEventLog({ nats, catalog: makeCatalog(decisionEvents), namespace })
        .load({ domain: "decisions", type: agent, id: decisionId })
        .pipe(Effect.map((loaded) => loaded.events)),
    )
  return { namespace, run, runExit, recorded, loads: () => loads }
}

const chatCalls = () => ollama.stats().chatRequests
const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  return failure?._tag === "Fail" ? failure.error : exit.cause
}

describe("decideOnce", () => {
  it("asks the model for the first delivery and reads the decision back on every redelivery", async () => {
    const { run, recorded } = await setUp()
    const cause = ticketOpened()
    const before = chatCalls()
    const deliveries = []
    for (let delivery = 1; delivery <= 3; delivery++)
      deliveries.push(await run(decideOnce(sortMessage, ticket, { cause, agent })))

    expect(chatCalls() - before).toBe(1)
    expect(deliveries.map((d) => d.recalled)).toEqual([false, true, true])
    expect(new Set(deliveries.map((d) => d.event.eventId)).size).toBe(1)
    expect(deliveries.map((d) => d.output)).toEqual([
      deliveries[0]!.output,
      deliveries[0]!.output,
      deliveries[0]!.output,
    ])
    const decisionId = decisionIdFor("sortMessage", cause.eventId)
    expect(deliveries[0]!.decisionId).toBe(decisionId)
    const events = await recorded(decisionId)
    expect(events).toHaveLength(1)
    // One causal chain: the decision is caused by the event it answers, in its correlation and trace.
    expect(events[0]).toMatchObject({
      causationId: cause.eventId,
      correlationId: cause.correlationId,
      actor: { kind: "agent", id: agent },
      trace: cause.trace,
    })
    // It keeps the skill's input, so that a newer prompt can be rendered against it.
    expect(deliveries[2]!.invocation.input).toEqual(ticket)
  })

  it("asks without looking on its event's first delivery, and a decision there all the same stays the one made", async () => {
    const { run, recorded, loads } = await setUp()
    const cause = ticketOpened()
    const reacting = (firstDelivery: boolean) =>
      Effect.provideService(CurrentReactionCause, {
        eventId: cause.eventId,
        occurredAt: cause.occurredAt,
        stream: "MESH_CUSTOMER",
        sequence: 7,
        replaying: false,
        readAsOf: cause.occurredAt,
        firstDelivery,
      })
    const before = chatCalls()
    const first = await run(decideOnce(sortMessage, ticket, { cause, agent }).pipe(reacting(true)))
    expect([first.recalled, chatCalls() - before, loads()]).toEqual([false, 1, 0])

    // A redelivery looks, and reads it back without the model.
    const again = await run(decideOnce(sortMessage, ticket, { cause, agent }).pipe(reacting(false)))
    expect([again.recalled, chatCalls() - before, loads()]).toEqual([true, 1, 1])
    expect(again.event.eventId).toBe(first.event.eventId)

    // A consumer reset to replay its stream delivers the event first again: the model is asked, the
    // log refuses a second record, and the recorded decision is the one acted on.
    const reset = await run(decideOnce(sortMessage, ticket, { cause, agent }).pipe(reacting(true)))
    expect([reset.recalled, chatCalls() - before]).toEqual([true, 2])
    expect(reset.event.eventId).toBe(first.event.eventId)
    expect(reset.output).toEqual(first.output)
    expect(await recorded(first.decisionId)).toHaveLength(1)

    // Another event's first delivery says nothing of this one: a decision asked for it is looked up.
    const other = ticketOpened()
    const looked = loads()
    await run(decideOnce(sortMessage, ticket, { cause: other, agent }).pipe(reacting(true)))
    expect(loads()).toBe(looked + 1)
  })

  it("records one decision when two deliveries decide at once, and both act on it", async () => {
    const { run, recorded } = await setUp()
    const cause = ticketOpened()
    const before = chatCalls()
    // Two different answers, each slow enough that both deliveries are asking at the same time.
    ollama.enqueue(
      "chat",
      fakeReplies.delayed(300, fakeReplies.chat(sorting(0.61))),
      fakeReplies.delayed(300, fakeReplies.chat(sorting(0.62))),
    )
    const [a, b] = await run(
      Effect.all(
        [
          decideOnce(sortMessage, ticket, { cause, agent }),
          decideOnce(sortMessage, ticket, { cause, agent }),
        ],
        { concurrency: 2 },
      ),
    )
    // Both asked (neither could see a decision yet); the log kept the first record, and the
    // second delivery discarded its own answer for it.
    expect(chatCalls() - before).toBe(2)
    expect([a.recalled, b.recalled].sort()).toEqual([false, true])
    expect(a.output).toEqual(b.output)
    expect(a.event.eventId).toBe(b.event.eventId)
    const events = await recorded(a.decisionId)
    expect(events).toHaveLength(1)
    expect(events[0]?.eventId).toBe(a.event.eventId)
    expect([0.61, 0.62]).toContain(a.output?.confidence)
  })

  it("keeps a decision made before a deploy: a newer skill version reads it back without a model", async () => {
    const { run } = await setUp()
    const cause = ticketOpened()
    const before = chatCalls()
    const old = await run(decideOnce(sortMessageV1, ticket, { cause, agent }))
    const afterDeploy = await run(decideOnce(sortMessage, ticket, { cause, agent }))
    expect(chatCalls() - before).toBe(1)
    expect(afterDeploy).toMatchObject({ recalled: true, decisionId: old.decisionId, output: old.output })
    expect(afterDeploy.invocation.skillVersion).toBe(1)
  })

  it("runs a recorded input through a newer prompt without asking the old one again or writing", async () => {
    const { namespace, run, recorded } = await setUp()
    const cause = ticketOpened()
    const original = await run(decideOnce(sortMessageV1, ticket, { cause, agent }))
    const stream = Subjects.streamName(namespace, "decisions")
    const messagesBefore = (await nats.jsm.streams.info(stream)).state.messages
    const before = chatCalls()
    const requestsBefore = ollama.requests().length

    const rerun = await run(rerunDecision(sortMessage, agent, original.decisionId))
    // One call, for version 2's prompt rendered from the recorded input; version 1 is not asked again.
    expect(chatCalls() - before).toBe(1)
    expect(rerun.invocation).toMatchObject({ skillVersion: 2, promptVersion: "sort-2", input: ticket })
    expect(rerun.invocation.prompt).toEqual(sortMessage.template(ticket))
    const asked = ollama.requests().slice(requestsBefore)
    expect(JSON.stringify(asked[0]?.body)).toContain("abstention: null when you can sort the message")
    // Rendering alone needs no model at all.
    const input = await Effect.runPromise(recordedInput(sortMessage, original.invocation))
    expect(sortMessage.template(input).system).not.toEqual(original.invocation.prompt.system)
    // The log is read, never written.
    expect((await nats.jsm.streams.info(stream)).state.messages).toBe(messagesBefore)
    expect(await recorded(original.decisionId)).toHaveLength(1)
  })

  it("reads a decision recorded before inputs were kept, and says it cannot be rerun", async () => {
    const { namespace, run, runExit } = await setUp()
    const cause = ticketOpened()
    const decisionId = decisionIdFor("sortMessage", cause.eventId)
    // A version-1 DecisionRecorded, as agents wrote them before the input was recorded.
    const made = await Effect.runPromise(
      runSkill(sortMessage, ticket).pipe(Effect.provide(ModelProvider.layerOffline)),
    )
    const { input: _, ...v1Payload } = decisionPayload(
      {
        decisionId,
        agent,
        invocation: made.invocation,
        retrieved: [],
        decidedAt: "2026-11-27T10:00:01.000Z",
      },
      { prompt: { mode: "inline" }, output: { mode: "inline" } },
    ).payload
    const v1: Omit<EventOf<typeof DecisionRecorded>, "payload"> & { payload: unknown } = {
      eventId: randomUUID(),
      type: "DecisionRecorded",
      schemaVersion: 1,
      aggregateType: agent,
      aggregateId: decisionId,
      aggregateVersion: 1,
      occurredAt: "2026-11-27T10:00:01.000Z",
      correlationId: cause.correlationId,
      causationId: cause.eventId,
      actor: { kind: "agent", id: agent },
      payload: v1Payload,
    }
    await nats.js.publish(Subjects.aggregate(namespace, "decisions", agent, decisionId), JSON.stringify([v1]))

    const loaded = await run(DecisionRecorder.use((recorder) => recorder.load(agent, decisionId)))
    expect(loaded.event.payload.input).toBeNull()
    expect(loaded.invocation.input).toBeNull()
    const before = chatCalls()
    const redelivered = await run(decideOnce(sortMessage, ticket, { cause, agent }))
    expect(redelivered).toMatchObject({ recalled: true, output: made.output })
    const rerun = await runExit(rerunDecision(sortMessage, agent, decisionId))
    expect(errorOf(rerun)).toBeInstanceOf(SkillReplayError)
    expect(String((errorOf(rerun) as SkillReplayError).message)).toContain("kept no input")
    expect(chatCalls()).toBe(before)
  })

  it("refuses a recorder that keeps prompts as hashes only, before asking any model", async () => {
    const { runExit } = await setUp({ hashOnlyPrompts: true })
    const before = chatCalls()
    const exit = await runExit(decideOnce(sortMessage, ticket, { cause: ticketOpened(), agent }))
    const error = errorOf(exit)
    expect(error).toBeInstanceOf(DecisionError)
    expect((error as DecisionError).reason._tag).toBe("InvalidDecision")
    expect(chatCalls()).toBe(before)
  })
})

describe("decideOnce reusing decisions by input", () => {
  const sortInBackground = { ...sortMessage, workload: "background" as const }
  const reuse = (cause: EventEnvelope, input = ticket) =>
    decideOnce(sortInBackground, input, { cause, agent, reuseByInput: true })

  it("asks the model once for two events with the same input, and records two decisions", async () => {
    const { run, recorded } = await setUp()
    const before = chatCalls()
    const first = await run(reuse(ticketOpened()))
    const secondCause = ticketOpened()
    const second = await run(reuse(secondCause))

    expect(chatCalls() - before).toBe(1)
    expect(second.output).toEqual(first.output)
    expect(first.event.payload).toMatchObject({ provider: "ollama" })
    expect(first.event.payload.reusedDecisionId).toBeUndefined()
    expect(first.event.payload.costUsd).toBeGreaterThan(0)
    // The second is its own decision, in its own cause's chain, from the cache at no cost.
    const [event] = await recorded(second.decisionId)
    expect(event).toMatchObject({
      causationId: secondCause.eventId,
      correlationId: secondCause.correlationId,
      payload: {
        provider: "cache",
        reusedDecisionId: first.decisionId,
        costUsd: 0,
        promptTokens: 0,
        completionTokens: 0,
        attempts: [],
        outcome: "answered",
      },
    })
    // A redelivery of the second event reads its decision back, as any decision.
    const redelivered = await run(reuse(secondCause))
    expect(redelivered).toMatchObject({ recalled: true, decisionId: second.decisionId })
    expect(chatCalls() - before).toBe(1)
  })

  it("asks again for another input, and for the same input in another namespace", async () => {
    const { run } = await setUp()
    const before = chatCalls()
    await run(reuse(ticketOpened()))
    await run(reuse(ticketOpened(), { ...ticket, body: `${ticket.body} Today.` }))
    const elsewhere = await setUp()
    await elsewhere.run(reuse(ticketOpened()))
    expect(chatCalls() - before).toBe(3)
  })

  it("files no fallback: after the model failed, the next event asks it again", async () => {
    const { run } = await setUp()
    ollama.enqueue("chat", fakeReplies.chat("not json"), fakeReplies.chat("still not json"))
    const before = chatCalls()
    const fellBack = await run(reuse(ticketOpened()))
    expect(fellBack.invocation.outcome).toBe("fell-back")
    const next = await run(reuse(ticketOpened()))
    expect(next.event.payload.provider).toBe("ollama")
    expect(chatCalls() - before).toBe(3)
  })

  it("refuses to reuse an interactive skill's decisions, before asking any model", async () => {
    const { runExit } = await setUp()
    const before = chatCalls()
    const exit = await runExit(
      decideOnce(sortMessage, ticket, { cause: ticketOpened(), agent, reuseByInput: true }),
    )
    expect((errorOf(exit) as DecisionError).reason._tag).toBe("InvalidDecision")
    expect(chatCalls()).toBe(before)
  })
})

describe("decideEachOnce: background decisions asked in batches", () => {
  const message = (n: number) => ({ subject: `Parcel ${n}`, body: `Where is my parcel number ${n}?` })

  it("asks the model once per batch, and records a decision per cause with its share of the call", async () => {
    const { run, recorded } = await setUp()
    const toMake = [1, 2, 3, 4, 5].map((n) => ({ input: message(n), cause: ticketOpened() }))
    const before = chatCalls()
    const decided = await run(decideEachOnce(sortMessagesBatch, toMake, { agent, reuseByInput: true }))

    // Four in one call (the batch's most), the fifth alone with the item skill's own prompt.
    expect(chatCalls() - before).toBe(2)
    expect(decided.map((d) => d.output?.topic)).toEqual([
      "delivery",
      "delivery",
      "delivery",
      "delivery",
      "delivery",
    ])
    const events = await Promise.all(decided.map(async (d) => (await recorded(d.decisionId))[0]))
    const batched = events.slice(0, 4).map((e) => e?.payload as EventOf<typeof DecisionRecorded>["payload"])
    for (const [index, payload] of batched.entries()) {
      expect(payload).toMatchObject({
        skill: sortInBackground.name,
        provider: "ollama",
        outcome: "answered",
        batch: { id: decided[0]?.decisionId, index, size: 4 },
      })
      // Each is its own cause's decision, in its chain.
      expect(events[index]).toMatchObject({
        causationId: toMake[index]?.cause.eventId,
        correlationId: toMake[index]?.cause.correlationId,
      })
    }
    // One prompt for the four; the call's 42 prompt tokens shared out, adding up.
    expect(new Set(batched.map((p) => p.promptHash)).size).toBe(1)
    expect(batched.reduce((sum, p) => sum + p.promptTokens, 0)).toBe(42)
    expect(events[4]?.payload).not.toHaveProperty("batch")
    expect((events[4]?.payload as { promptHash?: string } | undefined)?.promptHash).not.toBe(
      batched[0]?.promptHash,
    )

    // Each cause's decision reads back alone, as decideOnce would have made it, without a model.
    const again = await run(decideOnce(sortInBackground, message(3), { cause: toMake[2]!.cause, agent }))
    expect(again).toMatchObject({
      recalled: true,
      decisionId: decided[2]?.decisionId,
      output: decided[2]?.output,
    })
    expect(chatCalls() - before).toBe(2)
  })

  it("reads back what was decided and reuses what was asked before, asking only the rest", async () => {
    const { run } = await setUp()
    const first = [1, 2].map((n) => ({ input: message(n), cause: ticketOpened() }))
    await run(decideEachOnce(sortMessagesBatch, first, { agent, reuseByInput: true }))
    const before = chatCalls()
    // A redelivery of the first two, an old input on a new cause, and two new inputs.
    const next = [
      ...first,
      { input: message(1), cause: ticketOpened() },
      ...[7, 8].map((n) => ({ input: message(n), cause: ticketOpened() })),
    ]
    const decided = await run(decideEachOnce(sortMessagesBatch, next, { agent, reuseByInput: true }))
    expect(chatCalls() - before).toBe(1)
    expect(decided.map((d) => d.recalled)).toEqual([true, true, false, false, false])
    expect(decided[2]?.event.payload).toMatchObject({ provider: "cache", costUsd: 0 })
    expect(decided[3]?.event.payload).toMatchObject({ provider: "ollama", batch: { index: 0, size: 2 } })
  })

  it("reads a cause's decision back without the model on the reaction's first delivery too", async () => {
    const { run } = await setUp()
    const cause = ticketOpened()
    const [made] = await run(decideEachOnce(sortMessagesBatch, [{ input: message(1), cause }], { agent }))
    const before = chatCalls()
    // The reaction to that same event, delivered first (history copied into a fork, whose decisions
    // were copied with it): the decision is found, and read back as found.
    const [again] = await run(
      decideEachOnce(sortMessagesBatch, [{ input: message(1), cause }], { agent }).pipe(
        Effect.provideService(CurrentReactionCause, {
          eventId: cause.eventId,
          occurredAt: cause.occurredAt,
          stream: "MESH_CUSTOMER",
          sequence: 3,
          replaying: false,
          readAsOf: cause.occurredAt,
          firstDelivery: true,
        }),
      ),
    )
    expect(chatCalls() - before).toBe(0)
    expect(again?.recalled).toBe(true)
    expect(again?.event.eventId).toBe(made?.event.eventId)
  })

  it("falls back for the whole batch when the model answers too few, and each input gets the offline answer", async () => {
    const { run } = await setUp()
    const short = JSON.stringify({
      answers: [{ topic: "delivery", urgent: false, reason: null, confidence: 0.9, actions: ["reply"] }],
    })
    ollama.enqueue("chat", fakeReplies.chat(short), fakeReplies.chat(short))
    const toMake = [1, 2, 3].map((n) => ({ input: message(n), cause: ticketOpened() }))
    const decided = await run(decideEachOnce(sortMessagesBatch, toMake, { agent }))
    expect(decided.map((d) => d.invocation.outcome)).toEqual(["fell-back", "fell-back", "fell-back"])
    expect(decided[0]?.event.payload.fallbackReason).toMatch(/1 answers for 3 inputs/)
    expect(decided.every((d) => d.output?.topic === "delivery")).toBe(true)
  })
})
