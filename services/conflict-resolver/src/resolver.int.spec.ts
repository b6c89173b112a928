import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { customerProfile, inventoryOnHand, stockReservations } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { makeConflicts, makeRegisters, type RegisterChangedEvent, type RegistersShape } from "@mesh/registers"
import { uniqueNamespace, waitFor, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

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
    expect(listed[0]!.resolution?.payload).toMatchObject({
      chosen: choice,
      changeEventId: written.change.eventId,
    })
    resolver.child.kill("SIGTERM")
  })
})
