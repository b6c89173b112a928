/**
 * A projector as its own process, for the crash test: it runs the ticket projection against the
 * NATS server, namespace, database and schema named by the environment, prints "ready" once set
 * up and "committed <sequence>" after each batch, and runs until killed. With
 * MESH_CRASH_AFTER_COMMIT=p it SIGKILLs itself right after a batch's Postgres commit with
 * probability p: the narrowest "between commit and ack" window.
 * With MESH_WAIT_FOR_GO=1 it prints "loaded" once its modules are loaded and starts on the first
 * line on stdin, so that the test can load the next process while the current one works.
 *
 *   MESH_NATS_URL=… MESH_NAMESPACE=… MESH_DATABASE_URL=… MESH_SCHEMA=… node projectorProcess.ts
 */
import { meshCatalog } from "@mesh/contracts"
import { makeEventLog, openNats } from "@mesh/eventlog"
import { makeKysely, openPostgresPool } from "@mesh/sql"
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

if (process.env.MESH_WAIT_FOR_GO === "1") {
  process.stdout.write("loaded\n")
  await new Promise((resolve) => process.stdin.once("data", resolve))
}

const nats = await openNats(required("MESH_NATS_URL"), "projector-process")
const eventLog = makeEventLog({ nats, catalog: meshCatalog, namespace: required("MESH_NAMESPACE") })
const db = makeKysely<unknown>(openPostgresPool(required("MESH_DATABASE_URL"), { max: 2 }))
const projector = makeProjector({
  projection: ticketProjection({ batchSize, lingerMs: 0 }),
  db,
  schema: required("MESH_SCHEMA"),
  eventLog,
  afterCommit: (outcome) =>
    Effect.sync(() => {
      if (outcome.commits === 0) return
      // Written synchronously (stdout is a pipe), so the line is out before a self-inflicted kill.
      process.stdout.write(`committed ${Math.max(...outcome.checkpoints.values())}\n`)
      if (Math.random() < crashProbability) process.kill(process.pid, "SIGKILL")
    }),
})

await Effect.runPromise(projector.setup)
process.stdout.write("ready\n")
await Effect.runPromise(projector.run)
