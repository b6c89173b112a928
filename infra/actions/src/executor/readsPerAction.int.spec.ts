import { Subjects } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { countingNats } from "@mesh/eventlog/testing"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Deferred, Effect, Fiber, Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { actionRef, makeActionCommands } from "../action/actionCommands.ts"
import { makeHttpConnectorRegistry } from "../connectors/registry.ts"
import { makeActionGate } from "../gate/actionGate.ts"
import { decodePolicy } from "../policy/actionPolicy.ts"
import { quotaInputs } from "../policy/evaluatePolicy.ts"
import { makeSagaDriver } from "../saga/sagaDriver.ts"
import { waitForActionStatus } from "../testing/actionTestKit.ts"
import { makeActionExecutor } from "./actionExecutor.ts"

// How often one auto action's history is read from the log, from the intent to its success: the
// gate, the executor and the saga driver all run on NATS handles that record every JetStream call,
// so a read through any path (a load, a follow, a conflict's look at the last commit) is counted.

const server = useNatsServer()
let nats: NatsHandles
let simulators: Simulators

beforeAll(async () => {
  nats = await openNats(server.url)
  simulators = await startSimulators()
})
afterAll(async () => {
  await nats?.connection.drain()
  await simulators?.stop()
})

const agent = "customer-ops"

const policy = (() => {
  const decoded = decodePolicy(
    {
      workflow: "reads",
      version: "1",
      approvalTtl: "PT1H",
      defaultMode: "require-approval",
      kinds: { "mailbox.send-message": { mode: "auto", rules: [] } },
      quotas: {},
      skills: { resolveTicket: ["mailbox.send-message"] },
    },
    "reads",
  )
  if (Result.isFailure(decoded)) throw decoded.failure
  return decoded.success
})()

/** Waits until a durable consumer has delivered and had acked everything in its stream. */
const drained = async (namespace: string, consumer: string) => {
  const stream = Subjects.streamName(namespace, "actions")
  for (let i = 0; i < 500; i++) {
    const info = await nats.jsm.consumers.info(stream, consumer).catch(() => undefined)
    if (info !== undefined && info.num_pending === 0 && info.num_ack_pending === 0) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`consumer ${consumer} did not drain`)
}

describe("reads per action", () => {
  it("reads an auto action's history at most 3 times from the intent to ActionSucceeded", async () => {
    const namespace = uniqueNamespace("reads")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const counted = countingNats(nats)
    const connectors = makeHttpConnectorRegistry({
      paymentUrl: null,
      supplierUrl: null,
      storefrontUrl: null,
      mailboxUrl: simulators.mailbox.url,
      timeoutMs: 1_000,
    })
    const commands = makeActionCommands({ nats: counted.nats, namespace })
    // The quota history comes from the read model (Postgres), never the log: an empty one here.
    const gate = makeActionGate({
      commands,
      policy,
      counters: (agent, now, currency) => Effect.succeed(quotaInputs([], agent, now, currency)),
    })
    const executor = makeActionExecutor({
      nats: counted.nats,
      namespace,
      connectors,
      consumerName: "executor",
      filterSubject: Subjects.aggregateTypeWildcard(namespace, "actions", agent),
    })
    const sagas = makeSagaDriver({ commands, gate })
    const stop = Effect.runSync(Deferred.make<void>())
    const fibers = [
      Effect.runFork(executor.run(Deferred.await(stop))),
      Effect.runFork(sagas.run(agent, counted.nats, Deferred.await(stop))),
    ]
    await drained(namespace, "executor")
    await drained(namespace, `saga-driver-${agent}`)
    counted.reset()

    const intent = {
      actionId: "reply-1",
      agent,
      skill: "resolveTicket",
      kind: "mailbox.send-message",
      parameters: { to: "c1@example.com", subject: "Re: your order", body: "On its way." },
      cause: { decisionId: null, eventId: null },
      confidence: 0.9,
      sentiment: null,
      firstTimeSupplier: null,
      correlationId: "reads-test",
      causationId: "event-that-asked",
    }
    await Effect.runPromise(gate.request(intent))
    // Watched through handles of its own, so that the waiting is not counted.
    await waitForActionStatus(makeActionCommands({ nats, namespace }), agent, "reply-1", ["succeeded"])
    await drained(namespace, "executor")
    await drained(namespace, `saga-driver-${agent}`)

    const reads = counted.reads()
    const subject = Subjects.aggregate(namespace, "actions", agent, "reply-1")
    console.log(
      `reads of one auto action: ${reads.length}`,
      Object.entries(Object.groupBy(reads, (r) => r.path)).map(
        ([path, calls]) => `${path} x${calls?.length}`,
      ),
    )
    // Every read names the action: nothing reads around it (a whole stream, another aggregate).
    expect(reads.filter((r) => r.subject !== subject)).toEqual([])
    expect(reads.length).toBeLessThanOrEqual(3)
    expect(simulators.mailbox.ledger().filter((e) => e.key === "reply-1")).toHaveLength(1)

    // The count sees reads: the same intent again is refused by the log and read to answer it.
    counted.reset()
    const again = await Effect.runPromise(gate.request(intent))
    expect(again.requested).toBe(false)
    expect(counted.reads().length).toBeGreaterThan(0)
    expect(counted.reads().every((r) => r.subject === subject)).toBe(true)

    // One causal chain: the intent's correlation throughout, each event caused by the one before.
    const history = await Effect.runPromise(
      makeActionCommands({ nats, namespace }).log.load(actionRef(agent, "reply-1")),
    )
    expect(history.events.map((e) => [e.type, e.correlationId, e.causationId])).toEqual([
      ["ActionRequested", "reads-test", "event-that-asked"],
      ["ActionAttemptStarted", "reads-test", history.events[0]?.eventId],
      ["ActionSucceeded", "reads-test", history.events[1]?.eventId],
    ])

    Effect.runSync(Deferred.succeed(stop, undefined))
    await Promise.all(fibers.map((fiber) => Effect.runPromise(Fiber.await(fiber))))
  })
})
