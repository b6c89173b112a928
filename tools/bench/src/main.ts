import { openNats } from "@mesh/eventlog"
import { startNatsServer } from "@mesh/stack"
import pg from "pg"
import { runAppendBench, runAppendLatencyBench } from "./append.ts"
import { type BenchResult, printResult, writeResult } from "./harness.ts"
import { runReadBench } from "./read.ts"

/**
 * `pnpm bench [name ...]`: runs each benchmark's path and the raw path beneath it in the same
 * run, prints both and their ratio, and writes tools/bench/results/<benchmark>.json.
 * NATS: a private nats-server (so that the shared one is never loaded or polluted) unless
 * BENCH_NATS_URL is set. Postgres: DATABASE_URL, else 127.0.0.1:5432/test if it answers.
 */
const selected = new Set(process.argv.slice(2))
const wants = (name: string) => selected.size === 0 || selected.has(name)

const findPostgres = async (): Promise<string | undefined> => {
  const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
  const client = new pg.Client({ connectionString: url })
  try {
    await client.connect()
    await client.end()
    return url
  } catch {
    console.log(`(Postgres not reachable at ${url}: benchmarks that need it are skipped)`)
    return undefined
  }
}

// Benchmarks owned by other packages load lazily, so that one can run without the others.
// biome-ignore lint/suspicious/noExplicitAny: the module's shape is checked by its own file
const importOptional = (specifier: string): Promise<any> => import(specifier)

const main = async () => {
  const server = process.env.BENCH_NATS_URL === undefined ? await startNatsServer() : undefined
  const natsUrl = process.env.BENCH_NATS_URL ?? server!.url
  const nats = await openNats(natsUrl, "mesh-bench")
  const databaseUrl = await findPostgres()
  const namespace = `bench${Date.now().toString(36)}`
  const results: Array<BenchResult> = []
  const record = (result: BenchResult) => {
    printResult(result)
    console.log(`  -> ${writeResult(result)}`)
    results.push(result)
  }
  try {
    if (wants("append")) record(await runAppendBench({ nats, namespace: `${namespace}a`, databaseUrl }))
    if (wants("append-latency")) record(await runAppendLatencyBench({ nats, namespace: `${namespace}l` }))
    if (wants("read")) record(await runReadBench({ nats, namespace: `${namespace}r` }))
    if (wants("projection") && databaseUrl !== undefined) {
      const { runProjectionBench } = await importOptional("./projection.ts")
      record(await runProjectionBench({ natsUrl, databaseUrl }))
    }
    if (wants("memory")) {
      const { runRetrievalBench } = await importOptional("./memory/retrieval.ts")
      record(await runRetrievalBench({}))
    }
  } finally {
    await nats.connection.drain()
    await server?.stop()
  }
  const missed = results.filter((r) => !r.goalMet).map((r) => r.benchmark)
  console.log(missed.length === 0 ? "\nall goals met" : `\ngoals not met: ${missed.join(", ")}`)
}

await main()
