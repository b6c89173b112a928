import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, postgresTestUrl, startNatsServer, workspaceNode } from "@mesh/stack"
import { Effect, Fiber } from "effect"
import { sql } from "kysely"
import { build } from "rolldown"
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest"
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
  const bundle = join(mkdtempSync(join(tmpdir(), "mesh-projector-")), "projectorProcess.mjs")
  await build({ input: source, platform: "node", logLevel: "warn", output: { file: bundle, format: "esm" } })
  script = bundle
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

const source = join(import.meta.dirname, "testing", "projectorProcess.ts")
// A hundred-odd processes start in this file. Bundled once into one file, each start loads without
// resolving and type-stripping the workspace's modules one by one (see executorCrash.int.spec.ts).
// The bundle is the same source: nothing is mocked or compiled differently.
let script = source

interface ProjectorChild {
  readonly child: ChildProcess
  /** Starts a child spawned with `preload`. */
  readonly go: () => void
  readonly ready: Promise<void>
  /** Resolves once the child has committed the commit at `sequence` (or later ones). */
  readonly committedUpTo: (sequence: number) => Promise<void>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stderr: () => string
}

/**
 * Spawns a projector process. With `preload` it loads its modules and then waits for `go`, so
 * that loading (about a second of CPU) overlaps the previous process's run instead of adding to it.
 */
const spawnProjector = (
  env: Record<string, string>,
  options: { readonly preload?: boolean } = {},
): ProjectorChild => {
  const child = spawn(workspaceNode(), [script], {
    env: {
      ...process.env,
      // V8's code cache across the hundred-odd processes: it takes about a third off each start.
      NODE_COMPILE_CACHE: join(tmpdir(), "mesh-kernel-crash-test"),
      ...env,
      ...(options.preload === true ? { MESH_WAIT_FOR_GO: "1" } : {}),
    },
    stdio: ["pipe", "pipe", "pipe"],
  })
  let stderr = ""
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk)
  })
  let isReady = false
  let committed = 0
  const waiting: Array<() => void> = []
  let partial = ""
  child.stdout?.on("data", (chunk) => {
    const lines = (partial + String(chunk)).split("\n")
    partial = lines.pop() ?? ""
    for (const line of lines) {
      if (line === "ready") isReady = true
      if (line.startsWith("committed "))
        committed = Math.max(committed, Number(line.slice("committed ".length)))
    }
    for (const check of [...waiting]) check()
  })
  const until = (condition: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!condition()) return
        waiting.splice(waiting.indexOf(check), 1)
        resolve()
      }
      waiting.push(check)
      check()
    })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  )
  return {
    child,
    go: () => void child.stdin?.write("go\n"),
    ready: until(() => isReady),
    committedUpTo: (sequence) => until(() => committed >= sequence),
    exited,
    stderr: () => stderr,
  }
}

describe("a projector killed with SIGKILL between commit and ack", () => {
  it("ends, after 100 kills across a 10,000-event run, equal to a fresh rebuild with no event applied twice", {
    // Two to seven minutes here, sharing two cores with the executor's crash test in CI; the
    // bound is for a hang, not for speed.
    timeout: 1_200_000,
  }, async () => {
    const log = await freshEventLog(nats, "kc")
    const schema = database.newSchema()
    const rounds = ticketTraffic({ events: 10_000, tickets: 200, prefix: "k", maxCommitSize: 5 })
    expect(eventCount(rounds)).toBe(10_000)
    const appender = makeTicketAppender(log)
    const totalCommits = rounds.reduce((n, round) => n + round.length, 0)
    // A quarter of the events exist before the first start (catch-up); the rest arrive as the
    // kills go on (live).
    const upfront = Math.floor(rounds.length / 4)
    for (const round of rounds.slice(0, upfront)) await run(appender.appendRound(round))
    let appended = upfront

    const env = {
      MESH_NATS_URL: server.url,
      MESH_NAMESPACE: log.namespace,
      MESH_DATABASE_URL: postgresTestUrl(),
      MESH_SCHEMA: schema,
    }
    const observer = makeProjector({ projection: ticketProjection(), db: database.db, schema, eventLog: log })
    const checkpoint = async () => (await run(observer.status)).streams[0]!.checkpoint

    const kills = { external: 0, self: 0 }
    const checkpointsAtKill: Array<number> = []
    let killedWithWorkPending = 0
    // Small batches of varying size: many commit-and-ack windows, each a place for a kill to land.
    const spawnCrashing = () =>
      spawnProjector(
        {
          ...env,
          MESH_BATCH_SIZE: String(1 + Math.floor(Math.random() * 8)),
          MESH_CRASH_AFTER_COMMIT: "0.02",
        },
        { preload: true },
      )
    let next: ProjectorChild | undefined
    onTestFinished(() => void next?.child.kill("SIGKILL"))
    let atKill = 0
    while (kills.external < 100) {
      // Each process gets a random share of the commits left (an equal one on average, so that the
      // kills spread over the whole run), and is killed once it has committed that far, at a random
      // moment of the batch it is then in.
      const share = Math.max(1, Math.round((2 * (totalCommits - atKill)) / (101 - kills.external)))
      let head = await run(log.headSequence("customer"))
      while (appended < rounds.length && head - atKill < share) {
        await run(appender.appendRound(rounds[appended++]!))
        head = await run(log.headSequence("customer"))
      }
      const target = atKill + 1 + Math.floor(Math.random() * Math.min(share, Math.max(1, head - atKill)))
      const projector = next ?? spawnCrashing()
      next = spawnCrashing()
      projector.go()
      const killAfterMs = Math.random() * 20
      const working = Promise.race([
        projector.committedUpTo(target),
        // Only when there is nothing left to commit.
        projector.ready.then(() => sleep(5_000)),
      ])
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
      atKill = await checkpoint()
      if (first === "timer") {
        checkpointsAtKill.push(atKill)
        if (atKill < (await run(log.headSequence("customer")))) killedWithWorkPending++
      }
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
    // Kills landed while work was in flight, not only on an idle projector, all across the log.
    expect(killedWithWorkPending).toBeGreaterThanOrEqual(80)
    expect(new Set(checkpointsAtKill).size).toBeGreaterThan(80)
    for (let quarter = 0; quarter < 4; quarter++) {
      const inQuarter = checkpointsAtKill.filter(
        (c) => c >= (quarter * totalCommits) / 4 && c < ((quarter + 1) * totalCommits) / 4,
      )
      expect(inQuarter.length, `kills in quarter ${quarter + 1} of the log`).toBeGreaterThanOrEqual(5)
    }

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
      `crash test: ${kills.external} external SIGKILLs, ${killedWithWorkPending} of them with work in flight, ${kills.self} self-inflicted right after a commit, ${new Set(checkpointsAtKill).size} distinct checkpoints at kill time, from ${Math.min(...checkpointsAtKill)} to ${Math.max(...checkpointsAtKill)} of ${totalCommits} commits`,
    )
  })
})
