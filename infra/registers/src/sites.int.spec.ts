import {
  canonicalJson,
  customerProfile,
  inventoryOnHand,
  type RegisterDefinition,
  shopRegisters,
  stockReservations,
} from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { uniqueNamespace, waitFor } from "@mesh/stack"
import type { StreamSource } from "@nats-io/jetstream"
import { Kvm, KvWatchInclude } from "@nats-io/kv"
import { Effect, Exit, Fiber } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RegisterError } from "./registerError.ts"
import { makeRegisters, type RegistersShape } from "./registers.ts"
import {
  applyReplication,
  declareReplication,
  type ReplicationDeclaration,
  replicationStatus,
  superviseReplication,
} from "./sites.ts"
import { startTwoSites, type TwoSites } from "./testing/twoSites.ts"

// Two sites, each its own nats-server and JetStream domain, joined by a leafnode link through a
// proxy the test cuts and heals: the register buckets replicate each site's own keys to the other.

let sites: TwoSites
let cloud: NatsHandles
let edge: NatsHandles
const supervisors: Array<Fiber.Fiber<never>> = []

beforeAll(async () => {
  sites = await startTwoSites()
  cloud = await openNats(sites.cloud.url, "cloud")
  edge = await openNats(sites.edge.url, "edge")
})
afterAll(async () => {
  await Promise.all(supervisors.map((f) => Effect.runPromise(Fiber.interrupt(f))))
  await cloud?.connection.drain()
  await edge?.connection.drain()
  await sites?.stop()
})

const run = <A>(effect: Effect.Effect<A, RegisterError>) => Effect.runPromise(effect)
const failureIn = <A>(exit: Exit.Exit<A, RegisterError>): RegisterError => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail")
    throw new Error(`expected a typed failure: ${String(exit.cause)}`)
  return error.error
}
const failureOf = async <A>(effect: Effect.Effect<A, RegisterError>): Promise<RegisterError> =>
  failureIn(await Effect.runPromiseExit(effect))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN

/** A namespace's topology at both sites, each bucket sourcing the other site's keys, supervised. */
const replicatedNamespace = async (prefix: string) => {
  const namespace = uniqueNamespace(prefix)
  const declared = {
    cloud: declareReplication({ namespace, site: "cloud", peers: ["edge"] }),
    edge: declareReplication({ namespace, site: "edge", peers: ["cloud"] }),
  }
  for (const [nats, declaration] of [
    [cloud, declared.cloud],
    [edge, declared.edge],
  ] as const) {
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    expect(await run(applyReplication(nats.jsm, declaration))).toMatchObject({ outcome: "created" })
    supervisors.push(Effect.runFork(superviseReplication(nats, declaration)))
  }
  return { namespace, declared }
}

const bucketStream = (nats: NatsHandles, declaration: ReplicationDeclaration) =>
  nats.jsm.streams.info(declaration.stream).then((info) => info.config)

describe("replication of register buckets between two sites", () => {
  it("gives a site's bucket one source per peer, reached through the peer's JetStream domain", async () => {
    const namespace = uniqueNamespace("decl")
    const declaration = declareReplication({
      namespace,
      site: "cloud",
      peers: [{ site: "edge", domain: "edge" }],
    })
    expect(() => declareReplication({ namespace, site: "cloud", peers: ["cloud"] })).toThrow(
      "site cloud is listed among its own peers",
    )
    const tooEarly = await failureOf(applyReplication(cloud.jsm, declaration))
    expect(tooEarly.message).toContain("apply the namespace's topology first")
    await Effect.runPromise(applyTopology(cloud.jsm, declareTopology({ namespace })))
    const before = await bucketStream(cloud, declaration)

    expect(await run(applyReplication(cloud.jsm, declaration))).toMatchObject({
      outcome: "created",
      drift: [{ problem: "missing", peer: "edge" }],
    })
    const after = await bucketStream(cloud, declaration)
    expect(after.sources).toEqual([
      {
        name: `KV_${namespace}_registers`,
        filter_subject: `$KV.${namespace}_registers.*.*.edge`,
        opt_start_seq: 1,
        external: { api: "$JS.edge.API", deliver: "" },
      },
    ])
    // Only the sources changed: the bucket keeps what its client library and the topology set.
    expect({ ...after, sources: undefined }).toEqual({ ...before, sources: undefined })
    expect(await run(applyReplication(cloud.jsm, declaration))).toEqual({
      stream: declaration.stream,
      outcome: "unchanged",
      drift: [],
    })
  })

  it("puts back a declared source that went missing from the bucket stream", async () => {
    const namespace = uniqueNamespace("restore")
    await Effect.runPromise(applyTopology(cloud.jsm, declareTopology({ namespace })))
    const declaration = declareReplication({ namespace, site: "cloud", peers: ["edge"] })
    await run(applyReplication(cloud.jsm, declaration))
    // As a resume cut short between taking the source off and putting it back would leave it.
    await cloud.jsm.streams.update(declaration.stream, { sources: [] })
    const supervisor = Effect.runFork(superviseReplication(cloud, declaration, { intervalMs: 50 }))
    try {
      const restored = await waitFor("the source to be back", async () => {
        const sources = (await bucketStream(cloud, declaration)).sources ?? []
        return sources.length > 0 ? sources : undefined
      })
      expect(restored).toMatchObject([{ filter_subject: declaration.peers[0]!.source.filter_subject }])
    } finally {
      await Effect.runPromise(Fiber.interrupt(supervisor))
    }
  })

  it("reports a different, missing or undeclared source and fixes it only when asked to update", async () => {
    const namespace = uniqueNamespace("drift")
    await Effect.runPromise(applyTopology(cloud.jsm, declareTopology({ namespace })))
    const declaration = declareReplication({ namespace, site: "cloud", peers: ["edge"] })
    await run(applyReplication(cloud.jsm, declaration))
    const before = await bucketStream(cloud, declaration)
    const declared = declaration.peers[0]!.source

    // Someone widened the filter: every key of the edge's bucket would come in, cloud's own included.
    const widened: StreamSource = { ...declared, filter_subject: `$KV.${declaration.bucket}.>` }
    await cloud.jsm.streams.update(declaration.stream, { sources: [widened] })
    const drifted = await run(applyReplication(cloud.jsm, declaration))
    expect(drifted).toMatchObject({
      outcome: "drifted",
      drift: [
        { peer: "edge", problem: "different", actual: { filter_subject: `$KV.${declaration.bucket}.>` } },
      ],
    })
    expect((await bucketStream(cloud, declaration)).sources?.[0]?.filter_subject).toBe(
      `$KV.${declaration.bucket}.>`,
    )
    expect(await run(applyReplication(cloud.jsm, declaration, "update"))).toMatchObject({
      outcome: "updated",
    })
    expect(await run(applyReplication(cloud.jsm, declaration))).toMatchObject({ outcome: "unchanged" })

    // The edge's source replaced by one from a domain nobody declared.
    const stranger: StreamSource = { ...declared, external: { api: "$JS.elsewhere.API" } }
    await cloud.jsm.streams.update(declaration.stream, { sources: [stranger] })
    expect(await run(applyReplication(cloud.jsm, declaration))).toMatchObject({
      outcome: "drifted",
      drift: [
        { peer: "edge", problem: "missing", actual: null },
        { peer: null, problem: "unexpected", actual: { external: { api: "$JS.elsewhere.API" } } },
      ],
    })
    expect(await run(applyReplication(cloud.jsm, declaration, "update"))).toMatchObject({
      outcome: "updated",
    })
    const fixed = await bucketStream(cloud, declaration)
    expect(fixed.sources?.map((s) => s.external?.api)).toEqual(["$JS.edge.API"])
    expect({ ...fixed, sources: undefined }).toEqual({ ...before, sources: undefined })
  })

  it("keeps both sites working through a partition and converges within 10 s of the heal, losing nothing", async () => {
    const { namespace, declared } = await replicatedNamespace("part")
    const open = (nats: NatsHandles, site: "cloud" | "edge", agent: string, instance: string) =>
      run(
        makeRegisters(nats, {
          namespace,
          agent,
          site,
          peerSites: [site === "cloud" ? "edge" : "cloud"],
          instance,
        }),
      )
    const atCloud = await Promise.all([
      open(cloud, "cloud", "procurement", "c1"),
      open(cloud, "cloud", "procurement", "c2"),
      open(cloud, "cloud", "procurement", "c3"),
      open(cloud, "cloud", "customer-ops", "c4"),
    ])
    const atEdge = await Promise.all([
      open(edge, "edge", "customer-ops", "e1"),
      open(edge, "edge", "customer-ops", "e2"),
      open(edge, "edge", "customer-ops", "e3"),
      open(edge, "edge", "procurement", "e4"),
    ])
    const [c1, , , c4] = atCloud as [RegistersShape, RegistersShape, RegistersShape, RegistersShape]
    const [e1, , , e4] = atEdge as [RegistersShape, RegistersShape, RegistersShape, RegistersShape]
    const everyWriter = [...atCloud, ...atEdge]
    let counted = 0
    const countsAt = { cloud: 0, edge: 0 }
    const count = async (registers: RegistersShape, amount: number) => {
      await run(registers.write(inventoryOnHand, "SKU-P", { _tag: "Add", amount }))
      counted += amount
      countsAt[registers.site as keyof typeof countsAt]++
    }

    /** Both sites read every register instance either holds, merged, as the same canonical JSON. */
    const sameEverywhere = async (): Promise<true | undefined> => {
      const listed = [...(await run(c1.list())), ...(await run(e1.list()))]
      const instances = new Map(listed.map((i) => [`${i.register}/${i.id}`, i]))
      for (const { register, id } of instances.values()) {
        const definition = shopRegisters.find((r) => r.name === register) as RegisterDefinition | undefined
        if (definition === undefined) throw new Error(`no register ${register}`)
        const [a, b] = await Promise.all([run(c1.read(definition, id)), run(e1.read(definition, id))])
        if (canonicalJson(a.snapshot) !== canonicalJson(b.snapshot)) return undefined
      }
      return instances.size > 0 ? true : undefined
    }

    // Before the cut: stock arrives at the cloud, which gives the edge rights to 4 units; sales count at both.
    await run(c1.write(stockReservations, "SKU-P", { _tag: "Restock", quantity: 10 }))
    await run(c1.write(stockReservations, "SKU-P", { _tag: "Transfer", to: "edge", quantity: 4 }))
    await Promise.all(everyWriter.map((w) => count(w, 1)))
    await run(c4.write(customerProfile, "C-1", { _tag: "Set", value: { email: "first@example.com" } }))
    await waitFor("the sites to agree before the cut", sameEverywhere, { timeoutMs: 10_000 })
    expect((await run(e1.read(stockReservations, "SKU-P"))).value.availableBySite).toEqual({
      cloud: 6,
      edge: 4,
    })

    // Steady-state lag: a write acknowledged at one site, until the other site's bucket holds it.
    const lags: Array<number> = []
    for (const [from, to, site] of [
      [e1, cloud, "edge"],
      [c1, edge, "cloud"],
    ] as const) {
      const kv = await new Kvm(to.connection).open(declared.cloud.bucket)
      const watch = await kv.watch({
        key: `inventory-on-hand.SKU-LAG.${site}`,
        include: KvWatchInclude.UpdatesOnly,
      })
      const arrivals = watch[Symbol.asyncIterator]()
      for (let i = 0; i < 25; i++) {
        const arrived = arrivals.next()
        await run(from.write(inventoryOnHand, "SKU-LAG", { _tag: "Add", amount: 1 }))
        const acknowledged = performance.now()
        await arrived
        lags.push(performance.now() - acknowledged)
      }
      watch.stop()
    }
    lags.sort((a, b) => a - b)

    // The cut: from here neither site hears from the other.
    const edgeSawOfCloud = (await run(e1.read(stockReservations, "SKU-P"))).sites.find(
      (s) => s.site === "cloud",
    )
    const cloudSawOfEdge = (await run(c1.read(inventoryOnHand, "SKU-P"))).sites.find((s) => s.site === "edge")
    sites.link.cut()
    const cutAt = performance.now()
    await sites.waitUnlinked()

    // Every writer at both sites counts stock in and out; the edge gets a delivery of 2 units of its own.
    const counting = Promise.all(
      everyWriter.map(async (w, i) => {
        for (let n = 0; n < 5; n++) await count(w, n === 2 ? -1 : 1 + ((i + n) % 3))
      }),
    )
    await run(e4.write(stockReservations, "SKU-P", { _tag: "Restock", quantity: 2 }))
    // Each site promises up to its own rights (edge 4 + 2, cloud 10 - 4), racing its own writers.
    const takes = (writers: ReadonlyArray<RegistersShape>, orders: ReadonlyArray<string>, quantity: number) =>
      Promise.all(
        orders.map((reservation, i) =>
          Effect.runPromiseExit(
            writers[i % writers.length]!.write(stockReservations, "SKU-P", {
              _tag: "Take",
              reservation,
              quantity,
            }),
          ),
        ),
      )
    const [edgeTakes, cloudTakes] = await Promise.all([
      takes(atEdge, ["e-o1", "e-o2", "e-o3", "e-o4"], 2),
      takes(atCloud, ["c-o1", "c-o2", "c-o3"], 3),
    ])
    expect(edgeTakes.filter(Exit.isSuccess)).toHaveLength(3)
    expect(cloudTakes.filter(Exit.isSuccess)).toHaveLength(2)
    for (const refused of [...edgeTakes, ...cloudTakes].filter(Exit.isFailure)) {
      expect(failureIn(refused).reason).toMatchObject({ rejection: { _tag: "BoundExceeded", available: 0 } })
    }
    // One unit more is refused at either site: neither may promise the other's rights while apart.
    for (const [registers, reservation] of [
      [e1, "e-over"],
      [c1, "c-over"],
    ] as const) {
      const over = await failureOf(
        registers.write(stockReservations, "SKU-P", { _tag: "Take", reservation, quantity: 1 }),
      )
      expect(over.reason).toMatchObject({
        _tag: "Rejected",
        rejection: { _tag: "BoundExceeded", requested: 1, available: 0 },
      })
    }
    const takenAt = (outcomes: typeof edgeTakes, orders: ReadonlyArray<string>) =>
      orders.filter((_, i) => Exit.isSuccess(outcomes[i]!))
    const [edgeOrder] = takenAt(edgeTakes, ["e-o1", "e-o2", "e-o3", "e-o4"])
    const [cloudOrder] = takenAt(cloudTakes, ["c-o1", "c-o2", "c-o3"])
    await run(e1.write(stockReservations, "SKU-P", { _tag: "Confirm", reservation: edgeOrder! }))
    await run(c1.write(stockReservations, "SKU-P", { _tag: "Confirm", reservation: cloudOrder! }))
    // Support at each site edits the same customer.
    await Promise.all([
      run(c4.write(customerProfile, "C-1", { _tag: "Set", value: { email: "cloud@example.com" } })),
      run(e1.write(customerProfile, "C-1", { _tag: "Set", value: { email: "edge@example.com" } })),
    ])
    await counting

    // Each site kept working on what it had: neither has heard from the other since the cut.
    const edgeView = await run(e1.read(stockReservations, "SKU-P"))
    expect(edgeView.sites.find((s) => s.site === "cloud")?.version).toBe(edgeSawOfCloud?.version)
    expect(edgeView.value).toMatchObject({ held: 4, confirmed: 2, availableBySite: { edge: 0 } })
    const cloudView = await run(c1.read(inventoryOnHand, "SKU-P"))
    expect(cloudView.sites.find((s) => s.site === "edge")?.version).toBe(cloudSawOfEdge?.version)

    // Stay apart past the 10 s after which the servers give up on their source consumers.
    await sleep(Math.max(0, 12_000 - (performance.now() - cutAt)))
    const apart = await run(replicationStatus(cloud.jsm, declared.cloud))

    sites.link.heal()
    const healedAt = performance.now()
    await sites.waitLinked()
    const relinkedMs = performance.now() - healedAt
    await waitFor("both sites to read the same values after the heal", sameEverywhere, { timeoutMs: 10_000 })
    const convergedMs = performance.now() - healedAt
    expect(convergedMs).toBeLessThan(10_000)

    const peerHistory = { cloud: 0, edge: 0 }
    for (const registers of [c1, e1]) {
      const counter = await run(registers.read(inventoryOnHand, "SKU-P"))
      expect(counter.value).toBe(counted)
      expect(Object.keys(counter.snapshot.context)).toHaveLength(everyWriter.length)

      const stock = await run(registers.read(stockReservations, "SKU-P"))
      const restocked = 10 + 2
      expect(stock.value.held + stock.value.confirmed).toBeLessThanOrEqual(restocked)
      expect(stock.value).toMatchObject({ held: 7, confirmed: 5, available: 0 })
      for (const available of Object.values(stock.value.availableBySite))
        expect(available).toBeGreaterThanOrEqual(0)
      expect(stock.unresolved).toEqual([])

      // A site's registers stream holds every change of both sites once: the peer's come through
      // the bucket, which keeps every value, so a burst after the heal arrives whole.
      const site = registers.site as keyof typeof countsAt
      const everyChange = countsAt.cloud + countsAt.edge
      const history = await waitFor("every count of both sites in the registers stream", async () => {
        const changes = await run(registers.history("inventory-on-hand", "SKU-P"))
        return changes.length >= everyChange ? changes : undefined
      })
      expect(history.filter((c) => c.payload.site === site)).toHaveLength(countsAt[site])
      expect(history).toHaveLength(everyChange)
      expect(new Set(history.map((c) => c.eventId)).size).toBe(history.length)
      peerHistory[site] = history.length - countsAt[site]

      const profile = await run(registers.read(customerProfile, "C-1"))
      expect(profile.concurrent).toBe(true)
      expect(profile.unresolved).toHaveLength(2)
      expect([...profile.value].map((p) => p.email).sort()).toEqual(["cloud@example.com", "edge@example.com"])
    }

    console.log(
      `[sites] steady-state lag (ack at one site -> in the other's bucket, ${lags.length} writes): ` +
        `p50 ${percentile(lags, 0.5).toFixed(1)} ms, p95 ${percentile(lags, 0.95).toFixed(1)} ms, max ${lags.at(-1)?.toFixed(1)} ms; ` +
        `cut ${((healedAt - cutAt) / 1000).toFixed(1)} s; leafnode back ${relinkedMs.toFixed(0)} ms and ` +
        `both sites identical ${convergedMs.toFixed(0)} ms after the heal; ` +
        `peer changes in each registers stream: cloud ${peerHistory.cloud} of ${countsAt.edge}, edge ${peerHistory.edge} of ${countsAt.cloud} ` +
        `(cloud's source of edge before the heal: ${JSON.stringify(apart)})`,
    )
  })
})
