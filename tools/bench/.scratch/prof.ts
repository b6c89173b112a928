import { inventoryOnHand } from "@mesh/contracts"
import { applyTopology, declareTopology, openNats } from "@mesh/eventlog"
import { makeRegisters } from "@mesh/registers"
import { Effect } from "effect"
const nats = await openNats(process.argv[2]!)
const namespace = `prof${Date.now().toString(36)}`
await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
const registers = await Effect.runPromise(makeRegisters(nats, { namespace, agent: "procurement", instance: "bench" }))
const go = async (writes: number) => {
  await Promise.all(Array.from({ length: 16 }, async (_, lane) => {
    for (let n = lane; n < writes; n += 16) await Effect.runPromise(registers.write(inventoryOnHand, `SKU-${n % 1000}`, { _tag: "Add", amount: 1 }))
  }))
}
await go(2000)
const t = performance.now(); await go(30000); console.log("w/s", 30000 / ((performance.now() - t) / 1000))
await nats.connection.drain()
