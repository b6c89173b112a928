import { messageOf, openNats } from "@mesh/eventlog"
import { startNatsServer } from "@mesh/stack"
import pg from "pg"
import { runAppendBench, runAppendLatencyBench } from "./append.ts"
import { type BenchResult, printResult, writeResult } from "./harness.ts"
import { runReadBench } from "./read.ts"

/** The benchmarks, in the order they run, and what each needs. */
const benchmarks = {
  append:
    "appends over 1,000 aggregates beside js.publish with an expected sequence; NATS (Postgres adds Emmett's figure)",
  "append-latency": "one awaited append at a time, p50 and p99, beside the raw publish; NATS",
  read: "loading a 50-event aggregate beside an ordered consumer; NATS",
  replay:
    "replaying 20,000 ticket events (decode, upcast, fold through the ticket decider) beside a raw ordered consumer JSON-parsing each message; NATS",
  projection:
    "projection catch-up of 50,000 events beside multi-row pg inserts; NATS and Postgres (skipped without)",
  actions:
    "auto actions from intent to ActionSucceeded through the gate and executor beside js.publish of the same commits, and beside the floor: the same wire work (appends, deliveries and acks, the simulator call) in nats.js alone; NATS and the simulators",
  registers:
    "register writes by compare-and-set with merge over 1,000 registers beside raw KV update with revision; NATS",
  memory: "top-10 retrieval over 100k 384-d vectors beside the same LanceDB query; local disk only",
  "customer-ops":
    "a ticket from received to reply routed (p95, p99) and the hop from an append to the agent's reaction, the customer-ops agent in process with the offline model, beside the skills alone and a plain JetStream hop; NATS, Postgres (else PGlite) and the simulators",
  drafting:
    "64 listings drafted in batches of 8 (decideEachOnce, a recorded decision each) beside one at a time and the batch model calls alone, a fake Ollama at 25 ms a call; NATS",
  triage:
    "offline triage skill runs by message size beside the model alone and featurize, over-cap messages too; in-process only",
  day: "a shop's day through the whole mesh (every agent its own process): events per second, each workflow's latency, and each hop between agents beside the raw append-to-delivery round trip; NATS",
} as const
type BenchmarkName = keyof typeof benchmarks
const names = Object.keys(benchmarks) as ReadonlyArray<BenchmarkName>

const USAGE = `usage: pnpm bench [${names.join("|")} ...]     (no name: all of them)

Each benchmark measures our path beside the raw path beneath it in the same run, prints both and
their ratio, and writes tools/bench/results/<benchmark>.json.

${names.map((name) => `  ${name.padEnd(16)}${benchmarks[name]}`).join("\n")}

NATS      a private nats-server from PATH (the shared one is never loaded), or MESH_BENCH_NATS_URL
Postgres  MESH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test if it answers`

/**
 * `pnpm bench [name ...]`: the named benchmarks, or all. `--help` prints the usage; an unknown
 * name is a usage error (exit 2) that names it, before anything starts.
 */
const parseArgs = (args: ReadonlyArray<string>): ReadonlySet<BenchmarkName> | "help" | string => {
  if (args.includes("--help") || args.includes("-h")) return "help"
  const unknown = args.filter((a) => !(names as ReadonlyArray<string>).includes(a))
  if (unknown.length > 0)
    return `unknown benchmark ${unknown.map((a) => JSON.stringify(a)).join(", ")}: expected ${names.join(", ")} (see pnpm bench --help)`
  return new Set(args.length === 0 ? names : (args as ReadonlyArray<BenchmarkName>))
}

const parsed = parseArgs(process.argv.slice(2))
if (parsed === "help") {
  console.log(USAGE)
  process.exit(0)
}
if (typeof parsed === "string") {
  process.stderr.write(`bench: ${parsed}\n`)
  process.exit(2)
}
const selected = parsed
const wants = (name: BenchmarkName) => selected.has(name)
/** The benchmarks that need neither NATS nor Postgres: run alone, they start neither. */
const standalone: ReadonlySet<BenchmarkName> = new Set(["memory", "triage"])
const needsNats = [...selected].some((name) => !standalone.has(name))
const needsPostgres = wants("append") || wants("projection") || wants("customer-ops")

const findPostgres = async (): Promise<string | undefined> => {
  const url = process.env.MESH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test"
  const client = new pg.Client({ connectionString: url })
  try {
    await client.connect()
    await client.end()
    return url
  } catch {
    console.error(`(Postgres not reachable at ${url}: benchmarks that need it are skipped)`)
    return undefined
  }
}

// Benchmarks owned by other packages load lazily, so that one can run without the others.
// biome-ignore lint/suspicious/noExplicitAny: the module's shape is checked by its own file
const importOptional = (specifier: string): Promise<any> => import(specifier)

const main = async () => {
  const server =
    needsNats && process.env.MESH_BENCH_NATS_URL === undefined ? await startNatsServer() : undefined
  const natsUrl = process.env.MESH_BENCH_NATS_URL ?? server?.url
  const nats = needsNats && natsUrl !== undefined ? await openNats(natsUrl, "mesh-bench") : undefined
  const databaseUrl = needsPostgres ? await findPostgres() : undefined
  const namespace = `bench${Date.now().toString(36)}`
  const results: Array<BenchResult> = []
  const record = (result: BenchResult) => {
    printResult(result)
    console.log(`  -> ${writeResult(result)}`)
    results.push(result)
  }
  try {
    // Set whenever a selected benchmark is not standalone, so always for these.
    if (nats !== undefined && natsUrl !== undefined) {
      if (wants("append")) record(await runAppendBench({ nats, namespace: `${namespace}a`, databaseUrl }))
      if (wants("append-latency")) record(await runAppendLatencyBench({ nats, namespace: `${namespace}l` }))
      if (wants("read")) record(await runReadBench({ nats, namespace: `${namespace}r` }))
      if (wants("replay")) {
        const { runReplayBench } = await importOptional("./replay.ts")
        record(await runReplayBench({ nats, namespace: `${namespace}p` }))
      }
      if (wants("projection") && databaseUrl !== undefined) {
        const { runProjectionBench } = await importOptional("./projection.ts")
        record(await runProjectionBench({ natsUrl, databaseUrl }))
      }
      if (wants("actions")) {
        const { runActionsBench } = await importOptional("./actions.ts")
        record(await runActionsBench({ nats, namespace: `${namespace}x` }))
      }
      if (wants("registers")) {
        const { runRegistersBench } = await importOptional("./registers.ts")
        record(await runRegistersBench({ nats, namespace: `${namespace}g` }))
      }
      if (wants("customer-ops")) {
        const { runCustomerOpsBench } = await importOptional("./customerOps.ts")
        record(await runCustomerOpsBench({ nats, natsUrl, databaseUrl, namespace: `${namespace}c` }))
      }
      if (wants("day")) {
        const { runDayBench } = await importOptional("./day.ts")
        record(await runDayBench({ nats, natsUrl, namespace: `${namespace}y` }))
      }
      if (wants("drafting")) {
        const { runDraftingBench } = await importOptional("./drafting.ts")
        record(await runDraftingBench({ nats, namespace: `${namespace}d` }))
      }
    }
    if (wants("memory")) {
      const { runRetrievalBench } = await importOptional("./memory/retrieval.ts")
      record(await runRetrievalBench({}))
    }
    if (wants("triage")) {
      const { runTriageBench } = await importOptional("./triage.ts")
      record(await runTriageBench({}))
    }
  } finally {
    await nats?.connection.drain()
    await server?.stop()
  }
  const missed = results.filter((r) => !r.goalMet).map((r) => r.benchmark)
  console.log(missed.length === 0 ? "\nall goals met" : `\ngoals not met: ${missed.join(", ")}`)
}

// A failure is one line on stderr, not a stack trace.
await main().catch((error: unknown) => {
  process.stderr.write(`bench: ${messageOf(error)}\n`)
  process.exitCode = 1
})
