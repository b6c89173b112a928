import {
  customerProfile,
  inventoryOnHand,
  listingStatus,
  meshCatalog,
  openPurchaseOrders,
  Subjects,
  shopRegisters,
  stockReservations,
  supplierExpectedDate,
} from "@mesh/contracts"
import {
  applyTopology,
  CurrentReactionCause,
  declareTopology,
  makeEventLog,
  type NatsHandles,
  openNats,
  type StoreWriteDeparture,
} from "@mesh/eventlog"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Kvm } from "@nats-io/kv"
import { Effect, Exit, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RegisterError } from "./registerError.ts"
import { makeRegisters, type RegistersOptions, type RegistersShape } from "./registers.ts"

const server = useNatsServer()
let nats: NatsHandles

beforeAll(async () => {
  nats = await openNats(server.url)
})
afterAll(async () => {
  await nats?.connection.drain()
})

const run = <A>(effect: Effect.Effect<A, RegisterError>) => Effect.runPromise(effect)
const failureOf = async <A>(effect: Effect.Effect<A, RegisterError>): Promise<RegisterError> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail")
    throw new Error(`expected a typed failure: ${String(exit.cause)}`)
  return error.error
}

/** A namespace with its topology applied: the register bucket and the registers stream sourcing it. */
const declaredNamespace = async (prefix: string): Promise<string> => {
  const namespace = uniqueNamespace(prefix)
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  return namespace
}

const open = (namespace: string, options: Partial<RegistersOptions> = {}): Promise<RegistersShape> =>
  run(makeRegisters(nats, { namespace, agent: "procurement", instance: "p1", ...options }))

describe("shared registers on JetStream KV", () => {
  it("writes and reads every shop register through the bucket", async () => {
    const namespace = await declaredNamespace("kinds")
    const procurement = await open(namespace)
    const content = await open(namespace, { agent: "content-ops", instance: "c1" })
    const support = await open(namespace, { agent: "customer-ops", instance: "s1" })

    await run(procurement.write(inventoryOnHand, "SKU-1", { _tag: "Add", amount: 12 }))
    await run(support.write(inventoryOnHand, "SKU-1", { _tag: "Add", amount: -2 }))
    expect((await run(content.read(inventoryOnHand, "SKU-1"))).value).toBe(10)

    await run(procurement.write(stockReservations, "SKU-1", { _tag: "Restock", quantity: 5 }))
    await run(
      support.write(stockReservations, "SKU-1", { _tag: "Take", reservation: "order-1", quantity: 2 }),
    )
    const stock = await run(procurement.read(stockReservations, "SKU-1"))
    expect(stock.value).toMatchObject({ available: 3, held: 2, confirmed: 0 })

    await run(content.write(listingStatus, "SKU-1", { _tag: "Set", status: "published" }))
    await run(procurement.write(listingStatus, "SKU-1", { _tag: "Set", status: "out-of-stock" }))
    expect((await run(content.read(listingStatus, "SKU-1"))).value).toBe("out-of-stock")

    await run(support.write(customerProfile, "C-1", { _tag: "Set", value: { email: "a@example.com" } }))
    expect((await run(support.read(customerProfile, "C-1"))).value).toEqual([{ email: "a@example.com" }])

    await run(
      procurement.write(supplierExpectedDate, "SKU-1", { _tag: "Offer", value: "2026-12-09T00:00:00.000Z" }),
    )
    await run(
      procurement.write(supplierExpectedDate, "SKU-1", { _tag: "Offer", value: "2026-12-07T00:00:00.000Z" }),
    )
    expect((await run(content.read(supplierExpectedDate, "SKU-1"))).value).toBe("2026-12-09T00:00:00.000Z")

    const po = {
      purchaseOrderId: "PO-1",
      supplierId: "acme",
      actionId: "0195f2a0-0000-7000-8000-000000000001",
    }
    await run(procurement.write(openPurchaseOrders, "SKU-1", { _tag: "Add", element: po }))
    expect((await run(content.read(openPurchaseOrders, "SKU-1"))).value).toEqual([po])

    const listed = await run(content.list())
    expect(listed.map((i) => i.register).sort()).toEqual(shopRegisters.map((r) => r.name).sort())
    expect(listed.every((i) => i.sites.join() === "main")).toBe(true)
  })

  it("keeps every writer's increment when writers race on one key", async () => {
    const namespace = await declaredNamespace("race")
    const writers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => open(namespace, { instance: `w${i}` })),
    )
    await Promise.all(
      writers.map(async (registers) => {
        for (let n = 0; n < 10; n++)
          await run(registers.write(inventoryOnHand, "SKU-R", { _tag: "Add", amount: 1 }))
      }),
    )
    const reading = await run(writers[0]!.read(inventoryOnHand, "SKU-R"))
    expect(reading.value).toBe(120)
    expect(Object.keys(reading.snapshot.context)).toHaveLength(12)
  })

  it("applies a write once when a reaction is redelivered or a writer retries it", async () => {
    const namespace = await declaredNamespace("once")
    const [a, b] = await Promise.all([open(namespace, { instance: "a" }), open(namespace, { instance: "b" })])
    const sale = { _tag: "Add", amount: -1 } as const
    const first = await run(a.write(inventoryOnHand, "SKU-O", sale, { causationId: "order-paid-1" }))
    // The same event handled again, by another replica: keyed by the event and the operation.
    const again = await run(b.write(inventoryOnHand, "SKU-O", sale, { causationId: "order-paid-1" }))
    expect(first.duplicate).toBe(false)
    expect(again).toMatchObject({ duplicate: true, revision: first.revision, value: -1 })
    // The same event asking for another operation is another write.
    await run(a.write(inventoryOnHand, "SKU-O", { _tag: "Add", amount: -2 }, { causationId: "order-paid-1" }))
    // Racing writers with one key: one applies it.
    const racing = await Promise.all(
      [a, b].map((registers) =>
        run(
          registers.write(
            inventoryOnHand,
            "SKU-O",
            { _tag: "Add", amount: 10 },
            { idempotencyKey: "receipt-7" },
          ),
        ),
      ),
    )
    expect(racing.filter((outcome) => outcome.duplicate)).toHaveLength(1)
    // Without a key, the same write twice counts twice.
    await run(a.write(inventoryOnHand, "SKU-O", sale, { causationId: "order-paid-1", idempotencyKey: null }))
    expect((await run(b.read(inventoryOnHand, "SKU-O"))).value).toBe(-1 - 2 + 10 - 1)
  })

  it("keeps a write made from a stale view beside the one it did not see, until a writer that saw both resolves it", async () => {
    const namespace = await declaredNamespace("stale")
    const support = await open(namespace, { agent: "customer-ops", instance: "s1" })
    const orders = await open(namespace, { agent: "procurement", instance: "o1" })

    await run(support.write(customerProfile, "C-9", { _tag: "Set", value: { email: "old@example.com" } }))
    const staleView = await run(orders.read(customerProfile, "C-9"))
    await run(support.write(customerProfile, "C-9", { _tag: "Set", value: { email: "new@example.com" } }))
    // Orders decided on what it read before support's change: its write does not replace that change.
    const stale = await run(
      orders.write(
        customerProfile,
        "C-9",
        { _tag: "Set", value: { email: "old@example.com", shippingAddress: "1 Main St" } },
        { observed: staleView.snapshot.context },
      ),
    )
    expect(stale.change.payload.change).toMatchObject({
      _tag: "Write",
      unseen: [{ writer: "main/customer-ops/s1", from: 2, to: 2 }],
    })
    const conflicted = await run(support.read(customerProfile, "C-9"))
    expect(conflicted.value).toHaveLength(2)
    expect(conflicted.unresolved).toHaveLength(2)

    await run(
      support.write(customerProfile, "C-9", {
        _tag: "Set",
        value: { email: "new@example.com", shippingAddress: "1 Main St" },
      }),
    )
    const resolved = await run(orders.read(customerProfile, "C-9"))
    expect(resolved.value).toEqual([{ email: "new@example.com", shippingAddress: "1 Main St" }])
    expect(resolved.unresolved).toEqual([])
  })

  it("refuses a reservation over the stock and writes nothing", async () => {
    const namespace = await declaredNamespace("bound")
    const registers = await open(namespace)
    await run(registers.write(stockReservations, "SKU-B", { _tag: "Restock", quantity: 3 }))
    const before = await run(registers.read(stockReservations, "SKU-B"))
    const error = await failureOf(
      registers.write(stockReservations, "SKU-B", { _tag: "Take", reservation: "order-7", quantity: 4 }),
    )
    expect(error.reason).toMatchObject({
      _tag: "Rejected",
      rejection: { _tag: "BoundExceeded", requested: 4, available: 3 },
    })
    expect(error.message).toContain("4 requested but only 3 available")
    const after = await run(registers.read(stockReservations, "SKU-B"))
    expect(after.sites[0]!.revision).toBe(before.sites[0]!.revision)
  })

  it("refuses an agent that is not among a register's writers, and an operation its kind does not know", async () => {
    const namespace = await declaredNamespace("writers")
    const content = await open(namespace, { agent: "content-ops" })
    const notAWriter = await failureOf(content.write(inventoryOnHand, "SKU-1", { _tag: "Add", amount: 1 }))
    expect(notAWriter.message).toBe(
      "agent content-ops may not write register inventory-on-hand (its writers: procurement, customer-ops)",
    )
    const procurement = await open(namespace)
    const bad = await failureOf(
      procurement.write(inventoryOnHand, "SKU-1", { _tag: "Add", amount: 1.5 } as never),
    )
    expect(bad.reason._tag).toBe("InvalidOperation")
    expect(bad.message).toContain("invalid operation")
    expect(await run(procurement.list())).toEqual([])
  })

  it("names the key of a value it cannot decode and leaves the value as it is", async () => {
    const namespace = await declaredNamespace("corrupt")
    const registers = await open(namespace)
    const kv = await new Kvm(nats.connection).open(Subjects.registerBucket(namespace))
    const key = Subjects.registerKey("inventory-on-hand", "SKU-X", "main")
    const revision = await kv.put(key, "not json")
    const error = await failureOf(registers.read(inventoryOnHand, "SKU-X"))
    expect(error.message).toBe(
      `register value ${key} at revision ${revision} cannot be decoded: MalformedCommit`,
    )
    const writeError = await failureOf(registers.write(inventoryOnHand, "SKU-X", { _tag: "Add", amount: 1 }))
    expect(writeError.reason._tag).toBe("UndecodableValue")
    expect((await kv.get(key))?.string()).toBe("not json")
  })

  it("keeps every change in the registers stream, with its writer and causal context", async () => {
    const namespace = await declaredNamespace("history")
    const a = await open(namespace, { instance: "a" })
    const b = await open(namespace, { agent: "customer-ops", instance: "b" })
    await run(
      a.write(
        inventoryOnHand,
        "SKU-H",
        { _tag: "Add", amount: 5 },
        { correlationId: "order-1", causationId: "evt-1" },
      ),
    )
    await run(b.write(inventoryOnHand, "SKU-H", { _tag: "Add", amount: -1 }))
    await run(a.write(inventoryOnHand, "SKU-H", { _tag: "Add", amount: 2 }))
    await run(a.write(inventoryOnHand, "SKU-OTHER", { _tag: "Add", amount: 2 }))
    let history = await run(a.history("inventory-on-hand", "SKU-H"))
    for (let i = 0; i < 50 && history.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      history = await run(a.history("inventory-on-hand", "SKU-H"))
    }
    expect(
      history.map((e) => [e.payload.version, e.payload.change._tag === "Write" && e.payload.change.writer]),
    ).toEqual([
      [1, "main/procurement/a"],
      [2, "main/customer-ops/b"],
      [3, "main/procurement/a"],
    ])
    expect(history[0]).toMatchObject({
      type: "RegisterChanged",
      aggregateType: "inventory-on-hand",
      aggregateId: "SKU-H",
      correlationId: "order-1",
      causationId: "evt-1",
      actor: { kind: "agent", id: "procurement" },
    })
    expect(history[2]!.payload.snapshot.context).toEqual({
      "main/customer-ops/b": 1,
      "main/procurement/a": 2,
    })

    // The registers stream is read whole by the event log's follow, as `mesh tail registers` does.
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const followed = await Effect.runPromise(
      log.follow("registers").pipe(
        Stream.flatMap((commit) => Stream.fromIterable(commit.events)),
        Stream.take(4),
        Stream.runCollect,
      ),
    )
    expect([...followed].map((e) => `${e.type} ${e.aggregateType}/${e.aggregateId}`)).toEqual([
      "RegisterChanged inventory-on-hand/SKU-H",
      "RegisterChanged inventory-on-hand/SKU-H",
      "RegisterChanged inventory-on-hand/SKU-H",
      "RegisterChanged inventory-on-hand/SKU-OTHER",
    ])
  })

  it("merges the keys of two sites on read and reports their concurrent writes", async () => {
    const namespace = await declaredNamespace("sites")
    // Both sites' keys live in one bucket here, as they do at each site once replication has run.
    const cloud = await open(namespace, { site: "cloud", peerSites: ["edge"], instance: "c" })
    const edge = await open(namespace, { site: "edge", peerSites: ["cloud"], instance: "e" })
    await run(cloud.write(stockReservations, "SKU-S", { _tag: "Restock", quantity: 4 }))
    await run(cloud.write(stockReservations, "SKU-S", { _tag: "Transfer", to: "edge", quantity: 1 }))
    // Edge may promise only the unit it was given, whatever cloud holds.
    const overEdge = await failureOf(
      edge.write(stockReservations, "SKU-S", { _tag: "Take", reservation: "o-1", quantity: 2 }),
    )
    expect(overEdge.reason).toMatchObject({ rejection: { _tag: "BoundExceeded", available: 1 } })
    await run(edge.write(stockReservations, "SKU-S", { _tag: "Take", reservation: "o-1", quantity: 1 }))
    await run(cloud.write(inventoryOnHand, "SKU-S", { _tag: "Add", amount: 3 }))
    const reading = await run(cloud.read(stockReservations, "SKU-S"))
    expect(reading.sites.map((s) => s.site)).toEqual(["cloud", "edge"])
    expect(reading.value).toMatchObject({ available: 3, held: 1, availableBySite: { cloud: 3, edge: 0 } })
    // Edge's take saw cloud's transfer, so the two keys are ordered, not concurrent.
    expect(reading.concurrent).toBe(false)

    // Cut off from each other (neither reads the other's key), both sites count a sale.
    const cloudAlone = await open(namespace, { site: "cloud", instance: "c" })
    const edgeAlone = await open(namespace, { site: "edge", instance: "e" })
    await run(cloudAlone.write(inventoryOnHand, "SKU-C", { _tag: "Add", amount: -1 }))
    await run(edgeAlone.write(inventoryOnHand, "SKU-C", { _tag: "Add", amount: -2 }))
    const counts = await run(edge.read(inventoryOnHand, "SKU-C"))
    expect(counts.concurrent).toBe(true)
    expect(counts.value).toBe(-3)
  })

  it("reads as of a replayed reaction's cause: every site's last value by then; the present live and outside a reaction", async () => {
    const namespace = await declaredNamespace("asof")
    // Each writer's clock is set by the test: a change occurs when its writer says.
    let at = Date.parse("2026-12-01T10:00:01.000Z")
    const clock = () => at
    const cloud = await open(namespace, { site: "cloud", peerSites: ["edge"], instance: "c", now: clock })
    const edge = await open(namespace, { site: "edge", peerSites: ["cloud"], instance: "e", now: clock })
    await run(cloud.write(stockReservations, "SKU-T", { _tag: "Restock", quantity: 5 }))
    at = Date.parse("2026-12-01T10:00:02.000Z")
    await run(cloud.write(stockReservations, "SKU-T", { _tag: "Transfer", to: "edge", quantity: 2 }))
    at = Date.parse("2026-12-01T10:00:03.000Z")
    await run(edge.write(stockReservations, "SKU-T", { _tag: "Take", reservation: "o-1", quantity: 1 }))
    at = Date.parse("2026-12-01T10:00:04.000Z")
    await run(cloud.write(stockReservations, "SKU-T", { _tag: "Take", reservation: "o-2", quantity: 2 }))

    const reader = await open(namespace, {
      agent: "content-ops",
      site: "cloud",
      peerSites: ["edge"],
      instance: "r",
    })
    const inReaction = (occurredAt: string, replaying: boolean) =>
      run(
        reader.read(stockReservations, "SKU-T").pipe(
          Effect.provideService(CurrentReactionCause, {
            eventId: "cause",
            occurredAt,
            stream: Subjects.streamName(namespace, "procurement"),
            sequence: 1,
            replaying,
            readAsOf: occurredAt,
          }),
        ),
      )
    const asOf = (occurredAt: string) => inReaction(occurredAt, true)
    // Outside a reaction it reads the present, as every reader does.
    expect((await run(reader.read(stockReservations, "SKU-T"))).value).toMatchObject({
      available: 2,
      held: 3,
    })
    // Before the first change: nothing at either site.
    const before = await asOf("2026-12-01T10:00:00.500Z")
    expect(before.value).toMatchObject({ available: 0, held: 0 })
    expect(before.sites.map((s) => [s.site, s.version])).toEqual([
      ["cloud", 0],
      ["edge", 0],
    ])
    // A change that occurred at the cause's instant counts; edge has written nothing yet.
    expect((await asOf("2026-12-01T10:00:01.000Z")).value).toMatchObject({ available: 5, held: 0 })
    // Between changes: cloud's transfer and edge's take, not cloud's later take.
    const between = await asOf("2026-12-01T10:00:03.500Z")
    expect(between.value).toMatchObject({ available: 4, held: 1, availableBySite: { cloud: 3, edge: 1 } })
    expect(between.sites.map((s) => [s.site, s.version])).toEqual([
      ["cloud", 2],
      ["edge", 1],
    ])
    expect((await asOf("2026-12-01T10:00:05.000Z")).value).toMatchObject({ available: 2, held: 3 })

    // A live reaction reads the present.
    const liveInReaction = await inReaction("2026-12-01T10:00:01.000Z", false)
    expect(liveInReaction.value).toMatchObject({ available: 2, held: 3 })
  })

  it("stores nothing for a replayed reaction's write: the day's write under its key is answered, another decided as the reaction first found the registers", async () => {
    const namespace = await declaredNamespace("replaywrite")
    let at = Date.parse("2026-12-01T10:00:01.000Z")
    const writer = await open(namespace, { instance: "w", now: () => at })
    await run(writer.write(stockReservations, "SKU-R", { _tag: "Restock", quantity: 2 }))
    at = Date.parse("2026-12-01T10:00:02.000Z")
    const taken = await run(
      writer.write(
        stockReservations,
        "SKU-R",
        { _tag: "Take", reservation: "o-1", quantity: 2 },
        { idempotencyKey: "take-o-1" },
      ),
    )
    // Forty keyed writes later, the key has left the key's window of the day's value.
    for (let i = 0; i < 40; i++) {
      at += 1_000
      await run(
        writer.write(
          stockReservations,
          "SKU-R",
          { _tag: "Restock", quantity: 1 },
          { idempotencyKey: `r-${i}` },
        ),
      )
    }
    const head = async () =>
      (await new Kvm(nats.connection).open(Subjects.registerBucket(namespace))).status()
    const stored = (await head()).values

    const replayed = await open(namespace, { instance: "replay" })
    const inReplay = <A>(effect: Effect.Effect<A, RegisterError>, readAsOf: string) =>
      effect.pipe(
        Effect.provideService(CurrentReactionCause, {
          eventId: "cause",
          occurredAt: readAsOf,
          stream: Subjects.streamName(namespace, "customer"),
          sequence: 1,
          replaying: true,
          readAsOf,
        }),
      )
    // The day's take, found by its key: answered as it was stored.
    const again = await run(
      inReplay(
        replayed.write(
          stockReservations,
          "SKU-R",
          { _tag: "Take", reservation: "o-1", quantity: 2 },
          { idempotencyKey: "take-o-1" },
        ),
        "2026-12-01T10:00:01.500Z",
      ),
    )
    expect(again).toMatchObject({ duplicate: true, revision: taken.revision })
    expect(again.change.eventId).toBe(taken.change.eventId)
    // A take the day never made, where the register held nothing free then: refused as it would
    // have been, though forty units are free now.
    const refused = await failureOf(
      inReplay(
        replayed.write(stockReservations, "SKU-R", { _tag: "Take", reservation: "o-2", quantity: 1 }),
        "2026-12-01T10:00:02.500Z",
      ),
    )
    expect(refused.reason).toMatchObject({
      _tag: "Rejected",
      rejection: { _tag: "BoundExceeded", available: 0 },
    })
    // One it would have made: answered with the value it would store, and not stored.
    const unstored = await run(
      inReplay(
        replayed.write(stockReservations, "SKU-R", { _tag: "Take", reservation: "o-3", quantity: 1 }),
        "2026-12-01T10:00:05.500Z",
      ),
    )
    expect(unstored).toMatchObject({ duplicate: true, value: { available: 2, held: 3 } })
    expect((await head()).values).toBe(stored)
  })
  it("notes each replayed write the day did not make: another operation from its cause, or one the day never stored; nothing for the day's own", async () => {
    const namespace = await declaredNamespace("departs")
    let at = Date.parse("2026-12-01T10:00:01.000Z")
    const writer = await open(namespace, { instance: "w", now: () => at })
    const day = { correlationId: "day", actor: { kind: "agent" as const, id: "procurement" } }
    await run(
      writer.write(
        stockReservations,
        "SKU-D",
        { _tag: "Restock", quantity: 2 },
        { ...day, causationId: "e-0" },
      ),
    )
    at += 1_000
    await run(
      writer.write(
        stockReservations,
        "SKU-D",
        { _tag: "Take", reservation: "o-1", quantity: 2 },
        { ...day, causationId: "e-1" },
      ),
    )
    at += 1_000
    // A write without a key: the day's own is known by its cause and operation.
    await run(
      writer.write(
        stockReservations,
        "SKU-D",
        { _tag: "Restock", quantity: 1 },
        { ...day, causationId: "e-4", idempotencyKey: null },
      ),
    )

    const replayed = await open(namespace, { instance: "replay" })
    const noted: Array<StoreWriteDeparture> = []
    const inReplay = <A>(effect: Effect.Effect<A, RegisterError>, causeId: string, readAsOf: string) =>
      effect.pipe(
        Effect.provideService(CurrentReactionCause, {
          eventId: causeId,
          occurredAt: readAsOf,
          stream: Subjects.streamName(namespace, "customer"),
          sequence: 1,
          replaying: true,
          readAsOf,
          noteDeparture: (departure) => noted.push(departure),
        }),
      )
    const take = (reservation: string, quantity: number) => ({ _tag: "Take", reservation, quantity }) as const

    // The day's own writes, keyed or not: nothing noted.
    await run(
      inReplay(
        replayed.write(stockReservations, "SKU-D", take("o-1", 2), { ...day, causationId: "e-1" }),
        "e-1",
        "2026-12-01T10:00:01.500Z",
      ),
    )
    await run(
      inReplay(
        replayed.write(
          stockReservations,
          "SKU-D",
          { _tag: "Restock", quantity: 1 },
          { ...day, causationId: "e-4", idempotencyKey: null },
        ),
        "e-4",
        "2026-12-01T10:00:02.500Z",
      ),
    )
    expect(noted).toEqual([])

    // The same cause taking one unit where the day took two: the day's operation beside the new one.
    await run(
      inReplay(
        replayed.write(stockReservations, "SKU-D", take("o-1", 1), { ...day, causationId: "e-1" }),
        "e-1",
        "2026-12-01T10:00:01.500Z",
      ),
    )
    expect(noted).toHaveLength(1)
    expect(noted[0]).toMatchObject({
      aggregate: "stock-reservations/SKU-D",
      recorded: ["RegisterChanged"],
      now: ["RegisterChanged"],
      difference:
        'stock-reservations write: recorded {"_tag":"Take","quantity":2,"reservation":"o-1"}, now {"_tag":"Take","quantity":1,"reservation":"o-1"}',
    })
    expect(noted[0]?.writeId).toMatch(/^e-1:[0-9a-f]{16}$/)

    // A cause whose write the day never stored: refused now as well, it went as the day went.
    await failureOf(
      inReplay(
        replayed.write(stockReservations, "SKU-D", take("o-3", 5), { ...day, causationId: "e-3" }),
        "e-3",
        "2026-12-01T10:00:02.500Z",
      ),
    )
    expect(noted).toHaveLength(1)
    // Stored now: a write the day did not make.
    await run(
      inReplay(
        replayed.write(stockReservations, "SKU-D", take("o-2", 1), { ...day, causationId: "e-2" }),
        "e-2",
        "2026-12-01T10:00:03.500Z",
      ),
    )
    expect(noted[1]).toMatchObject({
      aggregate: "stock-reservations/SKU-D",
      recorded: [],
      now: ["RegisterChanged"],
      difference:
        'stock-reservations write: recorded nothing (refused then, or not made), now {"_tag":"Take","quantity":1,"reservation":"o-2"}',
    })
    // The day's take refused now (a changed kind, say): noted with why.
    await failureOf(
      inReplay(
        replayed.write(stockReservations, "SKU-D", take("o-1", 3), { ...day, causationId: "e-1" }),
        "e-1",
        "2026-12-01T10:00:01.500Z",
      ),
    )
    expect(noted[2]).toMatchObject({ recorded: ["RegisterChanged"], now: null })
    expect(noted[2]?.difference).toContain("refused (")
  })

  it("replays reads of a key deleted by hand, and of a value it cannot decode, as of when each was stored", async () => {
    const namespace = await declaredNamespace("marks")
    const at = Date.parse("2026-12-01T10:00:01.000Z")
    const writer = await open(namespace, { instance: "w", now: () => at })
    await run(writer.write(inventoryOnHand, "SKU-M", { _tag: "Add", amount: 4 }))
    const kv = await new Kvm(nats.connection).open(Subjects.registerBucket(namespace))
    const key = Subjects.registerKey("inventory-on-hand", "SKU-M", "main")
    const replayed = await open(namespace, { instance: "replay" })
    const asOf = <A>(effect: Effect.Effect<A, RegisterError>, readAsOf: string) =>
      effect.pipe(
        Effect.provideService(CurrentReactionCause, {
          eventId: "cause",
          occurredAt: readAsOf,
          stream: Subjects.streamName(namespace, "procurement"),
          sequence: 1,
          replaying: true,
          readAsOf,
        }),
      )
    const valueAsOf = async (readAsOf: string) =>
      (await run(asOf(replayed.read(inventoryOnHand, "SKU-M"), readAsOf))).value
    expect(await valueAsOf("2026-12-01T10:00:02.000Z")).toBe(4)

    // Deleted by hand (an operator's `nats kv del`), now: the day before still held the value.
    const deletedAfter = new Date(Date.now() - 1_000).toISOString()
    await kv.delete(key)
    const afterwards = new Date(Date.now() + 60_000).toISOString()
    expect(await valueAsOf("2026-12-01T10:00:02.000Z")).toBe(4)
    expect(await valueAsOf(deletedAfter)).toBe(4)
    expect(await valueAsOf(afterwards)).toBe(0)

    // A value no kind of this code can read, put after the deletion: reads before it still succeed.
    await kv.put(key, new TextEncoder().encode('{"not":"a register change"}'))
    expect(await valueAsOf("2026-12-01T10:00:02.000Z")).toBe(4)
    const landing = await failureOf(
      asOf(replayed.read(inventoryOnHand, "SKU-M"), new Date(Date.now() + 60_000).toISOString()),
    )
    expect(landing.reason).toMatchObject({ _tag: "UndecodableValue", key })
  })
})
