import { type Simulators, startSimulators } from "@mesh/simulators"
import { afterAll, beforeAll } from "vitest"
import { describeConnectorContract } from "../testing/connectorContract.ts"
import { simulatorContractHooks } from "../testing/simulatorContract.ts"
import { makeHttpConnector } from "./httpConnector.ts"
import { storefrontApi } from "./systems.ts"

// Long enough for 20 parallel calls on a busy 2-core machine; the slow-response fault is 2.5 times it.
const timeoutMs = 1_000

let sims: Simulators
beforeAll(async () => {
  sims = await startSimulators()
})
afterAll(async () => {
  await sims?.stop()
})

const connector = () => makeHttpConnector(storefrontApi, { baseUrl: sims.storefront.url, timeoutMs })

describeConnectorContract("storefront.adjust-stock over HTTP", () => ({
  connector: connector(),
  kind: "storefront.adjust-stock",
  compensationKind: "storefront.revert-stock-adjustment",
  // A fresh SKU per test starts at zero on hand, so a restock always applies and always reverts.
  parameters: (tag) => ({ sku: `lamp-${tag}`, delta: 3, reason: "returned" }),
  changed: (parameters) => ({ ...parameters, delta: 30 }),
  // Stock never goes below zero (422).
  refused: (tag) => ({ sku: `lamp-${tag}`, delta: -1 }),
  ...simulatorContractHooks(sims.storefront, { timeoutMs }),
}))

describeConnectorContract("storefront.publish-listing over HTTP", () => ({
  connector: connector(),
  kind: "storefront.publish-listing",
  compensationKind: "storefront.unpublish-listing",
  parameters: (tag) => ({ sku: `lamp-${tag}`, title: "Brass desk lamp", priceMinor: 4_900, currency: "EUR" }),
  changed: (parameters) => ({ ...parameters, priceMinor: 490 }),
  // Discontinued SKUs cannot be listed (422).
  refused: (tag) => ({ sku: `discontinued-${tag}`, title: "Old lamp", priceMinor: 100, currency: "EUR" }),
  ...simulatorContractHooks(sims.storefront, { timeoutMs }),
}))

describeConnectorContract("storefront.set-availability over HTTP", () => ({
  connector: connector(),
  kind: "storefront.set-availability",
  compensationKind: "storefront.revert-availability",
  parameters: (tag) => ({ sku: `lamp-${tag}`, inStock: false }),
  changed: (parameters) => ({ ...parameters, inStock: true }),
  // Discontinued SKUs have no availability (422).
  refused: (tag) => ({ sku: `discontinued-${tag}`, inStock: false }),
  ...simulatorContractHooks(sims.storefront, { timeoutMs }),
}))
