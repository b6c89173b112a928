/**
 * A projector as its own process, for the crash test: it runs the ticket projection against the
 * NATS server, namespace, database and schema named by the environment, prints "ready" once set
 * up and "committed" after its first batch, and runs until killed. With MESH_CRASH_AFTER_COMMIT=p it SIGKILLs itself right after a
 * batch's Postgres commit with probability p: the narrowest "between commit and ack" window.
 *
 *   NATS_URL=… MESH_NAMESPACE=… DATABASE_URL=… MESH_SCHEMA=… node projectorProcess.ts
 */
import { meshCatalog } from "@mesh/contracts"
import { makeEventLog, openNats } from "@mesh/eventlog"
import { makeKysely, openPostgresPool } from "@mesh/stack"
import { Effect } from "effect"
import { makeProjector } from "../projector.ts"
import { ticketProjection } from "./ticketProjection.ts"

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is required`)
  return value
}

const crashProbability = Number(process.env.MESH_CRASH_AFTER_COMMIT ?? "0")
const batchSize = Number(process.env.MESH_BATCH_SIZE ?? "2")

let committed = false
const nats = await openNats(required("NATS_URL"), "projector-process")
const eventLog = makeEventLog({ nats, catalog: meshCatalog, namespace: required("MESH_NAMESPACE") })
const db = makeKysely<unknown>(openPostgresPool(required("DATABASE_URL"), { max: 2 }))
const projector = makeProjector({
  projection: ticketProjection({ batchSize, lingerMs: 0 }),
  db,
  schema: required("MESH_SCHEMA"),
  eventLog,
  afterCommit: (outcome) =>
    Effect.sync(() => {
      if (outcome.commits > 0 && !committed) {
        committed = true
        process.stdout.write("committed\n")
      }
      if (outcome.commits > 0 && Math.random() < crashProbability) process.kill(process.pid, "SIGKILL")
    }),
})

await Effect.runPromise(projector.setup)
process.stdout.write("ready\n")
await Effect.runPromise(projector.run)
