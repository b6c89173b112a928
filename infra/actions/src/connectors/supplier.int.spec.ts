import { type Simulators, startSimulators } from "@mesh/simulators"
import { afterAll, beforeAll } from "vitest"
import { describeConnectorContract } from "../testing/connectorContract.ts"
import { simulatorContractHooks } from "../testing/simulatorContract.ts"
import { makeHttpConnector } from "./httpConnector.ts"
import { supplierApi } from "./systems.ts"

// Long enough for 20 parallel calls on a busy 2-core machine; the slow-response fault is 2.5 times it.
const timeoutMs = 1_000

let sims: Simulators
beforeAll(async () => {
  sims = await startSimulators()
})
afterAll(async () => {
  await sims?.stop()
})

describeConnectorContract("supplier.place-order over HTTP", () => ({
  connector: makeHttpConnector(supplierApi, { baseUrl: sims.supplier.url, timeoutMs }),
  kind: "supplier.place-order",
  compensationKind: "supplier.cancel-order",
  parameters: (tag) => ({
    supplierId: "s-1",
    sku: `lamp-${tag}`,
    quantity: 4,
    unitCostMinor: 900,
    currency: "EUR",
  }),
  changed: (parameters) => ({ ...parameters, quantity: 400 }),
  // The simulated supplier refuses orders to suppliers whose id starts with `unknown` (422).
  refused: (tag) => ({
    supplierId: `unknown-${tag}`,
    sku: "lamp",
    quantity: 1,
    unitCostMinor: 900,
    currency: "EUR",
  }),
  ...simulatorContractHooks(sims.supplier, { timeoutMs }),
}))
