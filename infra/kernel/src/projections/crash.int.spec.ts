import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { type NatsHandles, openNats } from "@mesh/eventlog"
import { findRepoRoot, type NatsServerHandle, postgresTestUrl, startNatsServer } from "@mesh/stack"
import { Effect, Fiber } from "effect"
import { sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeProjector } from "./projector.ts"
import { freshEventLog, openTestPostgres, type TestDatabase, waitUntil } from "./testing/harness.ts"
import { doubleApplied, ticketProjection, ticketReadModelChecksum } from "./testing/ticketProjection.ts"
import { eventCount, makeTicketAppender, ticketTraffic } from "./testing/traffic.ts"

// Real Postgres only: the projector runs in child processes that are killed, and an in-memory
// PGlite lives inside one process and cannot be shared with a child.

let server: NatsServerHandle
let nats: NatsHandles
let database: TestDatabase

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  database = await openTestPostgres()
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
  await database?.close()
})

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// vitest under `pnpm exec` runs on the workspace's Node 24, which strips types; otherwise use it explicitly.
const nodeBinary = (): string =>
  Number(process.versions.node.split(".")[0]) >= 24
    ? process.execPath
    : join(findRepoRoot(), "node_modules", ".bin", "node")

const script = join(import.meta.dirname, "testing", "projectorProcess.ts")

interface ProjectorChild {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  /** Resolves when the child committed its first batch. */
  readonly committed: Promise<void>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stderr: () => string
}

const spawnProjector = (env: Record<string, string>): ProjectorChild => {
  const child = spawn(nodeBinary(), [script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stderr = ""
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk)
  })
  let out = ""
  // Registered first, so that the listeners below see each chunk already appended.
  child.stdout?.on("data", (chunk) => {
    out += String(chunk)
  })
  const waitFor = (line: string) =>
    new Promise<void>((resolve) => {
      child.stdout?.on("data", () => {
        if (out.includes(`${line}\n`)) resolve()
      })
    })
  const ready = waitFor("ready")
  const committed = waitFor("committed")
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  )
  return { child, ready, committed, exited, stderr: () => stderr }
}

describe("a projector killed with SIGKILL between commit and ack", () => {
  it("ends, after 100 kills across a 10,000-event run, equal to a fresh rebuild with no event applied twice", {
    timeout: 300_000,
  }, async () => {
    const log = await freshEventLog(nats, "kc")
    const schema = database.newSchema()
    const rounds = ticketTraffic({ events: 10_000, tickets: 200, prefix: "k", maxCommitSize: 5 })
    expect(eventCount(rounds)).toBe(10_000)
    const appender = makeTicketAppender(log)
    // A quarter of the events exist before the first start (catch-up); the rest arrive spread over
    // the kills (live), so that most kills find work in flight.
    const upfront = Math.floor(rounds.length / 4)
    const appendEvery = Math.max(1, Math.floor(100 / (rounds.length - upfront)))
    for (const round of rounds.slice(0, upfront)) await run(appender.appendRound(round))
    let appended = upfront

    const env = {
      NATS_URL: server.url,
      MESH_NAMESPACE: log.namespace,
      DATABASE_URL: postgresTestUrl(),
      MESH_SCHEMA: schema,
      MESH_BATCH_SIZE: "1",
    }
    const observer = makeProjector({ projection: ticketProjection(), db: database.db, schema, eventLog: log })
    const checkpoint = async () => (await run(observer.status)).streams[0]!.checkpoint

    const kills = { external: 0, self: 0 }
    const checkpointsAtKill: Array<number> = []
    let killedWithWorkPending = 0
    while (kills.external < 100) {
      while (appended < Math.min(rounds.length, upfront + Math.floor(kills.external / appendEvery))) {
        await run(appender.appendRound(rounds[appended++]!))
      }
      const projector = spawnProjector({ ...env, MESH_CRASH_AFTER_COMMIT: "0.02" })
      // Kill at a random moment once the child is applying batches (or after a second without work).
      const killAfterMs = Math.random() * 100
      const working = Promise.race([projector.committed, projector.ready.then(() => sleep(1_000))])
      const first = await Promise.race([
        working.then(() => sleep(killAfterMs)).then(() => "timer" as const),
        projector.exited.then(() => "exited" as const),
      ])
      if (first === "timer") {
        projector.child.kill("SIGKILL")
        kills.external++
      }
      const exit = await projector.exited
      if (exit.signal !== "SIGKILL") {
        throw new Error(`the projector exited by itself (${JSON.stringify(exit)}): ${projector.stderr()}`)
      }
      if (first === "exited") kills.self++
      const atKill = await checkpoint()
      checkpointsAtKill.push(atKill)
      if (first === "timer" && atKill < (await run(log.headSequence("customer")))) killedWithWorkPending++
    }
    while (appended < rounds.length) await run(appender.appendRound(rounds[appended++]!))

    // A last run without crashes brings the read model to the head.
    const last = spawnProjector(env)
    const head = await run(log.headSequence("customer"))
    await waitUntil(async () => (await checkpoint()) === head, { timeoutMs: 120_000 })
    last.child.kill("SIGKILL")
    await last.exited

    expect(kills.external).toBe(100)
    expect(kills.self, "the crash hook killed some runs right after a commit").toBeGreaterThan(0)
    // Kills landed while work was in flight, not only on an idle projector.
    expect(killedWithWorkPending).toBeGreaterThanOrEqual(80)
    expect(new Set(checkpointsAtKill).size).toBeGreaterThan(80)

    expect(await doubleApplied(database.db, schema)).toEqual([])
    const totals = await sql<{ ledger: number; applied: number }>`
      select (select count(*)::int from ${sql.id(schema, "ticket_ledger")}) as ledger,
             (select sum(events_applied)::int from ${sql.id(schema, "tickets")}) as applied`.execute(
      database.db,
    )
    expect(totals.rows[0]).toEqual({ ledger: 10_000, applied: 10_000 })

    // A fresh rebuild from zero, in one uninterrupted in-process run, must give the same read model.
    const freshSchema = database.newSchema()
    const fresh = makeProjector({
      projection: ticketProjection(),
      db: database.db,
      schema: freshSchema,
      eventLog: log,
    })
    const fiber = Effect.runFork(fresh.run)
    await waitUntil(async () => (await run(fresh.status)).lag === 0, { watched: [fiber], timeoutMs: 120_000 })
    await run(Fiber.interrupt(fiber))
    expect(await ticketReadModelChecksum(database.db, schema)).toEqual(
      await ticketReadModelChecksum(database.db, freshSchema),
    )
    console.info(
      `crash test: ${kills.external} external SIGKILLs, ${killedWithWorkPending} of them with work in flight, ${kills.self} self-inflicted right after a commit, ${new Set(checkpointsAtKill).size} distinct checkpoints at kill time`,
    )
  })
})
