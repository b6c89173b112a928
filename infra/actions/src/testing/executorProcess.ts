/**
 * An action executor as its own process, for the crash tests. It executes the actions of the
 * namespace named by the environment against the simulators' URLs, prints "ready" once it
 * consumes, and with MESH_CRASH_POINT=<point> and MESH_CRASH_ACTION=<action id> SIGKILLs itself
 * the moment that action reaches that point: no finally block, no flush, no ack. MESH_CONSUMER and
 * MESH_FILTER_SUBJECT narrow it to one durable consumer and one agent's actions.
 *
 *   NATS_URL=… MESH_NAMESPACE=… PAYMENT_URL=… SUPPLIER_URL=… MAILBOX_URL=… STOREFRONT_URL=… node executorProcess.ts
 */
import { openNats } from "@mesh/eventlog"
import { Effect } from "effect"
import { makeHttpConnectorRegistry } from "../connectors/registry.ts"
import { makeActionExecutor } from "../executor/actionExecutor.ts"

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is required`)
  return value
}
const optional = (name: string): string | null => process.env[name] || null

const crashPoint = optional("MESH_CRASH_POINT")
const crashAction = optional("MESH_CRASH_ACTION")

const nats = await openNats(required("NATS_URL"), "executor-process")
const executor = makeActionExecutor({
  nats,
  namespace: required("MESH_NAMESPACE"),
  connectors: makeHttpConnectorRegistry({
    paymentUrl: optional("PAYMENT_URL"),
    supplierUrl: optional("SUPPLIER_URL"),
    storefrontUrl: optional("STOREFRONT_URL"),
    mailboxUrl: optional("MAILBOX_URL"),
    timeoutMs: 2_000,
  }),
  retry: { initialMs: 20, maxMs: 200, factor: 2 },
  leaseMs: Number(optional("MESH_LEASE_MS") ?? "100"),
  ackWaitMs: Number(optional("MESH_ACK_WAIT_MS") ?? "1000"),
  ...(optional("MESH_CONSUMER") === null ? {} : { consumerName: required("MESH_CONSUMER") }),
  ...(optional("MESH_FILTER_SUBJECT") === null ? {} : { filterSubject: required("MESH_FILTER_SUBJECT") }),
  crashPoint: (point, actionId) =>
    point === crashPoint && actionId === crashAction
      ? Effect.sync(() => process.kill(process.pid, "SIGKILL"))
      : Effect.void,
})
process.stdout.write("ready\n")
await Effect.runPromise(executor.run())
