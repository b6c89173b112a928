import { type Simulators, startSimulators } from "@mesh/simulators"
import { afterAll, beforeAll } from "vitest"
import { describeConnectorContract } from "../testing/connectorContract.ts"
import { simulatorContractHooks } from "../testing/simulatorContract.ts"
import { makeHttpConnector } from "./httpConnector.ts"
import { paymentApi } from "./systems.ts"

// Long enough for 20 parallel calls on a busy 2-core machine; the slow-response fault is 2.5 times it.
const timeoutMs = 1_000

let sims: Simulators
beforeAll(async () => {
  sims = await startSimulators()
})
afterAll(async () => {
  await sims?.stop()
})

describeConnectorContract("payment.refund over HTTP", () => ({
  connector: makeHttpConnector(paymentApi, { baseUrl: sims.payment.url, timeoutMs }),
  kind: "payment.refund",
  compensationKind: "payment.cancel-refund",
  parameters: (tag) => ({ orderId: `o-${tag}`, amountMinor: 1250, currency: "EUR", reason: "damaged" }),
  changed: (parameters) => ({ ...parameters, amountMinor: 9_999 }),
  // The simulated provider refuses refunds of orders whose id starts with `declined` (402).
  refused: (tag) => ({ orderId: `declined-${tag}`, amountMinor: 1250, currency: "EUR" }),
  ...simulatorContractHooks(sims.payment, { timeoutMs }),
}))
