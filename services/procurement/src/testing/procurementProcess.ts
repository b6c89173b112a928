import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { type Domain, type EventEnvelope, meshCatalog, parseTenantScopedId } from "@mesh/contracts"
import { makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { readModelSchemaOf } from "@mesh/kernel"
import { makeConflicts } from "@mesh/registers"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { findRepoRoot, postgresTestUrl, uniqueNamespace, waitFor, workspaceNode } from "@mesh/stack"
import { Effect, Stream } from "effect"
import pg from "pg"
import { procurementName } from "../config.ts"

/** The owner's approver identity and token in the agents the tests start. */
export const owner = { name: "owner", token: "owner-token-0123456789" } as const

/** A SKU as `GET /stock-items/:sku` answers it: its open reorder, and its units on hand, free, held and shipped. */
export interface StockItemView {
  readonly openPurchaseOrder: string | null
  readonly stock: {
    readonly onHand: number
    readonly available: number
    readonly held: number
    readonly confirmed: number
  }
}

/** An order line as the storefront's ingestion records it. */
export interface TestOrderLine {
  readonly sku: string
  readonly quantity: number
  readonly unitPriceMinor?: number
}

/**
 * One or more replicas of the procurement agent, each its own process, over the given NATS server
 * and the test Postgres, with the supplier simulator behind the connector; and what a spec does
 * with them: set up SKUs, play the storefront's orders into the customer stream (as the
 * customer-ops agent's ingestion appends them), receive goods, read the API and the log. A spec
 * running other agents beside it gives it their namespace and simulators, which it then leaves
 * running when it stops.
 */
export const startProcurement = async (
  natsUrl: string,
  options: {
    /** Names the fresh namespace the agent runs in, unless `namespace` is given. */
    readonly prefix?: string
    /** A namespace to join, shared with other agents of the spec. */
    readonly namespace?: string
    /** Simulators to use, shared with other agents of the spec; their owner stops them. */
    readonly simulators?: Simulators
    readonly replicas?: number
    /** Also run the conflict resolver, which checks the shop's invariants over the registers. */
    readonly resolver?: boolean
    readonly env?: Readonly<Record<string, string>>
  },
) => {
  const namespace = options.namespace ?? uniqueNamespace(options.prefix)
  const simulators: Simulators = options.simulators ?? (await startSimulators())
  const outputs: Array<string> = []
  const start = (index: number): ChildProcess => {
    const child = spawn(workspaceNode(), [join(import.meta.dirname, "..", "main.ts")], {
      env: {
        PATH: process.env.PATH ?? "",
        MESH_NATS_URL: natsUrl,
        MESH_NAMESPACE: namespace,
        MESH_DATABASE_URL: postgresTestUrl(),
        MESH_HTTP_HOST: "127.0.0.1",
        MESH_HTTP_PORT: "0",
        MESH_INSTANCE_ID: `procurement-${index}`,
        MESH_APPROVER_TOKENS: `${owner.name}=${owner.token}`,
        MESH_SUPPLIER_URL: simulators.supplier.url,
        MESH_CONNECTOR_TIMEOUT_MS: "2000",
        MESH_LATE_DELIVERY_CHECK_MS: "300",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    })
    outputs[index] = ""
    child.stdout?.on("data", (chunk) => (outputs[index] += chunk))
    child.stderr?.on("data", (chunk) => (outputs[index] += chunk))
    return child
  }
  const replicas = Array.from({ length: options.replicas ?? 1 }, (_, i) => start(i))
  const logs = () =>
    outputs
      .map(
        (o, i) =>
          `--- replica ${i}\n${o
            .split("\n")
            .filter((line) => !line.includes("action sweep could not list"))
            .join("\n")
            .slice(-3000)}`,
      )
      .join("\n")

  /** Waits for a probe; a replica exiting ends the wait, and a timeout shows their logs. */
  const until = <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 60_000) =>
    waitFor(what, probe, {
      timeoutMs,
      stopIf: () => (replicas.some((r) => r.exitCode !== null) ? `a replica exited:\n${logs()}` : undefined),
      detail: logs,
    })

  const urls: Array<string> = []
  for (const [index] of replicas.entries()) {
    const url = await until(
      `replica ${index} listens`,
      async () => /ready on (http:\/\/\S+)/.exec(outputs[index] ?? "")?.[1],
      90_000,
    )
    let notReady = ""
    await waitFor(
      `replica ${index} is ready`,
      async () => {
        if ((await fetch(`${url}/readyz`)).ok) return true
        notReady = await (await fetch(`${url}/status`)).text()
        return undefined
      },
      { timeoutMs: 30_000, detail: () => `${notReady.slice(0, 4000)}\n${logs()}` },
    )
    urls.push(url)
  }
  const url = urls[0] as string
  // The resolver is another agent's process, started by its path, as a deployment starts it.
  let resolver: ChildProcess | undefined
  if (options.resolver === true) {
    let resolverOutput = ""
    resolver = spawn(
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
    await waitFor(
      "the resolver is ready",
      async () => (/ready on /.test(resolverOutput) ? true : undefined),
      {
        timeoutMs: 90_000,
        detail: () => resolverOutput,
      },
    )
  }
  const connection: NatsHandles = await openNats(natsUrl)
  const log = makeEventLog({ nats: connection, catalog: meshCatalog, namespace })

  const call = (
    path: string,
    init: { method?: string; body?: unknown; token?: string | null } = {},
    at = url,
  ) =>
    fetch(`${at}${path}`, {
      method: init.method ?? "GET",
      headers: {
        "content-type": "application/json",
        ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? owner.token}` }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    })

  const json = async <A>(path: string): Promise<A> => {
    const response = await call(path)
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`)
    return (await response.json()) as A
  }

  /** Appends one order event to the customer stream, as the customer-ops agent's ingestion does. */
  const appendOrder = (
    orderId: string,
    events: ReadonlyArray<{ type: string; payload: unknown }>,
    step: string,
  ) =>
    Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type: "order", id: orderId },
        expected: "any",
        events: events as never,
        metadata: {
          correlationId: `order-${orderId}`,
          causationId: null,
          commandId: `order-${orderId}-${step}`,
          actor: { kind: "system", id: "storefront" },
        },
      }),
    )

  const status = (orderId: string, value: string, extra: Record<string, unknown> = {}) =>
    appendOrder(
      orderId,
      [
        {
          type: "OrderStatusChanged",
          payload: {
            status: value,
            carrier: null,
            trackingNumber: null,
            expectedDelivery: null,
            changedAt: "2026-12-01T10:00:00.000Z",
            ...extra,
          },
        },
      ],
      value,
    )

  const orders = {
    place: (orderId: string, lines: ReadonlyArray<TestOrderLine>, paid = false) =>
      appendOrder(
        orderId,
        [
          {
            type: "OrderPlaced",
            payload: {
              // The order's id is its tenant's (`tenantScopedId`), as customer ops ingests it.
              tenantId: parseTenantScopedId(orderId)?.tenantId ?? "shop",
              orderId: parseTenantScopedId(orderId)?.ownId ?? orderId,
              customerId: `c-${orderId}`,
              lines: lines.map((l) => ({
                sku: l.sku,
                name: l.sku,
                quantity: l.quantity,
                unitPrice: { amountMinor: l.unitPriceMinor ?? 1000, currency: "EUR" },
              })),
              total: {
                amountMinor: lines.reduce((n, l) => n + l.quantity * (l.unitPriceMinor ?? 1000), 0),
                currency: "EUR",
              },
              placedAt: "2026-12-01T09:00:00.000Z",
            },
          },
          ...(paid
            ? [
                {
                  type: "OrderStatusChanged",
                  payload: {
                    status: "paid",
                    carrier: null,
                    trackingNumber: null,
                    expectedDelivery: null,
                    changedAt: "2026-12-01T09:01:00.000Z",
                  },
                },
              ]
            : []),
        ],
        paid ? "placed-paid" : "placed",
      ),
    pay: (orderId: string) => status(orderId, "paid"),
    ship: (orderId: string) =>
      status(orderId, "shipped", {
        carrier: "DHL",
        trackingNumber: `T-${orderId}`,
        expectedDelivery: "2026-12-05",
      }),
    cancel: (orderId: string) => status(orderId, "cancelled", { reason: "changed their mind" }),
    return: (orderId: string, lines?: ReadonlyArray<{ sku: string; quantity: number }>) =>
      status(orderId, "returned", lines === undefined ? {} : { returnedLines: lines }),
  }

  /** Every event of the namespace's streams, in log order per stream. */
  const everything = async (): Promise<ReadonlyArray<EventEnvelope>> => {
    const all: Array<EventEnvelope> = []
    for (const domain of [
      "customer",
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

  /** The invariant violations the resolver recorded. */
  const violations = () => Effect.runPromise(makeConflicts(connection, namespace).violations)

  const stop = async () => {
    resolver?.kill("SIGTERM")
    for (const replica of replicas) replica.kill("SIGTERM")
    await Promise.all(
      replicas.map((r) =>
        r.exitCode !== null ? Promise.resolve() : new Promise((done) => r.once("exit", done)),
      ),
    )
    await connection.connection.drain()
    if (options.simulators === undefined) await simulators.stop()
    const client = new pg.Client({ connectionString: postgresTestUrl() })
    await client.connect()
    await client.query(`drop schema if exists "${readModelSchemaOf(namespace, procurementName)}" cascade`)
    await client.end()
  }

  return { url, urls, namespace, simulators, call, json, orders, everything, violations, until, logs, stop }
}

/** The procurement replicas a spec started. */
export type ProcurementProcess = Awaited<ReturnType<typeof startProcurement>>
