/**
 * An action executor as its own process, for the crash tests. It executes the actions of the
 * namespace named by the environment against the simulators' URLs, prints "ready" once it
 * consumes, and with MESH_CRASH_POINT=<point> and MESH_CRASH_ACTION=<action id> SIGKILLs itself
 * the moment that action reaches that point: no finally block, no flush, no ack. MESH_CONSUMER and
 * MESH_FILTER_SUBJECT narrow it to one durable consumer and one agent's actions. With
 * MESH_CRASH_FROM_STDIN=1 it loads and connects, prints "warm", and waits for one line of JSON,
 * `{ "point": …, "action": … }`, before it consumes: the crash test keeps the next process warm
 * while the current one runs, so that module loading is not paid between runs.
 *
 *   MESH_NATS_URL=… MESH_NAMESPACE=… MESH_PAYMENT_URL=… MESH_SUPPLIER_URL=… MESH_MAILBOX_URL=… MESH_STOREFRONT_URL=… node executorProcess.ts
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

let crashPoint = optional("MESH_CRASH_POINT")
let crashAction = optional("MESH_CRASH_ACTION")

const nats = await openNats(required("MESH_NATS_URL"), "executor-process")
const executor = makeActionExecutor({
  nats,
  namespace: required("MESH_NAMESPACE"),
  connectors: makeHttpConnectorRegistry({
    paymentUrl: optional("MESH_PAYMENT_URL"),
    supplierUrl: optional("MESH_SUPPLIER_URL"),
    storefrontUrl: optional("MESH_STOREFRONT_URL"),
    mailboxUrl: optional("MESH_MAILBOX_URL"),
    timeoutMs: Number(optional("MESH_CONNECTOR_TIMEOUT_MS") ?? "1000"),
  }),
  retry: { initialMs: 20, maxMs: 200, factor: 2 },
  // Above the connector timeout, as in production: only an attempt that cannot still be in flight is recovered.
  leaseMs: Number(optional("MESH_LEASE_MS") ?? "1100"),
  ackWaitMs: Number(optional("MESH_ACK_WAIT_MS") ?? "1000"),
  ...(optional("MESH_CONSUMER") === null ? {} : { consumerName: required("MESH_CONSUMER") }),
  ...(optional("MESH_FILTER_SUBJECT") === null ? {} : { filterSubject: required("MESH_FILTER_SUBJECT") }),
  crashPoint: (point, actionId) =>
    point === crashPoint && actionId === crashAction
      ? Effect.sync(() => process.kill(process.pid, "SIGKILL"))
      : Effect.void,
})
if (process.env.MESH_CRASH_FROM_STDIN === "1") {
  process.stdout.write("warm\n")
  const line = await new Promise<string>((resolve) => {
    let buffered = ""
    process.stdin.setEncoding("utf8")
    process.stdin.on("data", (chunk) => {
      buffered += chunk
      const end = buffered.indexOf("\n")
      if (end >= 0) resolve(buffered.slice(0, end))
    })
  })
  const designation = JSON.parse(line) as { point: string; action: string }
  crashPoint = designation.point
  crashAction = designation.action
}
process.stdout.write("ready\n")
await Effect.runPromise(executor.run())
