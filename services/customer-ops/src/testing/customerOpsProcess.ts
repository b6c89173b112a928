import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Domain, type EventEnvelope, meshCatalog } from "@mesh/contracts"
import { makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { readModelSchemaOf } from "@mesh/kernel"
import { type Simulators, startSimulators } from "@mesh/simulators"
import {
  ownTempDir,
  postgresTestUrl,
  releaseTempDir,
  uniqueNamespace,
  waitFor,
  workspaceNode,
} from "@mesh/stack"
import { Effect, Stream } from "effect"
import pg from "pg"
import { customerOpsName } from "../config.ts"
import type { TicketView } from "../projections/customerCare.ts"

/** The owner's approver identity and token in the agent the tests start. */
export const owner = { name: "owner", token: "owner-token-0123456789" } as const

/** The shop's mail and chat gateway: its token makes a message the tenant's. */
export const gateway = { tenant: "shop", token: "gateway-token-0123456789" } as const

/** A support agent with an approver token whom the shop's policy does not name for refunds. */
export const clerk = { name: "clerk", token: "clerk-token-0123456789" } as const

/** A ticket as `GET /tickets/:id` answers it. */
export type TicketWithThread = TicketView & { readonly messages: ReadonlyArray<unknown> }

/**
 * The customer-ops agent in its own process for end-to-end specs, over the given NATS server and
 * the test Postgres, with the payment and mailbox simulators behind its connectors; and what a
 * spec does with it: send messages, read tickets and the log, place the storefront's orders.
 */
export const startCustomerOps = async (
  natsUrl: string,
  options: { readonly prefix: string; readonly env?: Readonly<Record<string, string>> },
) => {
  const namespace = uniqueNamespace(options.prefix)
  const simulators: Simulators = await startSimulators()
  // Its long-term memory (LanceDB) in a folder of its own, removed with it.
  const memoryDir = mkdtempSync(join(tmpdir(), "customer-ops-memory-"))
  ownTempDir(memoryDir)
  let output = ""
  let lastSeen: unknown
  const agent: ChildProcess = spawn(workspaceNode(), [join(import.meta.dirname, "..", "main.ts")], {
    env: {
      PATH: process.env.PATH ?? "",
      MESH_NATS_URL: natsUrl,
      MESH_NAMESPACE: namespace,
      MESH_DATABASE_URL: postgresTestUrl(),
      MESH_HTTP_HOST: "127.0.0.1",
      MESH_HTTP_PORT: "0",
      MESH_APPROVER_TOKENS: `${owner.name}=${owner.token},${clerk.name}=${clerk.token}`,
      MESH_INTAKE_TOKENS: `${gateway.tenant}=${gateway.token}`,
      MESH_PAYMENT_URL: simulators.payment.url,
      MESH_MAILBOX_URL: simulators.mailbox.url,
      MESH_CONNECTOR_TIMEOUT_MS: "2000",
      MESH_MEMORY_DIR: memoryDir,
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  agent.stdout?.on("data", (chunk) => (output += chunk))
  agent.stderr?.on("data", (chunk) => (output += chunk))

  /** Waits for a probe; the agent exiting ends the wait, and a timeout shows its log and the last ticket read. */
  const until = <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 30_000) =>
    waitFor(what, probe, {
      timeoutMs,
      stopIf: () => (agent.exitCode !== null ? `the agent exited: ${output}` : undefined),
      detail: () =>
        `${output
          .split("\n")
          // Until the actions read model is set up, the executor's sweep finds no table: noise here.
          .filter((line) => !line.includes("action sweep could not list"))
          .join("\n")
          .slice(-4000)}\nlast ticket seen: ${JSON.stringify(lastSeen)}`,
    })

  const url = await until(
    "the agent listens",
    async () => /ready on (http:\/\/\S+)/.exec(output)?.[1],
    90_000,
  )
  await until("the agent is ready", async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined))
  const connection: NatsHandles = await openNats(natsUrl)
  const log = makeEventLog({ nats: connection, catalog: meshCatalog, namespace })

  const send = (message: Record<string, unknown>) =>
    fetch(`${url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${gateway.token}` },
      body: JSON.stringify({ channel: "email", ...message }),
    })

  /** A GET of the agent's API as the owner (its ticket and customer routes need an approver token). */
  const read = (path: string) =>
    fetch(`${url}${path}`, { headers: { authorization: `Bearer ${owner.token}` } })

  const ticket = async (ticketId: string): Promise<TicketWithThread | undefined> => {
    const response = await read(`/tickets/${ticketId}`)
    lastSeen = response.ok ? await response.json() : response.status
    return response.ok ? (lastSeen as TicketWithThread) : undefined
  }

  /** Every event of the namespace's streams, in log order per stream. */
  const everything = async (): Promise<ReadonlyArray<EventEnvelope>> => {
    const all: Array<EventEnvelope> = []
    for (const domain of [
      "customer",
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

  /** The approvals queue as the owner sees it. */
  const approvals = async (): Promise<ReadonlyArray<Record<string, unknown>>> => {
    const response = await fetch(`${url}/approvals`, { headers: { authorization: `Bearer ${owner.token}` } })
    return ((await response.json()) as { queue?: ReadonlyArray<Record<string, unknown>> }).queue ?? []
  }

  /** The storefront's orders, as its ingestion puts them in the log, and visible in the customer's history. */
  const placeOrder = async (
    orderId: string,
    customerId: string,
    totalMinor: number,
    shipped?: { carrier: string; trackingNumber: string; expectedDelivery: string },
    placedAt = "2026-11-28T10:00:00.000Z",
  ) => {
    await Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type: "order", id: orderId },
        expected: "any",
        events: [
          {
            type: "OrderPlaced",
            payload: {
              tenantId: "shop",
              customerId,
              lines: [
                {
                  sku: "LAMP-1",
                  name: "Desk lamp",
                  quantity: 1,
                  unitPrice: { amountMinor: totalMinor, currency: "EUR" },
                },
              ],
              total: { amountMinor: totalMinor, currency: "EUR" },
              placedAt,
            },
          },
          ...(shipped === undefined
            ? []
            : [
                {
                  type: "OrderStatusChanged" as const,
                  payload: { status: "shipped" as const, ...shipped, changedAt: "2026-11-29T08:00:00.000Z" },
                },
              ]),
        ],
        metadata: {
          correlationId: `order-${orderId}`,
          causationId: null,
          commandId: `order-${orderId}`,
          actor: { kind: "system", id: "storefront" },
        },
      }),
    )
    await until(`order ${orderId} is in the customer's history`, async () => {
      const history = (await (await read(`/customers/${customerId}`)).json()) as {
        orders: ReadonlyArray<{ orderId: string; status: string }>
      }
      const order = history.orders.find((o) => o.orderId === orderId)
      return order !== undefined && (shipped === undefined || order.status === "shipped") ? true : undefined
    })
  }

  const stop = async () => {
    agent.kill("SIGTERM")
    await connection.connection.drain()
    await simulators.stop()
    const client = new pg.Client({ connectionString: postgresTestUrl() })
    await client.connect()
    await client.query(`drop schema if exists "${readModelSchemaOf(namespace, customerOpsName)}" cascade`)
    await client.end()
    await releaseTempDir(memoryDir)
  }

  return { url, namespace, simulators, send, read, ticket, everything, approvals, placeOrder, until, stop }
}

/** The customer-ops agent a spec started. */
export type CustomerOpsProcess = Awaited<ReturnType<typeof startCustomerOps>>
