import { readFileSync } from "node:fs"
import { join } from "node:path"
import {
  actionsFromLog,
  decodePolicyJson,
  makeActionCommands,
  makeActionExecutor,
  makeActionGate,
  makeApprovals,
  makeHttpConnectorRegistry,
  makeSagaDriver,
  type QuotaHistoryEntry,
  quotaInputs,
  sagaRef,
} from "@mesh/actions"
import { type CommitMetadata, type MeshEvent, meshCatalog, parametersHash, Subjects } from "@mesh/contracts"
import {
  type AggregateRef,
  applyTopology,
  declareTopology,
  initialPosition,
  makeEventLog,
  type NatsHandles,
  openNats,
  readDeadLetters,
  runDurableConsumer,
} from "@mesh/eventlog"
import { startSimulators } from "@mesh/simulators"
import { findRepoRoot, projectDataDir } from "@mesh/stack"
import { Effect, Exit, Fiber, Result } from "effect"
import { demoNats } from "./stack/meshStack.ts"

// `pnpm demo:runtime`: a shop's morning played through the event log on embedded defaults (MESH_NATS_URL,
// else the server of a running `mesh dev`, else a private nats-server under .data/). Where `pnpm
// demo` shows the agents at work, this shows the runtime they are made of: streams as code, per-aggregate
// concurrency, deduplication, schema checks at the edge, upcasting, a live durable consumer,
// dead-lettering, and side effects through the policy gate, human approval, the executor and a
// compensated saga against simulated shop systems.

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s)
const step = (title: string) => console.log(`\n${bold(title)}`)

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

const main = async () => {
  const started = performance.now()
  const nats = await demoNats()
  const client = await openNats(nats.url, "mesh-demo")
  const namespace = `demo${Date.now().toString(36)}`
  const log = makeEventLog({ nats: client, catalog: meshCatalog, namespace })
  const agent = (id: string): CommitMetadata => ({
    correlationId: `morning-${namespace}`,
    causationId: null,
    actor: { kind: "agent", id },
  })
  const ticket = (id: string): AggregateRef => ({ domain: "customer", type: "ticket", id })
  const fiber: { current?: Fiber.Fiber<void, unknown> } = {}

  try {
    step(`1. Streams as code (NATS ${nats.url}, ${nats.source}; namespace ${namespace})`)
    const report = await run(applyTopology(client.jsm, declareTopology({ namespace })))
    console.log(`   created ${report.created.join(", ")}; immutable: deny delete, deny purge`)

    step("2. A live durable consumer follows the customer stream")
    const feed: Array<string> = []
    fiber.current = Effect.runFork(
      runDurableConsumer({
        nats: client,
        namespace,
        catalog: meshCatalog,
        spec: { name: "demo-feed", domain: "customer" },
        handle: (event: MeshEvent, delivery) =>
          Effect.sync(() => {
            feed.push(event.type)
            console.log(
              dim(
                `   feed  #${delivery.sequence} ${event.type} ${event.aggregateId} v${event.aggregateVersion}`,
              ),
            )
          }),
      }),
    )

    step("3. The shop opens: a customer writes in, stock is counted, a listing is drafted")
    const opened = await run(
      log.append({
        aggregate: ticket("T-1001"),
        expected: initialPosition,
        events: [
          {
            type: "TicketOpened",
            payload: {
              tenantId: "lamp-shop",
              customerId: "C-77",
              channel: "email",
              subject: "My lamp arrived broken",
              body: "The shade is cracked. I would like a refund please.",
              orderId: "O-5521",
            },
          },
        ],
        metadata: agent("customer-ops"),
      }),
    )
    console.log(
      `   TicketOpened T-1001 at version ${opened.position.version}, stream sequence ${opened.position.sequence}`,
    )
    await run(
      log.append({
        aggregate: { domain: "procurement", type: "stockItem", id: "SKU-LAMP-01" },
        expected: initialPosition,
        events: [
          {
            type: "StockLevelRecorded",
            payload: { tenantId: "lamp-shop", sku: "SKU-LAMP-01", onHand: 3, reorderPoint: 5 },
          },
          { type: "StockBelowReorderPoint", payload: { sku: "SKU-LAMP-01", onHand: 3, reorderPoint: 5 } },
        ],
        metadata: agent("procurement"),
      }),
    )
    console.log(
      "   StockLevelRecorded + StockBelowReorderPoint committed together (one message: all or nothing)",
    )
    await run(
      log.append({
        aggregate: { domain: "content", type: "listing", id: "L-LAMP-01" },
        expected: initialPosition,
        events: [
          {
            type: "ListingDrafted",
            payload: {
              tenantId: "lamp-shop",
              sku: "SKU-LAMP-01",
              title: "Brass desk lamp",
              description: "Warm light, solid brass.",
              price: { amountMinor: 4900, currency: "EUR" },
              decisionId: null,
            },
          },
        ],
        metadata: agent("content-ops"),
      }),
    )
    console.log("   ListingDrafted L-LAMP-01")

    step("4. Two writers act on the same ticket from the same stale view")
    const triage = (priority: "high" | "normal", decisionId: string) =>
      ({
        type: "TicketTriaged",
        payload: { intent: "refund", sentiment: "negative", priority, confidence: 0.92, decisionId },
      }) as const
    const [a, b] = await Promise.all([
      Effect.runPromiseExit(
        log.append({
          aggregate: ticket("T-1001"),
          expected: opened.position,
          events: [triage("high", "d-1")],
          metadata: agent("customer-ops"),
        }),
      ),
      Effect.runPromiseExit(
        log.append({
          aggregate: ticket("T-1001"),
          expected: opened.position,
          events: [triage("normal", "d-2")],
          metadata: agent("customer-ops"),
        }),
      ),
    ])
    for (const [name, exit] of [
      ["writer A", a],
      ["writer B", b],
    ] as const) {
      console.log(
        `   ${name}: ${Exit.isSuccess(exit) ? `won, ticket now at version ${exit.value.position.version}` : `lost: ${String(Exit.isFailure(exit) ? (exit.cause.reasons[0] as { error?: Error }).error?.message : "")}`}`,
      )
    }

    step("5. A retried publish with the same event id is stored once")
    const eventId = "01936b2e-0000-7000-8000-00000000d001"
    const current = await run(log.load(ticket("T-1001")))
    const refund = {
      aggregate: ticket("T-1001"),
      expected: current.position,
      events: [
        {
          type: "RefundRequested",
          eventId,
          payload: {
            orderId: "O-5521",
            amount: { amountMinor: 4900, currency: "EUR" },
            reason: "arrived broken",
            actionId: "A-1",
          },
        },
      ],
      metadata: agent("customer-ops"),
    } as const
    const first = await run(log.append(refund))
    const retry = await run(log.append(refund))
    console.log(
      `   first append duplicate=${first.duplicate}, retry duplicate=${retry.duplicate}; version stays ${retry.position.version}`,
    )

    step("6. An event that breaks its schema is refused before it reaches the log")
    const refused = await Effect.runPromiseExit(
      log.append({
        aggregate: ticket("T-1002"),
        expected: initialPosition,
        events: [
          {
            type: "RefundRequested",
            payload: {
              orderId: "O-1",
              amount: { amountMinor: -5, currency: "EUR" },
              reason: "x",
              actionId: "A-2",
            },
          },
        ],
        metadata: agent("customer-ops"),
      }),
    )
    console.log(
      `   ${Exit.isFailure(refused) ? String((refused.cause.reasons[0] as { error?: Error }).error?.message) : "accepted?!"}`,
    )

    step("7. A ticket written years ago by an old build (TicketOpened v1, no channel) is upcast on read")
    await client.js.publish(
      Subjects.aggregate(namespace, "customer", "ticket", "T-0001"),
      new TextEncoder().encode(
        JSON.stringify([
          {
            eventId: "01936b2e-0000-7000-8000-00000000a001",
            type: "TicketOpened",
            schemaVersion: 1,
            aggregateType: "ticket",
            aggregateId: "T-0001",
            aggregateVersion: 1,
            occurredAt: "2024-03-01T09:00:00.000Z",
            correlationId: "legacy",
            causationId: null,
            actor: { kind: "system", id: "legacy-helpdesk" },
            payload: {
              tenantId: "lamp-shop",
              customerId: "C-1",
              subject: "Hello",
              body: "Old ticket",
              orderId: null,
            },
          },
        ]),
      ),
    )
    const legacy = await run(log.load(ticket("T-0001")))
    const legacyEvent = legacy.events[0]
    console.log(
      `   read back as ${legacyEvent?.type} v${legacyEvent?.schemaVersion} with channel=${legacyEvent?.type === "TicketOpened" ? legacyEvent.payload.channel : "?"}`,
    )

    step("8. A consumer that keeps failing parks the event in the dead-letter stream; the rest flow")
    const poisonFiber = Effect.runFork(
      runDurableConsumer({
        nats: client,
        namespace,
        catalog: meshCatalog,
        spec: {
          name: "demo-refunds",
          domain: "customer",
          maxDeliveries: 3,
          backoff: { initialMs: 50, maxMs: 200, factor: 2 },
        },
        handle: (event: MeshEvent) =>
          event.type === "RefundRequested"
            ? Effect.fail(new Error("payment provider rejected the card network"))
            : Effect.void,
      }),
    )
    const deadline = Date.now() + 15_000
    let dead = await run(readDeadLetters(client, namespace))
    while (dead.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      dead = await run(readDeadLetters(client, namespace))
    }
    await run(Fiber.interrupt(poisonFiber))
    for (const d of dead) {
      console.log(
        `   ${d.consumer} gave up on ${d.originalStream}#${d.originalSequence} after ${d.deliveries} deliveries: ${d.reason}`,
      )
    }

    await playSideEffects(client, namespace)

    step("12. The ticket's history, as any agent or SRE reads it")
    const history = await run(log.load(ticket("T-1001")))
    for (const e of history.events)
      console.log(`   v${e.aggregateVersion} ${e.type} by ${e.actor.kind}:${e.actor.id}`)
    await new Promise((r) => setTimeout(r, 300))
    console.log(`\n   the live feed saw ${feed.length} customer events while all this happened`)

    const seconds = ((performance.now() - started) / 1_000).toFixed(1)
    console.log(
      `\n${bold("Done")} in ${seconds}s. Inspect it while NATS runs: pnpm mesh history customer ticket T-1001 --namespace ${namespace}`,
    )
    console.log(dim(`(NATS store: ${projectDataDir()}/nats; start it again with \`pnpm mesh dev\`)`))
  } finally {
    if (fiber.current !== undefined) await run(Fiber.interrupt(fiber.current))
    await client.connection.drain()
    await nats.stop()
  }
}

/** Steps 9-11: side effects through the policy gate, a human's approval, and a saga undone. */
const playSideEffects = async (client: NatsHandles, namespace: string) => {
  const simulators = await startSimulators()
  const commands = makeActionCommands({ nats: client, namespace })
  const connectors = makeHttpConnectorRegistry({
    paymentUrl: simulators.payment.url,
    supplierUrl: simulators.supplier.url,
    storefrontUrl: simulators.storefront.url,
    mailboxUrl: simulators.mailbox.url,
    timeoutMs: 2_000,
  })
  const policyFile = join(findRepoRoot(), "services", "customer-ops", "policy", "actions.json")
  const policy = Result.getOrThrow(decodePolicyJson(readFileSync(policyFile, "utf8"), policyFile))
  // An agent's gate reads its quota counters from its actions read model; the tour keeps no read
  // model, so it folds its few actions from the log instead.
  const counters = (agent: string, now: string, currency: string | null) =>
    Effect.map(actionsFromLog(commands, agent), (actions) =>
      quotaInputs(
        actions.flatMap(
          ({ state }): ReadonlyArray<QuotaHistoryEntry> =>
            state.status === "none"
              ? []
              : [
                  {
                    agent,
                    requestedAt: state.request.requestedAt,
                    amount: state.request.policy.inputs.amount,
                    mode: state.request.mode,
                  },
                ],
        ),
        agent,
        now,
        currency,
      ),
    )
  const gate = makeActionGate({ commands, policy, counters, compensationOf: connectors.compensationOf })
  const sagas = makeSagaDriver({ commands, gate })
  const approvals = makeApprovals({ commands, approvalTtlMs: 15 * 60_000, origin: "cli" })
  const executor = makeActionExecutor({ nats: client, namespace, connectors })
  const fibers = [Effect.runFork(executor.run()), Effect.runFork(sagas.run("customer-ops", client))]
  const settled = async (agent: string, actionId: string) => {
    for (let i = 0; i < 500; i++) {
      const { state } = await run(commands.load(agent, actionId))
      if (state.status !== "pending" && state.status !== "attempting") return state
      await new Promise((r) => setTimeout(r, 20))
    }
    return (await run(commands.load(agent, actionId))).state
  }
  const intent = (actionId: string, kind: string, parameters: Record<string, string | number>) => ({
    actionId,
    agent: "customer-ops",
    skill: "draftReply",
    kind,
    parameters,
    cause: { decisionId: "d-1", eventId: null },
    confidence: 0.92,
    sentiment: "negative" as const,
    firstTimeSupplier: null,
    correlationId: `morning-${namespace}`,
    causationId: null,
  })
  try {
    step(
      `9. Side effects pass the policy gate (${policy.workflow} v${policy.version}, simulated shop systems)`,
    )
    const refundParameters = {
      orderId: "O-5521",
      amountMinor: 4900,
      currency: "EUR",
      reason: "arrived broken",
    }
    const refund = await run(gate.request(intent("A-1", "payment.refund", refundParameters)))
    console.log(`   refund A-1: ${refund.decision.verdict.mode} (${refund.decision.verdict.reason})`)
    const reply = await run(
      gate.request(
        intent("A-2", "mailbox.send-message", {
          to: "c-77@example.com",
          subject: "Re: My lamp arrived broken",
          body: "Sorry about the shade. Your refund is with a colleague for approval.",
        }),
      ),
    )
    console.log(
      `   reply A-2:  ${reply.decision.verdict.mode}; executor says ${(await settled("customer-ops", "A-2")).status}`,
    )
    const widened = await run(
      gate.request({
        ...intent("A-3", "supplier.place-order", {
          supplierId: "SUP-1",
          sku: "LAMP",
          quantity: 50,
          unitCostMinor: 900,
          currency: "EUR",
        }),
      }),
    )
    console.log(
      `   a purchase order proposed by the reply skill: ${widened.decision.verdict.mode} (${widened.decision.verdict.rule})`,
    )

    step("10. A person approves the exact refund; an approval of other parameters changes nothing")
    const tampered = await run(
      approvals.approve({
        agent: "customer-ops",
        actionId: "A-1",
        approver: "owner",
        parametersHash: parametersHash({ ...refundParameters, amountMinor: 49_000 }),
      }),
    )
    console.log(
      `   approve 490.00 EUR instead: ${tampered._tag} ${tampered._tag === "Refused" ? tampered.refusal : ""}`,
    )
    const approved = await run(
      approvals.approve({
        agent: "customer-ops",
        actionId: "A-1",
        approver: "owner",
        parametersHash: parametersHash(refundParameters),
      }),
    )
    const done = await settled("customer-ops", "A-1")
    console.log(
      `   approve the shown refund: ${approved._tag}; executor says ${done.status}${done.status === "succeeded" ? ` (${done.externalRef})` : ""}`,
    )

    step("11. A saga fails at its third step and its completed steps are undone in reverse")
    await run(
      sagas.start({
        sagaId: "S-1",
        agent: "customer-ops",
        skill: "draftReply",
        name: "restock the returned lamp, tell the customer, ship a replacement",
        steps: [
          {
            kind: "storefront.adjust-stock",
            parameters: { sku: "SKU-LAMP-01", delta: 1, reason: "returned" },
            compensation: { kind: "storefront.revert-stock-adjustment", parameters: {} },
          },
          {
            kind: "mailbox.send-message",
            parameters: { to: "c-77@example.com", subject: "Replacement", body: "A new lamp is on its way." },
            compensation: { kind: "mailbox.retract-message", parameters: {} },
          },
          {
            kind: "storefront.adjust-stock",
            parameters: { sku: "SKU-SHADE-02", delta: -1, reason: "replacement shade" },
            compensation: { kind: "storefront.revert-stock-adjustment", parameters: {} },
          },
        ],
        cause: { decisionId: "d-2", eventId: null },
        context: { confidence: 0.92, sentiment: "negative" },
        correlationId: `morning-${namespace}`,
      }),
    )
    for (let i = 0; i < 500; i++) {
      const { state } = await run(sagas.state("customer-ops", "S-1"))
      if (state.status === "compensated" || state.status === "completed") break
      await new Promise((r) => setTimeout(r, 20))
    }
    const saga = await run(commands.log.load(sagaRef("customer-ops", "S-1")))
    console.log(`   ${saga.events.map((e) => e.type).join(" → ")}`)
    console.log("   the simulated systems' ledgers, one line per effect and idempotency key:")
    for (const entry of [...simulators.ledger()].sort((a, b) => a.at.localeCompare(b.at)))
      console.log(dim(`     ${entry.system} ${entry.operation} ${entry.resource} key ${entry.key}`))
  } finally {
    for (const fiber of fibers) await run(Fiber.interrupt(fiber))
    await simulators.stop()
  }
}

await main()
