import { type SimulatorHandle, serveSimulator } from "./simulator.ts"
import { mailboxSystem, paymentSystem, storefrontSystem, supplierSystem } from "./systems.ts"

// Kept for callers that took canonicalJson from here; it is the one in @mesh/contracts.
export { canonicalJson } from "@mesh/contracts"
export {
  type Effect,
  type FaultPlan,
  type Json,
  type JsonObject,
  type LedgerEntry,
  type Route,
  type RouteRequest,
  type RouteResult,
  type SimulatedSystem,
  type SimulatorHandle,
  serveSimulator,
} from "./simulator.ts"
export type { Attribute, Product } from "./storefront/catalogue.ts"
export type {
  OrderEvent,
  OrderLine,
  OrderSnapshot,
  OrderStatus,
  OrderTopic,
  SkuQuantity,
} from "./storefront/orders.ts"
export {
  type DeliveryAttempt,
  defaultWebhookFaults,
  deliveryTimeoutMs,
  signatureOf,
  type WebhookFaults,
} from "./storefront/webhooks.ts"
export { mailboxSystem, paymentSystem, storefrontSystem, supplierSystem } from "./systems.ts"

/** The names of the simulated external systems. */
export const simulatorNames = ["storefront", "payment", "supplier", "mailbox"] as const
/** The name of a simulated external system. */
export type SimulatorName = (typeof simulatorNames)[number]

/** The four simulators of the demo's external systems, each on its own port. */
export interface Simulators {
  readonly storefront: SimulatorHandle
  readonly payment: SimulatorHandle
  readonly supplier: SimulatorHandle
  readonly mailbox: SimulatorHandle
  /** Base URL of each simulator, by name. */
  readonly urls: Readonly<Record<SimulatorName, string>>
  /** Every simulator's ledger entries, in one list. */
  ledger(): ReadonlyArray<import("./simulator.ts").LedgerEntry>
  /** Calls of each system's API so far, by simulator. */
  calls(): Readonly<Record<SimulatorName, number>>
  /** Resets every simulator. */
  reset(): void
  stop(): Promise<void>
}

/** Starts the four simulators in this process (ports chosen by the OS unless given). */
export const startSimulators = async (
  options: { readonly host?: string; readonly ports?: Partial<Record<SimulatorName, number>> } = {},
): Promise<Simulators> => {
  const systems = {
    storefront: storefrontSystem(),
    payment: paymentSystem(),
    supplier: supplierSystem(),
    mailbox: mailboxSystem(),
  }
  const started: Array<SimulatorHandle> = []
  try {
    for (const name of simulatorNames) {
      const port = options.ports?.[name]
      started.push(
        await serveSimulator(systems[name], {
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(port === undefined ? {} : { port }),
        }),
      )
    }
  } catch (cause) {
    await Promise.all(started.map((s) => s.stop()))
    throw cause
  }
  const [storefront, payment, supplier, mailbox] = started as [
    SimulatorHandle,
    SimulatorHandle,
    SimulatorHandle,
    SimulatorHandle,
  ]
  const all = [storefront, payment, supplier, mailbox]
  return {
    storefront,
    payment,
    supplier,
    mailbox,
    urls: { storefront: storefront.url, payment: payment.url, supplier: supplier.url, mailbox: mailbox.url },
    ledger: () => all.flatMap((s) => s.ledger()),
    calls: () => ({
      storefront: storefront.calls(),
      payment: payment.calls(),
      supplier: supplier.calls(),
      mailbox: mailbox.calls(),
    }),
    reset: () => {
      for (const s of all) s.reset()
    },
    stop: async () => {
      await Promise.all(all.map((s) => s.stop()))
    },
  }
}
