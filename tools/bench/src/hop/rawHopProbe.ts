/**
 * The raw round trip sampled in a process of its own while a day plays, as an agent is one: it
 * shares the day's machine, its two cores and its server, so its floor carries the same load the
 * agents' hops do. Argv: the NATS URL, a namespace, the pace in ms. It prints `ready` once its
 * stream is declared, starts sampling on a line `start` on stdin and stops when stdin ends (also
 * when its parent dies), then prints the round trips as one JSON array and exits.
 */
import { createInterface } from "node:readline"
import { openNats } from "@mesh/eventlog"
import { rawAppendToDelivery } from "./rawHop.ts"

const [url, namespace, pace] = process.argv.slice(2)
if (url === undefined || namespace === undefined) {
  process.stderr.write("usage: rawHopProbe.ts <nats-url> <namespace> [pace-ms]\n")
  process.exit(2)
}
const nats = await openNats(url, "mesh-bench-raw-hop")
const lines = createInterface({ input: process.stdin })
let start: () => void = () => undefined
const started = new Promise<void>((resolve) => {
  start = resolve
})
let stop: () => void = () => undefined
const ended = new Promise<void>((resolve) => {
  stop = resolve
})
lines.on("line", (line) => {
  if (line.trim() === "start") start()
})
lines.once("close", () => {
  start()
  stop()
})
process.stdout.write("ready\n")
await started
const roundTrips = await rawAppendToDelivery(nats, namespace, {
  label: "probe",
  paceMs: Number(pace ?? 50),
  until: ended,
})
process.stdout.write(`${JSON.stringify(roundTrips)}\n`)
await nats.connection.close()
