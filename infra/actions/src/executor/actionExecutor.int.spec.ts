import { parametersHash } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { makeRequestLog } from "@mesh/kernel/requests"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { type ActionCommands, makeActionCommands } from "../action/actionCommands.ts"
import { makeApprovals } from "../approvals/approvals.ts"
import { makeHttpConnectorRegistry } from "../connectors/registry.ts"
import { requestSampleAction, sampleActions, waitForActionStatus } from "../testing/actionTestKit.ts"
import { type ExecutorCrashPoint, makeActionExecutor } from "./actionExecutor.ts"

let server: NatsServerHandle
let nats: NatsHandles
let simulators: Simulators

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  simulators = await startSimulators()
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
  await simulators?.stop()
})
afterEach(() => simulators.reset())

const agent = "customer-ops"

/** A namespace with its streams, executors running in this process, and command handling. */
const startExecutor = async (
  options: {
    readonly notified?: Array<string>
    readonly replicas?: number
    readonly crashPoint?: (point: ExecutorCrashPoint, actionId: string) => Effect.Effect<void>
    readonly leaseMs?: number
  } = {},
) => {
  const namespace = uniqueNamespace("ax")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const makeReplica = (n: number) =>
    makeActionExecutor({
      consumerName: `action-executor-${n}`,
      nats,
      namespace,
      connectors: makeHttpConnectorRegistry({
        paymentUrl: simulators.payment.url,
        supplierUrl: simulators.supplier.url,
        storefrontUrl: simulators.storefront.url,
        mailboxUrl: simulators.mailbox.url,
        timeoutMs: 1_000,
      }),
      retry: { initialMs: 20, maxMs: 100, factor: 2 },
      leaseMs: options.leaseMs ?? 5_000,
      ...(options.crashPoint === undefined ? {} : { crashPoint: options.crashPoint }),
      notify: (state) =>
        Effect.sync(() => {
          options.notified?.push(state.request.actionId)
          return "test-inbox"
        }),
    })
  const stop = Effect.runSync(Deferred.make<void>())
  const fibers = Array.from({ length: options.replicas ?? 1 }, (_, n) =>
    Effect.runFork(makeReplica(n).run(Deferred.await(stop))),
  )
  const commands: ActionCommands = makeActionCommands({ nats, namespace })
  return {
    commands,
    stop: async () => {
      Effect.runSync(Deferred.succeed(stop, undefined))
      await Promise.all(fibers.map((fiber) => Effect.runPromise(Fiber.await(fiber))))
    },
  }
}

const effectsUnder = (key: string) => simulators.ledger().filter((entry) => entry.key === key)

describe("action executor", () => {
  it("performs an auto action once, recording the external reference", async () => {
    const { commands, stop } = await startExecutor()
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId: "refund-ok",
        kind: sampleActions.refund.kind,
        parameters: sampleActions.refund.parameters(1),
      }),
    )
    const state = await waitForActionStatus(commands, agent, "refund-ok", ["succeeded"])
    if (state.status !== "succeeded") throw new Error("unreachable")
    expect(effectsUnder("refund-ok")).toHaveLength(1)
    expect(state.externalRef).toBe(effectsUnder("refund-ok")[0]?.resource)
    await stop()
  })

  it("drives an action again after a drive failed between the call and its record, though its own writes came back acknowledged unread", async () => {
    // The drive fails once right after the external call: the attempt it recorded comes back to
    // this executor, which acknowledges it without decoding it while the drive is under way; the
    // intent that started the drive stays unacknowledged, so its redelivery drives the action on.
    let failed = false
    const { commands, stop } = await startExecutor({
      leaseMs: 300,
      crashPoint: (point) =>
        point === "after-call" && !failed
          ? Effect.sync(() => {
              failed = true
            }).pipe(Effect.andThen(Effect.fail("the process lost its footing after the call")), Effect.orDie)
          : Effect.void,
    })
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId: "refund-interrupted",
        kind: sampleActions.refund.kind,
        parameters: sampleActions.refund.parameters(7),
      }),
    )
    const state = await waitForActionStatus(commands, agent, "refund-interrupted", ["succeeded"])
    expect(failed).toBe(true)
    expect(state.status).toBe("succeeded")
    // The effect happened once: the recovery looked the key up instead of calling again.
    expect(effectsUnder("refund-interrupted")).toHaveLength(1)
    await stop()
  })

  it("retries a failing system with the same key and ends with one effect", async () => {
    const { commands, stop } = await startExecutor()
    // The first call fails after applying the effect (a lost response): only the key saves us.
    simulators.payment.injectFaults({ failNext: 1, status: 503, when: "after" })
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId: "refund-flaky",
        kind: sampleActions.refund.kind,
        parameters: sampleActions.refund.parameters(2),
      }),
    )
    const state = await waitForActionStatus(commands, agent, "refund-flaky", ["succeeded"])
    if (state.status !== "succeeded") throw new Error("unreachable")
    expect(state.attempts.history.map((h) => `${h.attempt}:${h.outcome}`)).toEqual([
      "1:started",
      "1:failed",
      "2:started",
      "2:succeeded",
    ])
    expect(effectsUnder("refund-flaky")).toHaveLength(1)
    await stop()
  })

  it("fails for good on a refusal, and parks with the full history when retries run out", async () => {
    const { commands, stop } = await startExecutor()
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId: "refund-declined",
        kind: sampleActions.refund.kind,
        parameters: { orderId: "declined-7", amountMinor: 500, currency: "EUR" },
      }),
    )
    const failed = await waitForActionStatus(commands, agent, "refund-declined", ["failed"])
    if (failed.status !== "failed") throw new Error("unreachable")
    expect(failed.reason).toMatch(/Rejected/)

    simulators.mailbox.injectFaults({ failNext: 100, status: 503 })
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId: "reply-down",
        kind: sampleActions.reply.kind,
        parameters: sampleActions.reply.parameters(3),
        maxAttempts: 3,
      }),
    )
    const parked = await waitForActionStatus(commands, agent, "reply-down", ["parked"])
    if (parked.status !== "parked") throw new Error("unreachable")
    expect(parked.attempts.history.map((h) => `${h.attempt}:${h.outcome}`)).toEqual([
      "1:started",
      "1:failed",
      "2:started",
      "2:failed",
      "3:started",
      "3:failed",
    ])
    expect(effectsUnder("reply-down")).toHaveLength(0)

    // The mailbox is back; a human approves another round and the reply goes out once.
    simulators.mailbox.reset()
    const approvals = makeApprovals({ commands, approvalTtlMs: 60_000, origin: "http" })
    const outcome = await Effect.runPromise(
      approvals.approve({
        agent,
        actionId: "reply-down",
        approver: "maria",
        parametersHash: parametersHash(sampleActions.reply.parameters(3)),
      }),
    )
    expect(outcome._tag).toBe("Approved")
    await waitForActionStatus(commands, agent, "reply-down", ["succeeded"])
    expect(effectsUnder("reply-down")).toHaveLength(1)
    await stop()
  })

  it("runs an action that needs approval only after a human approved its exact parameters", async () => {
    const { commands, stop } = await startExecutor()
    const parameters = sampleActions.refund.parameters(4)
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId: "refund-gated",
        kind: sampleActions.refund.kind,
        parameters,
        mode: "require-approval",
      }),
    )
    await waitForActionStatus(commands, agent, "refund-gated", ["awaiting-approval"])
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(effectsUnder("refund-gated")).toHaveLength(0)

    const approvals = makeApprovals({ commands, approvalTtlMs: 60_000, origin: "http" })
    const other = await Effect.runPromise(
      approvals.approve({
        agent,
        actionId: "refund-gated",
        approver: "maria",
        parametersHash: parametersHash({ ...parameters, amountMinor: 99_999 }),
      }),
    )
    expect(other).toEqual({ _tag: "Refused", refusal: "parameters-mismatch" })
    const ok = await Effect.runPromise(
      approvals.approve({
        agent,
        actionId: "refund-gated",
        approver: "maria",
        parametersHash: parametersHash(parameters),
      }),
    )
    expect(ok._tag).toBe("Approved")
    await waitForActionStatus(commands, agent, "refund-gated", ["succeeded"])
    expect(effectsUnder("refund-gated")).toHaveLength(1)

    const replayed = await Effect.runPromise(
      approvals.approve({
        agent,
        actionId: "refund-gated",
        approver: "maria",
        parametersHash: parametersHash(parameters),
      }),
    )
    expect(replayed).toEqual({ _tag: "Refused", refusal: "already-decided" })
    const history = await Effect.runPromise(
      commands.log.load({ domain: "actions", type: agent, id: "refund-gated" }),
    )
    const approved = history.events.find((e) => e.type === "ActionApproved")
    expect(approved?.actor).toEqual({ kind: "human", id: "maria" })
    // Each human decision is first recorded as the outside request it is, caused by the request
    // waiting for it and in its chain; the decision's event is caused by that record. The
    // attempt follows from the approval.
    const awaiting = history.events.find((e) => e.type === "ActionAwaitingApproval")
    const decisions = history.events.filter(
      (e) => e.type === "ActionApproved" || e.type === "ActionApprovalRefused",
    )
    expect(decisions.map((e) => e.correlationId)).toEqual([
      "test:refund-gated",
      "test:refund-gated",
      "test:refund-gated",
    ])
    const requests = makeRequestLog({ nats: commands.nats, namespace: commands.namespace })
    for (const decision of decisions) {
      const recorded = await Effect.runPromise(
        requests.log.follow("requests", { fromSequence: 1 }).pipe(
          Stream.flatMap((commit) => Stream.fromIterable(commit.events)),
          Stream.filter((e) => e.eventId === decision.causationId),
          Stream.take(1),
          Stream.runHead,
        ),
      )
      expect(recorded._tag === "Some" && recorded.value).toMatchObject({
        type: "RequestReceived",
        correlationId: "test:refund-gated",
        causationId: awaiting?.eventId,
        actor: { kind: "human", id: "maria" },
        payload: { origin: "http" },
      })
    }
    const attempt = history.events.find((e) => e.type === "ActionAttemptStarted")
    expect([attempt?.correlationId, attempt?.causationId]).toEqual(["test:refund-gated", approved?.eventId])
    await stop()
  })

  it("tells a human after acting under a notify policy, once", async () => {
    const notified: Array<string> = []
    const { commands, stop } = await startExecutor({ notified })
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId: "reply-notify",
        kind: sampleActions.reply.kind,
        parameters: sampleActions.reply.parameters(5),
        mode: "notify",
      }),
    )
    const state = await waitForActionStatus(commands, agent, "reply-notify", ["succeeded"])
    await new Promise((resolve) => setTimeout(resolve, 300))
    const after = (await Effect.runPromise(commands.load(agent, "reply-notify"))).state
    expect(state.status).toBe("succeeded")
    expect(after.status === "succeeded" && after.notified).toBe(true)
    expect(notified).toEqual(["reply-notify"])
    await stop()
  })

  it("undoes a succeeded action through its declared compensation under its own key", async () => {
    const { commands, stop } = await startExecutor()
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId: "po-undo",
        kind: sampleActions.purchaseOrder.kind,
        parameters: sampleActions.purchaseOrder.parameters(6),
        compensation: sampleActions.purchaseOrder.compensation,
      }),
    )
    await waitForActionStatus(commands, agent, "po-undo", ["succeeded"])
    await Effect.runPromise(
      commands.send(
        agent,
        "po-undo",
        "undo",
        { _tag: "RequestCompensation", reason: "test", now: new Date().toISOString() },
        { actor: { kind: "system", id: "test" }, correlationId: "t", causationId: null },
      ),
    )
    await waitForActionStatus(commands, agent, "po-undo", ["compensated"])
    expect(effectsUnder("po-undo")).toHaveLength(1)
    expect(effectsUnder("po-undo-undo")).toHaveLength(1)
    await stop()
  })

  it("performs each action once when two executor replicas both get every event", async () => {
    // Each replica has its own durable consumer, so both see every event: the worst case of
    // replicas racing. The log's optimistic concurrency and the lease keep them from both calling.
    const { commands, stop } = await startExecutor({ replicas: 2 })
    const ids = Array.from({ length: 10 }, (_, i) => `po-race-${i}`)
    await Promise.all(
      ids.map((actionId, i) =>
        Effect.runPromise(
          requestSampleAction(commands, {
            agent,
            actionId,
            kind: sampleActions.purchaseOrder.kind,
            parameters: sampleActions.purchaseOrder.parameters(100 + i),
          }),
        ),
      ),
    )
    for (const actionId of ids) {
      const state = await waitForActionStatus(commands, agent, actionId, ["succeeded"])
      if (state.status !== "succeeded") throw new Error("unreachable")
      expect(effectsUnder(actionId), actionId).toHaveLength(1)
      expect(
        state.attempts.history.filter((h) => h.outcome === "started"),
        actionId,
      ).toHaveLength(1)
    }
    await stop()
  })
})
