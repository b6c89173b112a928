import { mkdirSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** Where benchmark results are kept, in the repository, so progress is visible over time. */
export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "results")

/** The figures of one measured path (ours, raw, or a peer). */
export type PathFigures = Readonly<Record<string, number | string | boolean>>

/** One benchmark's result: the figures of each path and the ratio of ours to raw. */
export interface BenchResult {
  readonly benchmark: string
  readonly description: string
  readonly paths: Readonly<Record<string, PathFigures>>
  /** Ours relative to raw, oriented so that 1 means parity (throughput ours/raw, latency raw/ours). */
  readonly ratio: number
  readonly goal: string
  readonly goalMet: boolean
  readonly extra?: Readonly<Record<string, unknown>>
}

/** The p-th percentile (0-100) of a list of numbers. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export const now = (): number => performance.now()

const round = (n: number, digits = 3) => Number(n.toFixed(digits))

/** Writes `results/<benchmark>.json` with the machine it ran on. */
export const writeResult = (result: BenchResult): string => {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${result.benchmark}.json`)
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version }
  writeFileSync(
    file,
    `${JSON.stringify({ ...result, ratio: round(result.ratio), date: new Date().toISOString(), machine }, null, 2)}\n`,
  )
  return file
}

/** Prints a result as an aligned table. */
export const printResult = (result: BenchResult): void => {
  console.log(`\n## ${result.benchmark}: ${result.description}`)
  for (const [path, figures] of Object.entries(result.paths)) {
    const cells = Object.entries(figures).map(([k, v]) => `${k}=${typeof v === "number" ? round(v, 2) : v}`)
    console.log(`  ${path.padEnd(12)} ${cells.join("  ")}`)
  }
  console.log(
    `  ratio        ${round(result.ratio)}   goal: ${result.goal}  ${result.goalMet ? "MET" : "NOT MET"}`,
  )
}
