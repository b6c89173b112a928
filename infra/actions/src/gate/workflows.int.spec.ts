import { parametersHash } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { makeProjector } from "@mesh/kernel/projections"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { makeKysely } from "@mesh/sql"
import {
  freshPostgresSchema,
  type NatsServerHandle,
  type PostgresTestSchema,
  startNatsServer,
  uniqueNamespace,
} from "@mesh/stack"
import { Deferred, Effect, Fiber, Result } from "effect"
import type { Kysely } from "kysely"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { actionRef, makeActionCommands } from "../action/actionCommands.ts"
import { makeApprovals } from "../approvals/approvals.ts"
import { makeHttpConnectorRegistry } from "../connectors/registry.ts"
import { makeActionExecutor } from "../executor/actionExecutor.ts"
import { type ActionPolicy, decodePolicy } from "../policy/actionPolicy.ts"
import {
  type ActionsReadModel,
  actionsProjection,
  listApprovalQueue,
  quotaCountersOf,
  unfinishedActions,
} from "../readModel/actionsProjection.ts"
import { makeSagaDriver, sagaRef } from "../saga/sagaDriver.ts"
import { waitForActionStatus } from "../testing/actionTestKit.ts"
import { type ActionIntent, makeActionGate } from "./actionGate.ts"

let server: NatsServerHandle
let nats: NatsHandles
let simulators: Simulators
let postgres: PostgresTestSchema
let db: Kysely<ActionsReadModel>

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  simulators = await startSimulators()
  postgres = await freshPostgresSchema({ prefix: "actgate" })
  db = makeKysely<ActionsReadModel>(postgres)
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
  await simulators?.stop()
  await db?.destroy()
  await postgres?.close()
})
afterEach(() => simulators.reset())

const policyDocument = {
  workflow: "shop-ops",
  version: "7",
  approvalTtl: "PT1H",
  defaultMode: "require-approval",
  kinds: {
    "payment.refund": { mode: "require-approval", rules: [] },
    "supplier.place-order": {
      mode: "auto",
      rules: [
        {
          id: "over-500-eur",
          when: { amountAtLeast: { amountMinor: 50_001, currency: "EUR" } },
          mode: "require-approval",
        },
      ],
    },
    "storefront.adjust-stock": { mode: "auto", rules: [] },
    "mailbox.send-message": { mode: "auto", rules: [] },
  },
  quotas: { actionsPerHour: 3 },
  skills: {
    resolveTicket: ["payment.refund", "storefront.adjust-stock", "mailbox.send-message"],
    chooseSupplier: ["supplier.place-order"],
  },
}

const decoded = (document: unknown): ActionPolicy => {
  const result = decodePolicy(document, "test")
  if (Result.isFailure(result)) throw result.failure
  return result.success
}

/** A namespace with an executor, the actions read model projected into Postgres, and a gate. */
const startWorkflow = async (policy: ActionPolicy) => {
  const namespace = uniqueNamespace("wf")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const commands = makeActionCommands({ nats, namespace })
  const schema = `rm_${namespace}`.replaceAll("-", "_")
  const projector = makeProjector({ projection: actionsProjection, db, schema, eventLog: commands.log })
  const readModel = db.withSchema(schema)
  const connectors = makeHttpConnectorRegistry({
    paymentUrl: simulators.payment.url,
    supplierUrl: simulators.supplier.url,
    storefrontUrl: simulators.storefront.url,
    mailboxUrl: simulators.mailbox.url,
    timeoutMs: 1_000,
  })
  const executor = makeActionExecutor({
    nats,
    namespace,
    connectors,
    retry: { initialMs: 20, maxMs: 100, factor: 2 },
    sweep: {
      everyMs: 100,
      candidates: (now) =>
        Effect.promise(() =>
          unfinishedActions(readModel, { now, staleBefore: new Date(Date.parse(now) - 2_000).toISOString() }),
        ),
    },
  })
  const gate = makeActionGate({
    commands,
    policy,
    counters: (agent, now, currency) =>
      Effect.promise(() => quotaCountersOf(readModel, agent, now, currency)),
    compensationOf: connectors.compensationOf,
  })
  const sagas = makeSagaDriver({ commands, gate })
  const stop = Effect.runSync(Deferred.make<void>())
  await Effect.runPromise(projector.setup)
  const projecting = Effect.runFork(projector.run)
  const consumers = [
    Effect.runFork(executor.run(Deferred.await(stop))),
    Effect.runFork(sagas.run("customer-ops", nats, Deferred.await(stop))),
  ]
  /** Waits until the read model has applied everything in the log. */
  const projected = async () => {
    for (;;) {
      const status = await Effect.runPromise(projector.status)
      if (status.lag === 0) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return {
    commands,
    gate,
    sagas,
    readModel,
    projected,
    stop: async () => {
      Effect.runSync(Deferred.succeed(stop, undefined))
      await Effect.runPromise(Fiber.interrupt(projecting))
      await Promise.all(consumers.map((f) => Effect.runPromise(Fiber.await(f))))
    },
  }
}

const intent = (overrides: Partial<ActionIntent> & Pick<ActionIntent, "actionId" | "kind" | "parameters">) =>
  ({
    agent: "customer-ops",
    skill: "resolveTicket",
    cause: { decisionId: null, eventId: null },
    confidence: 0.9,
    sentiment: null,
    firstTimeSupplier: null,
    correlationId: `test:${overrides.actionId}`,
    causationId: null,
    ...overrides,
  }) satisfies ActionIntent

const refundParameters = (n: number) => ({ orderId: `O-${n}`, amountMinor: 2_500, currency: "EUR" })

describe("policies through the gate", () => {
  it("makes every refund and every purchase order over the threshold wait for approval, and lets small orders run", async () => {
    const workflow = await startWorkflow(decoded(policyDocument))
    const refund = await Effect.runPromise(
      workflow.gate.request(
        intent({
          actionId: "refund-1",
          kind: "payment.refund",
          parameters: refundParameters(1),
        }),
      ),
    )
    expect(refund.decision.verdict).toMatchObject({ mode: "require-approval", rule: "default" })
    expect(refund.decision).toMatchObject({ workflow: "shop-ops", version: "7" })

    const order = (actionId: string, unitCostMinor: number) =>
      intent({
        actionId,
        agent: "procurement",
        skill: "chooseSupplier",
        kind: "supplier.place-order",
        parameters: { supplierId: "SUP-1", sku: "LAMP", quantity: 10, unitCostMinor, currency: "EUR" },
      })
    const big = await Effect.runPromise(workflow.gate.request(order("po-big", 6_000)))
    expect(big.decision.verdict).toMatchObject({ mode: "require-approval", rule: "over-500-eur" })
    expect(big.decision.inputs.amount).toEqual({ amountMinor: 60_000, currency: "EUR" })
    const small = await Effect.runPromise(workflow.gate.request(order("po-small", 1_000)))
    expect(small.decision.verdict.mode).toBe("auto")

    await waitForActionStatus(workflow.commands, "procurement", "po-small", ["succeeded"])
    await waitForActionStatus(workflow.commands, "customer-ops", "refund-1", ["awaiting-approval"])
    await waitForActionStatus(workflow.commands, "procurement", "po-big", ["awaiting-approval"])
    expect(simulators.payment.ledger()).toEqual([])
    expect(simulators.supplier.ledger().map((e) => e.key)).toEqual(["po-small"])

    // The approvals queue shows both waiting actions with the hash a human approves.
    await workflow.projected()
    const queue = await listApprovalQueue(workflow.readModel)
    expect(queue.map((q) => q.actionId).sort()).toEqual(["po-big", "refund-1"])
    expect(queue.find((q) => q.actionId === "refund-1")?.parametersHash).toBe(
      parametersHash(refundParameters(1)),
    )
    await workflow.stop()
  })

  it("stops the next action once the hourly quota is spent, saying why", async () => {
    const workflow = await startWorkflow(decoded(policyDocument))
    for (let n = 1; n <= 3; n++) {
      const reply = await Effect.runPromise(
        workflow.gate.request(
          intent({
            actionId: `reply-${n}`,
            kind: "mailbox.send-message",
            parameters: { to: `c${n}@example.com`, subject: "Re: your order", body: "On its way." },
          }),
        ),
      )
      expect(reply.decision.verdict.mode).toBe("auto")
      await workflow.projected()
    }
    const fourth = await Effect.runPromise(
      workflow.gate.request(
        intent({
          actionId: "reply-4",
          kind: "mailbox.send-message",
          parameters: { to: "c4@example.com", subject: "Re: your order", body: "On its way." },
        }),
      ),
    )
    expect(fourth.decision.verdict.mode).toBe("deny")
    expect(fourth.decision.verdict.rule).toBe("quota:actionsPerHour")
    expect(fourth.decision.verdict.reason).toMatch(/3/)
    expect(fourth.decision.inputs.actionsLastHour).toBe(3)
    expect(fourth.state.status).toBe("denied")
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(simulators.mailbox.ledger().map((e) => e.key)).not.toContain("reply-4")
    await workflow.stop()
  })

  it("answers a repeated intent with its first verdict, and refuses the same id for another effect or a reserved id", async () => {
    const workflow = await startWorkflow(decoded(policyDocument))
    const first = intent({
      actionId: "reply-x",
      kind: "mailbox.send-message",
      parameters: { to: "a@example.com", subject: "Hi", body: "Hello." },
    })
    const once = await Effect.runPromise(workflow.gate.request(first))
    const again = await Effect.runPromise(workflow.gate.request(first))
    expect(again.requested).toBe(false)
    expect(again.decision).toEqual(once.decision)

    // The same intent 20 times at once (a redelivery storm) is requested once.
    const storm = intent({
      actionId: "reply-storm",
      kind: "mailbox.send-message",
      parameters: { to: "s@example.com", subject: "Hi", body: "Once." },
    })
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => Effect.runPromise(workflow.gate.request(storm))),
    )
    expect(answers.filter((a) => a.requested)).toHaveLength(1)
    const stormHistory = await Effect.runPromise(
      workflow.commands.log.load({ domain: "actions", type: "customer-ops", id: "reply-storm" }),
    )
    expect(stormHistory.events.filter((e) => e.type === "ActionRequested")).toHaveLength(1)
    await waitForActionStatus(workflow.commands, "customer-ops", "reply-storm", ["succeeded"])
    expect(simulators.mailbox.ledger().filter((e) => e.key === "reply-storm")).toHaveLength(1)

    const other = await Effect.runPromiseExit(
      workflow.gate.request({ ...first, parameters: { to: "b@example.com", subject: "Hi", body: "Hello." } }),
    )
    expect(JSON.stringify(other)).toContain("IntentConflict")
    const reserved = await Effect.runPromiseExit(
      workflow.gate.request({ ...first, actionId: "reply-x-undo" }),
    )
    expect(JSON.stringify(reserved)).toContain("reserved for compensations and saga steps")
    const badId = await Effect.runPromiseExit(workflow.gate.request({ ...first, actionId: "a.b" }))
    expect(JSON.stringify(badId)).toContain("actionId")
    await workflow.stop()
  })

  it("denies an action kind the skill may not request: model output never widens the policy", async () => {
    const workflow = await startWorkflow(decoded(policyDocument))
    const widened = await Effect.runPromise(
      workflow.gate.request(
        intent({
          actionId: "po-from-a-reply",
          skill: "resolveTicket",
          kind: "supplier.place-order",
          parameters: { supplierId: "SUP-1", sku: "LAMP", quantity: 1, unitCostMinor: 1, currency: "EUR" },
        }),
      ),
    )
    expect(widened.decision.verdict).toMatchObject({ mode: "deny", rule: "allow-list" })
    expect(widened.state.status).toBe("denied")
    await workflow.stop()
  })

  it("refuses an approval for other parameters, an expired approval and a replayed approval", async () => {
    const workflow = await startWorkflow(decoded({ ...policyDocument, approvalTtl: 4_000 }))
    const approvals = makeApprovals({ commands: workflow.commands, approvalTtlMs: 60_000, origin: "http" })
    const request = (actionId: string, n: number) =>
      Effect.runPromise(
        workflow.gate.request(intent({ actionId, kind: "payment.refund", parameters: refundParameters(n) })),
      )
    await request("refund-a", 1)
    const other = await Effect.runPromise(
      approvals.approve({
        agent: "customer-ops",
        actionId: "refund-a",
        approver: "maria",
        parametersHash: parametersHash(refundParameters(2)),
      }),
    )
    expect(other).toEqual({ _tag: "Refused", refusal: "parameters-mismatch" })
    const ok = await Effect.runPromise(
      approvals.approve({
        agent: "customer-ops",
        actionId: "refund-a",
        approver: "maria",
        parametersHash: parametersHash(refundParameters(1)),
      }),
    )
    expect(ok._tag).toBe("Approved")
    const replayed = await Effect.runPromise(
      approvals.approve({
        agent: "customer-ops",
        actionId: "refund-a",
        approver: "jo",
        parametersHash: parametersHash(refundParameters(1)),
      }),
    )
    expect(replayed).toEqual({ _tag: "Refused", refusal: "already-decided" })
    await waitForActionStatus(workflow.commands, "customer-ops", "refund-a", ["succeeded"])

    // Nobody answers refund-b: the executor's sweep expires it at its deadline, with no event to wake it.
    await request("refund-b", 3)
    await waitForActionStatus(workflow.commands, "customer-ops", "refund-b", ["expired"], 20_000)
    // The sweep's move is caused by the event it found the action resting on, in the action's chain.
    const expiredB = await Effect.runPromise(
      workflow.commands.log.load(actionRef("customer-ops", "refund-b")),
    )
    expect(expiredB.events.map((e) => [e.type, e.correlationId, e.causationId])).toEqual([
      ["ActionRequested", "test:refund-b", null],
      ["ActionAwaitingApproval", "test:refund-b", null],
      ["ActionExpired", "test:refund-b", expiredB.events[1]?.eventId],
    ])
    await workflow.projected()
    expect((await listApprovalQueue(workflow.readModel)).map((q) => q.actionId)).not.toContain("refund-b")
    const late = await Effect.runPromise(
      approvals.approve({
        agent: "customer-ops",
        actionId: "refund-b",
        approver: "maria",
        parametersHash: parametersHash(refundParameters(3)),
      }),
    )
    expect(late).toEqual({ _tag: "Refused", refusal: "expired" })
    expect(simulators.payment.ledger().map((e) => e.key)).toEqual(["refund-a"])
    await workflow.stop()
  })
})

describe("sagas", () => {
  it("undoes the completed steps in reverse when the third step fails, leaving the world as it was", async () => {
    const auto = decoded({
      ...policyDocument,
      kinds: { ...policyDocument.kinds, "payment.refund": { mode: "auto", rules: [] } },
      quotas: {},
    })
    const workflow = await startWorkflow(auto)
    const stockBefore = simulators.storefront.state()
    // The mailbox refuses the notification (400: not retryable), so step 2 fails for good.
    simulators.mailbox.injectFaults({ failNext: 1, status: 400 })
    await Effect.runPromise(
      workflow.sagas.start({
        sagaId: "refund-T-9",
        agent: "customer-ops",
        skill: "resolveTicket",
        name: "refund, restock, notify",
        steps: [
          {
            kind: "payment.refund",
            parameters: { orderId: "O-9", amountMinor: 4_200, currency: "EUR" },
            compensation: { kind: "payment.cancel-refund", parameters: {} },
          },
          {
            kind: "storefront.adjust-stock",
            parameters: { sku: "LAMP", delta: 1, reason: "returned" },
            compensation: { kind: "storefront.revert-stock-adjustment", parameters: {} },
          },
          {
            kind: "mailbox.send-message",
            parameters: { to: "c9@example.com", subject: "Your refund", body: "Refunded." },
            compensation: { kind: "mailbox.retract-message", parameters: {} },
          },
        ],
        cause: { decisionId: null, eventId: null },
        context: { confidence: 0.9, sentiment: "negative" },
        correlationId: "saga-test",
      }),
    )
    for (let i = 0; i < 500; i++) {
      const { state } = await Effect.runPromise(workflow.sagas.state("customer-ops", "refund-T-9"))
      if (state.status === "compensated" || state.status === "completed") break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const { state } = await Effect.runPromise(workflow.sagas.state("customer-ops", "refund-T-9"))
    expect(state.status).toBe("compensated")

    const history = await Effect.runPromise(workflow.commands.log.load(sagaRef("customer-ops", "refund-T-9")))
    expect(history.events.map((e) => e.type)).toEqual([
      "SagaStarted",
      "SagaStepCompleted",
      "SagaStepCompleted",
      "SagaCompensating",
      "SagaStepCompensated",
      "SagaStepCompensated",
      "SagaCompensated",
    ])
    const undone = history.events.flatMap((e) => (e.type === "SagaStepCompensated" ? [e.payload.step] : []))
    expect(undone).toEqual([1, 0])

    // One causal chain: the caller's correlation throughout; each step is requested because of
    // the saga's event before it, and each saga event is caused by its step's outcome.
    const step = (n: number) =>
      Effect.runPromise(workflow.commands.log.load(actionRef("customer-ops", `refund-T-9-step-${n}`)))
    const [step0, step1, step2] = [await step(0), await step(1), await step(2)]
    const all = [...history.events, ...step0.events, ...step1.events, ...step2.events]
    expect(new Set(all.map((e) => e.correlationId))).toEqual(new Set(["saga-test"]))
    const byId = new Map(all.map((e) => [e.eventId, e]))
    const causeOf = (e: (typeof all)[number] | undefined) =>
      e?.causationId === null || e === undefined ? null : byId.get(e.causationId)?.type
    expect(history.events.map((e) => [e.type, causeOf(e)])).toEqual([
      ["SagaStarted", null],
      ["SagaStepCompleted", "ActionSucceeded"],
      ["SagaStepCompleted", "ActionSucceeded"],
      ["SagaCompensating", "ActionFailed"],
      ["SagaStepCompensated", "ActionCompensated"],
      ["SagaStepCompensated", "ActionCompensated"],
      ["SagaCompensated", "ActionCompensated"],
    ])
    expect([step0, step1, step2].map((s) => causeOf(s.events[0]))).toEqual([
      "SagaStarted",
      "SagaStepCompleted",
      "SagaStepCompleted",
    ])
    const undoRequests = [step0, step1].map((s) =>
      causeOf(s.events.find((e) => e.type === "ActionCompensationRequested")),
    )
    expect(undoRequests).toEqual(["SagaStepCompensated", "SagaCompensating"])

    // The ledgers: each effect and its undo, once each, in reverse order; nothing sent by mail.
    const operations = simulators.ledger().map((e) => e.operation)
    expect(operations.filter((op) => /cancel|revert/.test(op))).toHaveLength(2)
    const ledgerKeys = simulators.ledger().map((e) => e.key)
    expect(ledgerKeys.filter((k) => k.includes("step-2"))).toEqual([])
    const lamps = (state: unknown) => (state as { stock: Record<string, number> }).stock.LAMP ?? 0
    expect(lamps(simulators.storefront.state())).toBe(lamps(stockBefore))
    expect(simulators.payment.state()).toMatchObject({ refundedByOrder: {} })
    expect(simulators.mailbox.state()).toMatchObject({ standingMessages: 0 })
    await workflow.stop()
  })

  it("drives a saga written beside its agent's actions, before sagas had their own aggregate type, to its end there", async () => {
    const auto = decoded({ ...policyDocument, quotas: {} })
    const workflow = await startWorkflow(auto)
    // As the driver wrote it then: the saga's events on `<ns>.actions.<agent>.<sagaId>`.
    await Effect.runPromise(
      workflow.commands.log.append({
        aggregate: actionRef("customer-ops", "S-old"),
        expected: { version: 0, sequence: 0 },
        events: [
          {
            type: "SagaStarted",
            payload: {
              sagaId: "S-old",
              agent: "customer-ops",
              skill: "resolveTicket",
              name: "restock, notify",
              steps: [
                {
                  kind: "storefront.adjust-stock",
                  parameters: { sku: "LAMP", delta: 1, reason: "returned" },
                  compensation: { kind: "storefront.revert-stock-adjustment", parameters: {} },
                },
                {
                  kind: "mailbox.send-message",
                  parameters: { to: "old@example.com", subject: "Restocked", body: "Back on the shelf." },
                  compensation: null,
                },
              ],
              cause: { decisionId: null, eventId: null },
              context: { confidence: 0.9, sentiment: null },
              startedAt: new Date().toISOString(),
            },
          },
        ],
        metadata: {
          correlationId: "old-saga",
          causationId: null,
          actor: { kind: "agent", id: "customer-ops" },
        },
      }),
    )
    for (let i = 0; i < 500; i++) {
      const { state } = await Effect.runPromise(workflow.sagas.state("customer-ops", "S-old"))
      if (state.status === "completed") break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const saga = await Effect.runPromise(workflow.sagas.state("customer-ops", "S-old"))
    expect(saga.state.status).toBe("completed")
    expect(saga.ref).toEqual(actionRef("customer-ops", "S-old"))
    const history = await Effect.runPromise(workflow.commands.log.load(actionRef("customer-ops", "S-old")))
    expect(history.events.map((e) => e.type)).toEqual([
      "SagaStarted",
      "SagaStepCompleted",
      "SagaStepCompleted",
      "SagaCompleted",
    ])
    expect(simulators.mailbox.ledger().map((e) => e.key)).toEqual(["S-old-step-1"])
    // Its id is still a saga's: the gate does not take it for an action.
    const asAction = await Effect.runPromiseExit(
      workflow.gate.request(
        intent({ actionId: "S-old", kind: "mailbox.send-message", parameters: { to: "x@example.com" } }),
      ),
    )
    expect(JSON.stringify(asAction)).toContain("is a saga of customer-ops")
    await workflow.stop()
  })
})
