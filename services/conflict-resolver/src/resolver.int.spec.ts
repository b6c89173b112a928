import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import {
  customerProfile,
  inventoryOnHand,
  listingStatus,
  meshCatalog,
  openPurchaseOrders,
  stockReservations,
  supplierExpectedDate,
} from "@mesh/contracts"
import {
  applyTopology,
  declareTopology,
  initialPosition,
  makeEventLog,
  type NatsHandles,
  openNats,
} from "@mesh/eventlog"
import { makeConflicts, makeRegisters, type RegisterChangedEvent, type RegistersShape } from "@mesh/registers"
import { uniqueNamespace, waitFor, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"

// Each spec starts the resolver twice, across a SIGKILL; under a full run's load one start alone
// can take most of a minute (see startResolver).
vi.setConfig({ testTimeout: 240_000 })

// The resolver runs as its own process, as it does in a deployment, at site "cloud" with peer
// "edge". Writers cut off from each other's site (no peers) make the concurrent values it merges.

const server = useNatsServer()
let nats: NatsHandles
const namespace = uniqueNamespace("resolver")
const main = join(import.meta.dirname, "main.ts")
const running: Array<ChildProcess> = []

beforeAll(async () => {
  nats = await openNats(server.url)
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
})
afterAll(async () => {
  for (const child of running) child.kill("SIGKILL")
  await nats?.connection.drain()
})

const startResolver = async () => {
  const child = spawn(workspaceNode(), [main], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      MESH_NATS_URL: server.url,
      MESH_DATABASE_URL: "pglite:memory",
      MESH_NAMESPACE: namespace,
      MESH_SITE: "cloud",
      MESH_PEER_SITES: "edge",
      MESH_INSTANCE_ID: "resolver-1",
      MESH_HTTP_HOST: "127.0.0.1",
      MESH_HTTP_PORT: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  running.push(child)
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const url = await waitFor(
    "the resolver to be ready",
    async () => /ready on (http:\/\/[^\s"]+)/.exec(output)?.[1],
    {
      stopIf: () =>
        child.exitCode === null ? undefined : `the resolver exited (${child.exitCode}):\n${output}`,
      detail: () => output,
      // A process start (loading its code, an in-memory PGlite) takes seconds alone, and over 30 s
      // beside a full run's other processes on 2 cores: one CI run waited that out with no output.
      timeoutMs: 90_000,
    },
  )
  return { child, url, output: () => output }
}

const open = (
  site: string,
  instance: string,
  peerSites: ReadonlyArray<string> = [],
  agent = "procurement",
): Promise<RegistersShape> =>
  Effect.runPromise(makeRegisters(nats, { namespace, agent, site, instance, peerSites }))

const merges = async (registers: RegistersShape, register: string, id: string) =>
  (await Effect.runPromise(registers.history(register, id))).filter(
    (change): change is RegisterChangedEvent => change.payload.change._tag === "Merge",
  )

describe("the conflict resolver", () => {
  it("merges concurrent site values by the register's rule, records the merge once, and catches up after a SIGKILL", async () => {
    const resolver = await startResolver()
    const cloud = await open("cloud", "c1")
    const edge = await open("edge", "e1")
    const observer = await open("cloud", "observer", ["edge"])

    // Both sites count sales without seeing each other.
    const cloudWrite = await Effect.runPromise(
      cloud.write(inventoryOnHand, "SKU-1", { _tag: "Add", amount: -1 }),
    )
    const edgeWrite = await Effect.runPromise(
      edge.write(inventoryOnHand, "SKU-1", { _tag: "Add", amount: -2 }),
    )

    const [merge] = await waitFor("the resolver's merge of SKU-1", async () => {
      const found = await merges(observer, "inventory-on-hand", "SKU-1")
      return found.length > 0 ? found : undefined
    })
    expect(merge!.payload).toMatchObject({
      site: "cloud",
      change: {
        _tag: "Merge",
        writer: "cloud/conflict-resolver/resolver-1",
        rule: "counter merge",
        inputs: [
          { site: "cloud", context: { "cloud/procurement/c1": 1 } },
          { site: "edge", context: { "edge/procurement/e1": 1 } },
        ],
      },
      snapshot: { context: { "cloud/procurement/c1": 1, "edge/procurement/e1": 1 } },
    })
    expect(merge!.actor).toEqual({ kind: "agent", id: "conflict-resolver" })
    const after = await Effect.runPromise(observer.read(inventoryOnHand, "SKU-1"))
    expect(after.value).toBe(-3)
    expect(after.concurrent).toBe(false)
    // Caused by a change of the instance that reached its watch, in that change's causal chain.
    const cause = [cloudWrite.change, edgeWrite.change].find((c) => c.eventId === merge!.causationId)
    expect(cause).toBeDefined()
    expect(merge!.correlationId).toBe(cause!.correlationId)

    // Killed outright, it resolves on restart what arrived while it was down, and nothing twice.
    resolver.child.kill("SIGKILL")
    await new Promise((resolve) => resolver.child.once("exit", resolve))
    await Effect.runPromise(cloud.write(stockReservations, "SKU-2", { _tag: "Restock", quantity: 2 }))
    await Effect.runPromise(edge.write(stockReservations, "SKU-2", { _tag: "Restock", quantity: 3 }))
    const restarted = await startResolver()
    await waitFor("the merge of SKU-2 after the restart", async () => {
      const found = await merges(observer, "stock-reservations", "SKU-2")
      return found.length > 0 ? found : undefined
    })
    const stock = await Effect.runPromise(observer.read(stockReservations, "SKU-2"))
    expect(stock.value).toMatchObject({ available: 5, availableBySite: { cloud: 2, edge: 3 } })
    expect(await merges(observer, "inventory-on-hand", "SKU-1")).toHaveLength(1)
    expect(await merges(observer, "stock-reservations", "SKU-2")).toHaveLength(1)

    const status = await (await fetch(`${restarted.url}/status`)).json()
    expect(JSON.stringify(status)).toContain('"resolved":1')
  })

  it("puts siblings no merge settles to a human once, and writes the answer bound to the values shown", async () => {
    const resolver = await startResolver()
    const support = await open("cloud", "s1", ["edge"], "customer-ops")
    const orders = await open("cloud", "o1", ["edge"], "procurement")
    await Effect.runPromise(
      support.write(customerProfile, "C-7", { _tag: "Set", value: { email: "old@example.com" } }),
    )
    const stale = await Effect.runPromise(orders.read(customerProfile, "C-7"))
    await Effect.runPromise(
      support.write(customerProfile, "C-7", { _tag: "Set", value: { email: "new@example.com" } }),
    )
    await Effect.runPromise(
      orders.write(
        customerProfile,
        "C-7",
        { _tag: "Set", value: { email: "old@example.com", shippingAddress: "1 Main St" } },
        { observed: stale.snapshot.context },
      ),
    )

    const conflicts = makeConflicts(nats, namespace)
    const [conflict] = await waitFor("the escalation of C-7", async () => {
      const open = (await Effect.runPromise(conflicts.list)).filter((c) => c.escalation.payload.id === "C-7")
      return open.length > 0 ? open : undefined
    })
    const escalated = conflict!.escalation.payload
    expect(escalated).toMatchObject({
      register: "customer-profile",
      owner: "customer-ops",
      kind: "multi-value",
    })
    expect(escalated.values).toHaveLength(2)
    expect(conflict!.resolution).toBeUndefined()

    // The owner's side answers; a digest of other values is refused, and nothing is written.
    const owner = await open("cloud", "maria", ["edge"], "customer-ops")
    const wrong = await Effect.runPromiseExit(
      conflicts.answer(customerProfile, owner, {
        conflictId: escalated.conflictId,
        choose: 0,
        valuesSha256: "0".repeat(64),
        actor: { kind: "human", id: "maria" },
      }),
    )
    expect(String(wrong)).toContain("the answer names values 000000000000")
    const choice = escalated.values.findIndex((v) => JSON.stringify(v).includes("1 Main St"))
    const written = await Effect.runPromise(
      conflicts.answer(customerProfile, owner, {
        conflictId: escalated.conflictId,
        choose: choice,
        valuesSha256: escalated.valuesSha256,
        actor: { kind: "human", id: "maria" },
      }),
    )
    expect(written.change.actor).toEqual({ kind: "human", id: "maria" })
    const settled = await Effect.runPromise(support.read(customerProfile, "C-7"))
    expect(settled.value).toEqual([{ email: "old@example.com", shippingAddress: "1 Main St" }])
    expect(settled.unresolved).toEqual([])

    const again = await Effect.runPromiseExit(
      conflicts.answer(customerProfile, owner, {
        conflictId: escalated.conflictId,
        choose: 0,
        valuesSha256: escalated.valuesSha256,
        actor: { kind: "human", id: "maria" },
      }),
    )
    expect(String(again)).toContain("already resolved")
    const listed = (await Effect.runPromise(conflicts.list)).filter((c) => c.escalation.payload.id === "C-7")
    expect(listed).toHaveLength(1)
    expect(listed[0]!.resolution?.payload).toMatchObject({ chosen: choice })
    // The answer is recorded before it is written: the register change names it as its cause.
    expect(written.change.causationId).toBe(listed[0]!.resolution!.eventId)
    resolver.child.kill("SIGTERM")
  })

  it("records each invariant violation once with its declared resolution, and compensates the later of two purchase orders once, across a SIGKILL", async () => {
    // Two purchase orders placed by procurement: succeeded actions that declare a compensation.
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const placed = async (actionId: string) => {
      const request = {
        actionId,
        agent: "procurement",
        skill: "chooseSupplier",
        kind: "supplier.place-order",
        parameters: { sku: "SKU-P", supplierId: "acme", quantity: 10 },
        cause: { decisionId: null, eventId: "e-1" },
        saga: null,
        compensation: { kind: "supplier.cancel-order", parameters: { sku: "SKU-P" } },
        maxAttempts: 3,
      }
      await Effect.runPromise(
        log.append({
          aggregate: { domain: "actions", type: "procurement", id: actionId },
          expected: initialPosition,
          events: [
            {
              type: "ActionRequested",
              payload: {
                ...request,
                parametersHash: "a".repeat(64),
                policy: {
                  workflow: "reorders",
                  version: "1",
                  verdict: { mode: "auto", reason: "under the threshold", rule: "default" },
                  inputs: {
                    amount: null,
                    confidence: null,
                    sentiment: null,
                    firstTimeSupplier: false,
                    actionsLastHour: 0,
                    spendToday: null,
                  },
                },
                approvalTtlMs: 3_600_000,
                requestedAt: "2026-12-02T08:00:00.000Z",
              },
            },
            {
              type: "ActionAttemptStarted",
              payload: {
                phase: "execute",
                attempt: 1,
                trigger: "first",
                startedAt: "2026-12-02T08:00:01.000Z",
              },
            },
            {
              type: "ActionSucceeded",
              payload: {
                attempt: 1,
                externalRef: `po-${actionId}`,
                result: {},
                completedAt: "2026-12-02T08:00:02.000Z",
              },
            },
          ],
          metadata: {
            correlationId: actionId,
            causationId: null,
            actor: { kind: "agent", id: "procurement" },
          },
        }),
      )
    }
    const earlier = "0195f2a0-0000-7000-8000-000000000001"
    const later = "0195f2a0-0001-7000-8000-000000000002"
    await placed(earlier)
    await placed(later)

    const resolver = await startResolver()
    // Two replicas of procurement reorder on the same stale view: both orders open with acme.
    const first = await open("cloud", "p1", ["edge"])
    const second = await open("cloud", "p2", ["edge"])
    const view = await Effect.runPromise(second.read(openPurchaseOrders, "SKU-P"))
    await Effect.runPromise(
      first.write(openPurchaseOrders, "SKU-P", {
        _tag: "Add",
        element: { purchaseOrderId: "PO-1", supplierId: "acme", actionId: earlier },
      }),
    )
    await Effect.runPromise(
      second.write(
        openPurchaseOrders,
        "SKU-P",
        { _tag: "Add", element: { purchaseOrderId: "PO-2", supplierId: "acme", actionId: later } },
        { observed: view.snapshot.context },
      ),
    )
    const conflicts = makeConflicts(nats, namespace)
    const violationsOf = async (invariant: string) =>
      (await Effect.runPromise(conflicts.violations)).filter((v) => v.payload.invariant === invariant)
    const [violation] = await waitFor("the duplicate purchase order's violation", async () => {
      const found = await violationsOf("one-purchase-order-per-supplier")
      return found.length > 0 ? found : undefined
    })
    expect(violation!.payload).toMatchObject({
      owner: "procurement",
      id: "SKU-P",
      subject: "duplicate-PO-2",
      resolution: { _tag: "Compensate", agent: "procurement", actionId: later },
    })
    const compensations = async (actionId: string) =>
      (
        await Effect.runPromise(log.load({ domain: "actions", type: "procurement", id: actionId }))
      ).events.filter((e) => e.type === "ActionCompensationRequested")
    const [compensation] = await waitFor("the later order's compensation", async () => {
      const found = await compensations(later)
      return found.length > 0 ? found : undefined
    })
    expect(compensation!.causationId).toBe(violation!.eventId)
    expect(await compensations(earlier)).toEqual([])

    // A listing published with nothing on hand: a command to content ops. A date promised with no
    // order behind it: an escalation.
    const content = await open("cloud", "c1", ["edge"], "content-ops")
    await Effect.runPromise(content.write(listingStatus, "SKU-Q", { _tag: "Set", status: "published" }))
    await Effect.runPromise(
      first.write(supplierExpectedDate, "SKU-Q", { _tag: "Offer", value: "2026-12-09T00:00:00.000Z" }),
    )
    const [command] = await waitFor("the published listing's violation", async () => {
      const found = await violationsOf("published-listing-has-stock")
      return found.length > 0 ? found : undefined
    })
    expect(command!.payload.resolution).toEqual({
      _tag: "Command",
      agent: "content-ops",
      command: "MarkListingOutOfStock",
      payload: { sku: "SKU-Q" },
    })
    const [escalation] = await waitFor("the promised date's violation", async () => {
      const found = await violationsOf("promised-date-has-purchase-order")
      return found.length > 0 ? found : undefined
    })
    expect(escalation!.payload.resolution).toEqual({ _tag: "Escalate" })

    // Seen again after a SIGKILL (the sweep) and on later changes: recorded once, compensated once.
    resolver.child.kill("SIGKILL")
    await new Promise((resolve) => resolver.child.once("exit", resolve))
    await Effect.runPromise(first.write(inventoryOnHand, "SKU-Q", { _tag: "Add", amount: 0 }))
    const restarted = await startResolver()
    await Effect.runPromise(
      first.write(openPurchaseOrders, "SKU-P", {
        _tag: "Add",
        element: {
          purchaseOrderId: "PO-3",
          supplierId: "globex",
          actionId: "0195f2a0-0002-7000-8000-000000000003",
        },
      }),
    )
    await waitFor("the restarted resolver to check SKU-P again", async () => {
      const status = await (await fetch(`${restarted.url}/status`)).text()
      return status.includes('"violations"') ? status : undefined
    })
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await violationsOf("one-purchase-order-per-supplier")).toHaveLength(1)
    expect(await violationsOf("published-listing-has-stock")).toHaveLength(1)
    expect(await violationsOf("promised-date-has-purchase-order")).toHaveLength(1)
    expect(await compensations(later)).toHaveLength(1)
    restarted.child.kill("SIGTERM")
  })
})
