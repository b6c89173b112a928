import { inventoryOnHand, Subjects } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import {
  isReplicatedCapable,
  type NatsClusterHandle,
  natsServerVersion,
  startNatsCluster,
  uniqueNamespace,
} from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeRegisters, type RegistersShape } from "./registers.ts"

// Compare-and-set under contention, as the registers issue asks: rounds of concurrent writers that
// all read one revision and then write at once. Exactly one wins each round at its first attempt;
// every loser merges the winner's value, applies its own increment again and retries, so the count
// at the end holds every write.

const rounds = Number(process.env.CAS_ROUNDS ?? 200)
const writersPerRound = 50

const installed = await natsServerVersion()

const contend = async (nats: NatsHandles, replicas: number) => {
  const namespace = uniqueNamespace("cas")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace, replicas })))
  const writers: Array<RegistersShape> = await Promise.all(
    Array.from({ length: writersPerRound }, (_, i) =>
      Effect.runPromise(makeRegisters(nats, { namespace, agent: "procurement", instance: `w${i}` })),
    ),
  )
  const firstAttemptWinners: Array<number> = []
  let attempts = 0
  for (let round = 0; round < rounds; round++) {
    // Everyone reads the same revision first, so that every write of the round contends for it.
    const read = await Promise.all(writers.map((w) => Effect.runPromise(w.read(inventoryOnHand, "SKU-HOT"))))
    expect(new Set(read.map((r) => r.sites[0]!.revision)).size).toBe(1)
    const outcomes = await Promise.all(
      writers.map((w) => Effect.runPromise(w.write(inventoryOnHand, "SKU-HOT", { _tag: "Add", amount: 1 }))),
    )
    firstAttemptWinners.push(outcomes.filter((o) => o.attempts === 1).length)
    attempts += outcomes.reduce((n, o) => n + o.attempts, 0)
  }
  const final = await Effect.runPromise(writers[0]!.read(inventoryOnHand, "SKU-HOT"))
  return { namespace, firstAttemptWinners, attempts, final }
}

describe("compare-and-set under contention on one server", () => {
  const server = useNatsServer()
  let nats: NatsHandles
  beforeAll(async () => {
    nats = await openNats(server.url)
  })
  afterAll(async () => {
    await nats?.connection.drain()
  })

  it(`gives each of ${rounds} rounds of ${writersPerRound} writers exactly one winner, and loses no write`, async () => {
    const { firstAttemptWinners, final, attempts } = await contend(nats, 1)
    expect(firstAttemptWinners).toEqual(Array.from({ length: rounds }, () => 1))
    expect(final.value).toBe(rounds * writersPerRound)
    // Each writer's own tally holds exactly its writes.
    expect(Object.values(final.snapshot.state.increments)).toEqual(
      Array.from({ length: writersPerRound }, () => rounds),
    )
    expect(attempts).toBeGreaterThan(rounds * writersPerRound)
  }, 600_000)
})

// Replicated buckets are only trusted from nats-server 2.10.23 (see shared/notes/nats-server.md); .ci/run installs it.
describe.skipIf(!isReplicatedCapable(installed))(
  `compare-and-set under contention on a 3-node cluster with a replicated bucket (runs when nats-server >= 2.10.23; found ${installed.text})`,
  () => {
    let cluster: NatsClusterHandle | undefined
    let nats: NatsHandles
    beforeAll(async () => {
      cluster = await startNatsCluster({ size: 3 })
      nats = await openNats(cluster.urls.join(","))
      // A cluster that cannot place its streams is started once more: up to twice 45 s.
    }, 150_000)
    afterAll(async () => {
      await nats?.connection.drain()
      await cluster?.stop()
    })

    it(`gives each of ${rounds} rounds of ${writersPerRound} writers exactly one winner, and loses no write`, async () => {
      const { namespace, firstAttemptWinners, final } = await contend(nats, 3)
      expect(firstAttemptWinners).toEqual(Array.from({ length: rounds }, () => 1))
      expect(final.value).toBe(rounds * writersPerRound)
      const bucket = await nats.jsm.streams.info(`KV_${Subjects.registerBucket(namespace)}`)
      expect(bucket.config.num_replicas).toBe(3)
    }, 900_000)
  },
)
