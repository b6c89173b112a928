import { type ChildProcess, spawn } from "node:child_process"
import { createHmac } from "node:crypto"
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

/** The corner shop's mail and chat gateway, the second tenant's. */
export const cornerGateway = { tenant: "corner", token: "corner-gateway-token-0123456789" } as const

/** The shop's storefront: its secret signs the webhooks of the tenant's orders. */
export const storefront = { tenant: "shop", secret: "storefront-secret-0123456789" } as const
/** A second shop on the same mesh, with its own storefront and secret. */
export const cornerStorefront = { tenant: "corner", secret: "corner-secret-0123456789abc" } as const

/** The `x-storefront-signature` of a webhook body under a secret, as the storefront computes it. */
export const storefrontSignature = (secret: string, body: string): string =>
  `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`

/** A support agent with an approver token whom the shop's policy does not name for refunds. */
export const clerk = { name: "clerk", token: "clerk-token-0123456789" } as const

/** A ticket as `GET /tickets/:id` answers it. */
export type TicketWithThread = TicketView & { readonly messages: ReadonlyArray<unknown> }

/**
 * The customer-ops agent in its own process for end-to-end specs, over the given NATS server and
 * the test Postgres, with the payment and mailbox simulators behind its connectors; and what a
 * spec does with it: send messages, read tickets and the log, post the storefront's webhooks, place
 * orders through them, and restart the agent on the same log and read model. A spec running other
 * agents beside it gives it their namespace and simulators, which it then leaves running when it stops.
 */
export const startCustomerOps = async (
  natsUrl: string,
  options: {
    /** Names the fresh namespace the agent runs in, unless `namespace` is given. */
    readonly prefix?: string
    /** A namespace to join, shared with other agents of the spec. */
    readonly namespace?: string
    /** Simulators to use, shared with other agents of the spec; their owner stops them. */
    readonly simulators?: Simulators
    readonly env?: Readonly<Record<string, string>>
  },
) => {
  const namespace = options.namespace ?? uniqueNamespace(options.prefix)
  const simulators: Simulators = options.simulators ?? (await startSimulators())
  // Its long-term memory (LanceDB) in a folder of its own, removed with it.
  const memoryDir = mkdtempSync(join(tmpdir(), "customer-ops-memory-"))
  ownTempDir(memoryDir)
  let output = ""
  let lastSeen: unknown
  const env = {
    PATH: process.env.PATH ?? "",
    MESH_NATS_URL: natsUrl,
    MESH_NAMESPACE: namespace,
    MESH_DATABASE_URL: postgresTestUrl(),
    MESH_HTTP_HOST: "127.0.0.1",
    MESH_HTTP_PORT: "0",
    MESH_APPROVER_TOKENS: `${owner.name}=${owner.token},${clerk.name}=${clerk.token}`,
    MESH_INTAKE_TOKENS: `${gateway.tenant}=${gateway.token},${cornerGateway.tenant}=${cornerGateway.token}`,
    MESH_STOREFRONT_WEBHOOK_SECRETS: JSON.stringify({
      [storefront.tenant]: storefront.secret,
      [cornerStorefront.tenant]: cornerStorefront.secret,
    }),
    // The storefront simulator lists the shop's orders (the corner shop's come by webhook only).
    MESH_STOREFRONT_TENANT: storefront.tenant,
    MESH_PAYMENT_URL: simulators.payment.url,
    MESH_MAILBOX_URL: simulators.mailbox.url,
    MESH_CONNECTOR_TIMEOUT_MS: "2000",
    MESH_MEMORY_DIR: memoryDir,
    ...options.env,
  }
  let agent: ChildProcess

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

  /** Starts the agent's process and waits until it is ready; the URL it listens on. */
  const launch = async (): Promise<string> => {
    const from = output.length
    agent = spawn(workspaceNode(), [join(import.meta.dirname, "..", "main.ts")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    })
    agent.stdout?.on("data", (chunk) => (output += chunk))
    agent.stderr?.on("data", (chunk) => (output += chunk))
    const listening = await until(
      "the agent listens",
      async () => /ready on (http:\/\/\S+)/.exec(output.slice(from))?.[1],
      90_000,
    )
    await until("the agent is ready", async () =>
      (await fetch(`${listening}/readyz`)).ok ? true : undefined,
    )
    return listening
  }

  let url = await launch()
  const connection: NatsHandles = await openNats(natsUrl)
  const log = makeEventLog({ nats: connection, catalog: meshCatalog, namespace })

  /** Posts a customer's message through a tenant's gateway (the shop's by default). */
  const send = (message: Record<string, unknown>, through: { readonly token: string } = gateway) =>
    fetch(`${url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${through.token}` },
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

  /**
   * Posts a storefront webhook of the given event, signed with `secret` (the shop's by default) over
   * the exact body sent, with the headers the storefront sends.
   */
  const postStorefrontEvent = (
    event: { readonly id: string; readonly topic: string } & Readonly<Record<string, unknown>>,
    options: { readonly secret?: string; readonly body?: string; readonly attempt?: number } = {},
  ) => {
    const body = options.body ?? JSON.stringify(event)
    return fetch(`${url}/storefront/webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-storefront-event-id": event.id,
        "x-storefront-topic": event.topic,
        "x-storefront-delivery-attempt": String(options.attempt ?? 1),
        "x-storefront-signature": storefrontSignature(options.secret ?? storefront.secret, body),
      },
      body,
    })
  }

  /** The storefront's orders, placed through its webhook, and visible in the customer's history. */
  const placeOrder = async (
    orderId: string,
    customerId: string,
    totalMinor: number,
    shipped?: { carrier: string; trackingNumber: string; expectedDelivery: string },
    placedAt = "2026-11-28T10:00:00.000Z",
  ) => {
    const updatedAt = shipped === undefined ? placedAt : "2026-11-29T08:00:00.000Z"
    const response = await postStorefrontEvent({
      id: `evt-place-${orderId}`,
      seq: 0,
      topic: shipped === undefined ? "orders/created" : "orders/shipped",
      occurredAt: updatedAt,
      order: {
        id: orderId,
        customerId,
        email: `${customerId}@example.com`,
        status: shipped === undefined ? "placed" : "shipped",
        lines: [{ sku: "LAMP-1", name: "Desk lamp", quantity: 1, unitPriceMinor: totalMinor }],
        currency: "EUR",
        totalMinor,
        placedAt,
        paidAt: null,
        shipment: shipped ?? null,
        cancelledAt: null,
        cancelReason: null,
        returnedAt: null,
        returnedLines: [],
        version: shipped === undefined ? 1 : 2,
        updatedAt,
      },
    })
    if (response.status !== 200)
      throw new Error(`order ${orderId} was not taken: ${response.status} ${await response.text()}`)
    await until(`order ${orderId} is in the customer's history`, async () => {
      const history = (await (await read(`/customers/${customerId}`)).json()) as {
        orders: ReadonlyArray<{ orderId: string; status: string }>
      }
      const order = history.orders.find((o) => o.orderId === orderId)
      return order !== undefined && (shipped === undefined || order.status === "shipped") ? true : undefined
    })
  }

  /** Stops the agent as a deployment does (SIGTERM, then its exit) and starts it again on the same log and read model. */
  const restart = async () => {
    const exited = new Promise((resolve) => agent.once("exit", resolve))
    agent.kill("SIGTERM")
    await exited
    url = await launch()
  }

  const stop = async () => {
    agent.kill("SIGTERM")
    await connection.connection.drain()
    if (options.simulators === undefined) await simulators.stop()
    const client = new pg.Client({ connectionString: postgresTestUrl() })
    await client.connect()
    await client.query(`drop schema if exists "${readModelSchemaOf(namespace, customerOpsName)}" cascade`)
    await client.end()
    await releaseTempDir(memoryDir)
  }

  return {
    /** Where the agent listens (a restart moves it). */
    get url() {
      return url
    },
    namespace,
    simulators,
    send,
    read,
    ticket,
    everything,
    approvals,
    postStorefrontEvent,
    placeOrder,
    until,
    restart,
    stop,
  }
}

/** The customer-ops agent a spec started. */
export type CustomerOpsProcess = Awaited<ReturnType<typeof startCustomerOps>>
