import { domains, Subjects } from "@mesh/contracts"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type NatsHandles, openNats } from "./natsClient.ts"
import {
  applyTopology,
  decisionCacheLimits,
  declareTopology,
  removeTopology,
  requireNoDrift,
} from "./topology.ts"

let server: NatsServerHandle
let nats: NatsHandles

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

describe("topology as code", () => {
  it("removes a scratch namespace whole, and only it", async () => {
    const scratch = uniqueNamespace("gone")
    const neighbour = uniqueNamespace("stays")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace: scratch })))
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace: neighbour })))
    const removed = await Effect.runPromise(removeTopology(nats.jsm, declareTopology({ namespace: scratch })))
    expect(removed).toHaveLength(domains.length + 5)
    const left: Array<string> = []
    for await (const name of nats.jsm.streams.names()) left.push(name)
    expect(left.filter((name) => name.toLowerCase().includes(scratch.toLowerCase()))).toEqual([])
    expect(left.filter((name) => name.toLowerCase().includes(neighbour.toLowerCase()))).toHaveLength(
      domains.length + 5,
    )
    // Removing what is gone already removes nothing and is no error.
    expect(
      await Effect.runPromise(removeTopology(nats.jsm, declareTopology({ namespace: scratch }))),
    ).toEqual([])
  })

  it("creates missing streams once and then reports them unchanged", async () => {
    const namespace = uniqueNamespace("topo")
    const declared = declareTopology({ namespace })
    const first = await Effect.runPromise(applyTopology(nats.jsm, declared))
    // One stream per domain, the dead-letter stream, the register, snapshot and decision-cache buckets and the
    // decision store.
    expect(first.created).toHaveLength(domains.length + 5)
    expect(first.created).toEqual(
      expect.arrayContaining([
        `KV_${namespace}_snapshots`,
        `KV_${namespace}_registers`,
        `KV_${namespace}_decision_cache`,
        `OBJ_${namespace.toUpperCase()}_DECISION_CONTENT`,
      ]),
    )
    const second = await Effect.runPromise(applyTopology(nats.jsm, declared))
    expect(second).toMatchObject({ created: [], drifted: [], updated: [] })
    expect(second.unchanged).toHaveLength(domains.length + 5)
    const cache = await nats.jsm.streams.info(`KV_${namespace}_decision_cache`)
    expect(cache.config).toMatchObject({
      max_age: decisionCacheLimits.ttlMs * 1_000_000,
      max_bytes: decisionCacheLimits.maxBytes,
    })
  })

  it("lets replicas starting together declare the same streams at once", async () => {
    const namespace = uniqueNamespace("topo")
    const declared = declareTopology({ namespace })
    const connections = await Promise.all(Array.from({ length: 4 }, () => openNats(server.url)))
    try {
      const reports = await Promise.all(
        connections.map((c) => Effect.runPromise(applyTopology(c.jsm, declared))),
      )
      // Every stream is created by one of them and found unchanged by the others: none fails or drifts.
      const created = reports.flatMap((r) => r.created)
      expect(new Set(created).size).toBe(domains.length + 5)
      for (const report of reports) expect(report.drifted).toEqual([])
    } finally {
      await Promise.all(connections.map((c) => c.connection.drain()))
    }
  })

  it("declares the namespace's stores with the streams' replicas, and reports a store that drifted", async () => {
    const namespace = uniqueNamespace("stores")
    const declared = declareTopology({ namespace })
    await Effect.runPromise(applyTopology(nats.jsm, declared))
    const bucket = await nats.jsm.streams.info(`KV_${namespace}_snapshots`)
    expect(bucket.config).toMatchObject({ num_replicas: 1, max_msgs_per_subject: 1 })
    await nats.jsm.streams.update(`KV_${namespace}_snapshots`, { ...bucket.config, max_msgs_per_subject: 5 })
    const report = await Effect.runPromise(applyTopology(nats.jsm, declared))
    expect(report.drifted).toEqual([
      { stream: `KV_${namespace}_snapshots`, fields: [{ field: "history", declared: 1, actual: 5 }] },
    ])
    const updated = await Effect.runPromise(applyTopology(nats.jsm, declared, "update"))
    expect(updated.updated).toEqual([`KV_${namespace}_snapshots`])
    expect((await nats.jsm.streams.info(`KV_${namespace}_snapshots`)).config.max_msgs_per_subject).toBe(1)
  })

  it("reports drift and leaves the stream alone unless told to update", async () => {
    const namespace = uniqueNamespace("drift")
    const declared = declareTopology({ namespace })
    await Effect.runPromise(applyTopology(nats.jsm, declared))
    const stream = Subjects.streamName(namespace, "customer")
    await nats.jsm.streams.update(stream, { duplicate_window: 5 * 1_000_000_000 })

    const report = await Effect.runPromise(applyTopology(nats.jsm, declared))
    expect(report.drifted).toEqual([
      { stream, fields: [{ field: "duplicate_window", declared: 120_000_000_000, actual: 5_000_000_000 }] },
    ])
    expect((await nats.jsm.streams.info(stream)).config.duplicate_window).toBe(5_000_000_000)
    const refused = await Effect.runPromiseExit(requireNoDrift(report))
    expect(refused._tag).toBe("Failure")

    const updated = await Effect.runPromise(applyTopology(nats.jsm, declared, "update"))
    expect(updated.updated).toEqual([stream])
    expect((await nats.jsm.streams.info(stream)).config.duplicate_window).toBe(120_000_000_000)
  })
})
