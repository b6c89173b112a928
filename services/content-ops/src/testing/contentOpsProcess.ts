import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import {
  type Domain,
  type EventEnvelope,
  inventoryOnHand,
  listingStatus,
  meshCatalog,
  stockReservations,
  tenantScopedId,
} from "@mesh/contracts"
import { makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { readModelSchemaOf } from "@mesh/kernel"
import { chatResponder, type FakeOllama, startFakeOllama } from "@mesh/models/testing"
import { makeConflicts, makeRegisters } from "@mesh/registers"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { findRepoRoot, postgresTestUrl, uniqueNamespace, waitFor, workspaceNode } from "@mesh/stack"
import { Effect, Result, Stream } from "effect"
import pg from "pg"
import { contentOpsName } from "../config.ts"
import { draftListingOffline } from "../skills/offline/listing.ts"
import type { DraftListingInput } from "../skills/tasks.ts"

/** The owner's approver identity and token in the agent the tests start. */
export const owner = { name: "owner", token: "owner-token-0123456789" } as const

/**
 * A model that drafts like the offline one, except that for a SKU starting with `INVENT` it adds a
 * material and a claim the facts never gave: a model embellishing copy, as models do.
 */
const embellish = (facts: DraftListingInput) => {
  const draft = draftListingOffline(facts)
  return facts.sku.startsWith("INVENT")
    ? { ...draft, description: `${draft.description} Made of solid oak, eco-friendly and built to last.` }
    : draft
}
const embellishingDrafts = {
  draft_listing: (input: unknown) => Result.succeed(embellish(input as DraftListingInput)),
  draft_listing_batch: (input: unknown) =>
    Result.succeed({
      answers: (input as { items: ReadonlyArray<DraftListingInput> }).items.map(embellish),
    }),
}

/**
 * The content-ops agent in its own process for end-to-end specs, over the given NATS server and the
 * test Postgres, with the storefront simulator behind its connector and a server speaking Ollama's
 * API as its model (or the offline model); the conflict resolver beside it; and what a spec does:
 * record product facts, play procurement's stock (its register writes and events), read listings
 * and the log. A spec running other agents beside it gives it their namespace and simulators, which
 * it then leaves running when it stops.
 */
export const startContentOps = async (
  natsUrl: string,
  options: {
    /** Names the fresh namespace the agent runs in, unless `namespace` is given. */
    readonly prefix?: string
    /** A namespace to join, shared with other agents of the spec. */
    readonly namespace?: string
    /** Simulators to use, shared with other agents of the spec; their owner stops them. */
    readonly simulators?: Simulators
    /**
     * The agent's model: the fake Ollama (by default), or the offline model, whose sentence encoder
     * is the one the FAQ's similarity was measured with (the fake embeds by hashing words, under
     * which paraphrases of one question score 0.3-0.7).
     */
    readonly model?: "fake-ollama" | "offline"
    readonly env?: Readonly<Record<string, string>>
  },
) => {
  const namespace = options.namespace ?? uniqueNamespace(options.prefix)
  const simulators: Simulators = options.simulators ?? (await startSimulators())
  // The model's answers can be slowed, as a busy model's are, for a spec to build a backlog.
  let modelDelayMs = 0
  const answer = chatResponder(embellishingDrafts)
  const model: FakeOllama = await startFakeOllama({
    chat: (request) => ({ ...answer(request), delayMs: modelDelayMs }),
  })
  let output = ""
  let agent: ChildProcess
  const startAgent = () => {
    output = ""
    agent = spawn(workspaceNode(), [join(import.meta.dirname, "..", "main.ts")], {
      env: {
        PATH: process.env.PATH ?? "",
        MESH_NATS_URL: natsUrl,
        MESH_NAMESPACE: namespace,
        MESH_DATABASE_URL: postgresTestUrl(),
        MESH_HTTP_HOST: "127.0.0.1",
        MESH_HTTP_PORT: "0",
        MESH_INSTANCE_ID: "content-ops-1",
        MESH_APPROVER_TOKENS: `${owner.name}=${owner.token}`,
        MESH_STOREFRONT_URL: simulators.storefront.url,
        MESH_CONNECTOR_TIMEOUT_MS: "5000",
        MESH_OLLAMA_HOST: options.model === "offline" ? "" : model.url,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    })
    agent.stdout?.on("data", (chunk) => (output += chunk))
    agent.stderr?.on("data", (chunk) => (output += chunk))
  }
  const logs = () =>
    output
      .split("\n")
      .filter((line) => !line.includes("action sweep could not list"))
      .join("\n")
      .slice(-4000)
  const until = <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 60_000) =>
    waitFor(what, probe, {
      timeoutMs,
      stopIf: () =>
        agent.exitCode !== null && agent.signalCode === null ? `the agent exited:\n${logs()}` : undefined,
      detail: logs,
    })
  let url = ""
  const listen = async () => {
    url = await until("the agent listens", async () => /ready on (http:\/\/\S+)/.exec(output)?.[1], 90_000)
    await until("the agent is ready", async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined))
  }
  startAgent()
  await listen()

  // The resolver is another agent's process, started by its path, as a deployment starts it.
  let resolverOutput = ""
  const resolver = spawn(
    workspaceNode(),
    [join(findRepoRoot(), "services", "conflict-resolver", "src", "main.ts")],
    {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        MESH_NATS_URL: natsUrl,
        MESH_NAMESPACE: namespace,
        MESH_DATABASE_URL: "pglite:memory",
        MESH_INSTANCE_ID: "resolver-1",
        MESH_HTTP_HOST: "127.0.0.1",
        MESH_HTTP_PORT: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  )
  resolver.stdout?.on("data", (chunk) => (resolverOutput += chunk))
  resolver.stderr?.on("data", (chunk) => (resolverOutput += chunk))
  await waitFor("the resolver is ready", async () => (/ready on /.test(resolverOutput) ? true : undefined), {
    timeoutMs: 90_000,
    detail: () => resolverOutput,
  })

  const connection: NatsHandles = await openNats(natsUrl)
  const log = makeEventLog({ nats: connection, catalog: meshCatalog, namespace })
  // Procurement's hand on the stock, played by the spec: the registers it writes and the events it appends.
  const procurement = await Effect.runPromise(
    makeRegisters(connection, { namespace, agent: "procurement", instance: "spec" }),
  )

  const call = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${url}${path}`, {
      method: init.method ?? "GET",
      headers: { "content-type": "application/json", authorization: `Bearer ${owner.token}` },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    })

  let stockEvents = 0
  // The spec's shop: a SKU's stock item, registers and listing are the tenant's (`tenantScopedId`).
  const shopId = (sku: string) => tenantScopedId("shop", sku)
  const stock = {
    /** Units arrive: on hand and free to promise. */
    restock: async (sku: string, quantity: number) => {
      await Effect.runPromise(
        procurement.write(inventoryOnHand, shopId(sku), { _tag: "Add", amount: quantity }),
      )
      await Effect.runPromise(
        procurement.write(stockReservations, shopId(sku), { _tag: "Restock", quantity }),
      )
      stockEvents += 1
      await Effect.runPromise(
        log.append({
          aggregate: { domain: "procurement", type: "stockItem", id: shopId(sku) },
          expected: "any",
          events: [{ type: "StockRestocked", payload: { sku, quantity, reason: "received" } }] as never,
          metadata: {
            correlationId: `restock-${sku}-${stockEvents}`,
            causationId: null,
            commandId: `spec-restock-${sku}-${stockEvents}`,
            actor: { kind: "agent", id: "procurement" },
          },
        }),
      )
    },
    /** An order takes units (reserved, then shipped off the shelf when `ship`), and procurement says so. */
    sell: async (sku: string, quantity: number, options: { ship?: boolean } = {}) => {
      stockEvents += 1
      const reservation = `spec-${stockEvents}`
      await Effect.runPromise(
        procurement.write(stockReservations, shopId(sku), { _tag: "Take", reservation, quantity }),
      )
      if (options.ship === true)
        await Effect.runPromise(
          procurement.write(inventoryOnHand, shopId(sku), { _tag: "Add", amount: -quantity }),
        )
      await Effect.runPromise(
        log.append({
          aggregate: { domain: "procurement", type: "allocation", id: shopId(`o-${reservation}`) },
          expected: "any",
          events: [{ type: "OrderStockReserved", payload: { sku, quantity, reservation } }] as never,
          metadata: {
            correlationId: `order-${reservation}`,
            causationId: null,
            commandId: `spec-sell-${reservation}`,
            actor: { kind: "agent", id: "procurement" },
          },
        }),
      )
      return reservation
    },
    /** An order's reservation is released (a cancellation), and procurement says so. */
    release: async (sku: string, reservation: string, quantity: number) => {
      await Effect.runPromise(
        procurement.write(stockReservations, shopId(sku), { _tag: "Release", reservation }),
      )
      await Effect.runPromise(
        log.append({
          aggregate: { domain: "procurement", type: "allocation", id: shopId(`o-${reservation}`) },
          expected: "any",
          events: [
            { type: "OrderStockReleased", payload: { sku, quantity, wasBackordered: false } },
          ] as never,
          metadata: {
            correlationId: `order-${reservation}`,
            causationId: null,
            commandId: `spec-release-${reservation}`,
            actor: { kind: "agent", id: "procurement" },
          },
        }),
      )
    },
    /** The listing's status as the shared register holds it. */
    listingStatus: async (sku: string) =>
      (await Effect.runPromise(procurement.read(listingStatus, shopId(sku)))).value,
  }

  /**
   * Appends a listing's facts as a new version, as `PUT /products/:sku` records them: for facts
   * the route has seen before, which it answers with their first record (its request id is the
   * body's digest), as a revert to earlier facts would need.
   */
  const recordFactsVersion = (facts: { readonly tenantId: string; readonly sku: string }, version: number) =>
    Effect.runPromise(
      log.append({
        aggregate: { domain: "content", type: "listing", id: tenantScopedId(facts.tenantId, facts.sku) },
        expected: "any",
        events: [{ type: "ProductFactsRecorded", payload: { facts, version } }] as never,
        metadata: {
          correlationId: `spec-facts-${facts.sku}-${version}`,
          causationId: null,
          actor: { kind: "human", id: "spec" },
        },
      }),
    )

  /** Every event of the namespace's streams, in log order per stream. */
  const everything = async (): Promise<ReadonlyArray<EventEnvelope>> => {
    const all: Array<EventEnvelope> = []
    for (const domain of [
      "content",
      "procurement",
      "actions",
      "decisions",
      "requests",
    ] as const satisfies ReadonlyArray<Domain>) {
      const head = await Effect.runPromise(log.headSequence(domain))
      if (head === 0) continue
      await Effect.runPromise(
        log.follow(domain, { fromSequence: 1 }).pipe(
          Stream.takeUntil((commit) => commit.sequence >= head),
          Stream.runForEach((commit) => Effect.sync(() => all.push(...commit.events))),
        ),
      )
    }
    return all
  }

  /**
   * Kills the agent mid-flight (SIGKILL) and starts it again on the same namespace; `whileDown`
   * runs between the two, when no process of the agent is there to see it.
   */
  const restart = async (whileDown?: () => Promise<unknown>) => {
    agent.kill("SIGKILL")
    await new Promise((resolve) =>
      agent.exitCode !== null || agent.signalCode !== null ? resolve(undefined) : agent.once("exit", resolve),
    )
    await whileDown?.()
    startAgent()
    await listen()
  }

  const violations = () => Effect.runPromise(makeConflicts(connection, namespace).violations)

  const stop = async () => {
    resolver.kill("SIGTERM")
    agent.kill("SIGTERM")
    await connection.connection.drain()
    if (options.simulators === undefined) await simulators.stop()
    await model.close()
    const client = new pg.Client({ connectionString: postgresTestUrl() })
    await client.connect()
    await client.query(`drop schema if exists "${readModelSchemaOf(namespace, contentOpsName)}" cascade`)
    await client.end()
  }

  return {
    get url() {
      return url
    },
    namespace,
    simulators,
    model,
    /** Makes every model answer wait this long (0: at once). */
    slowModel: (delayMs: number) => {
      modelDelayMs = delayMs
    },
    call,
    stock,
    recordFactsVersion,
    everything,
    violations,
    restart,
    until,
    stop,
  }
}

/** The content-ops agent a spec started. */
export type ContentOpsProcess = Awaited<ReturnType<typeof startContentOps>>
