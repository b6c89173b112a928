import { tmpdir } from "node:os"
import { join } from "node:path"
import { defineConfig } from "vitest/config"

// Unit specs are pure and fast; integration and end-to-end specs start real servers
// (a private nats-server per file, Postgres, PGlite, LanceDB), so they get longer timeouts
// and run with limited parallelism on these 2-core machines. Fault specs kill and restart
// Postgres and NATS under running parts for minutes: their own project, one file at a time, so
// that their outages and recoveries are not timed against other suites' load.
const faults = "**/src/**/faults.*.spec.ts"
// Load specs drive thousands of contended writes through real servers for minutes (registers'
// compare-and-set rounds, on one server and on a 3-node cluster). They share the fault specs' lane,
// one file at a time: run beside a fault spec, they would slow its recoveries for no gain.
const load = "**/src/**/*.load.spec.ts"
// The shop's day plays twice with one seed and compares what each message was given: beside
// another suite's mesh on these two cores, the first play's read models lag where the second's do
// not (a listing not yet projected when a question about it comes), and the comparison measures
// the neighbour, not the mesh. It shares the one-at-a-time lane.
const shopDay = "tools/demo/src/shopDay.e2e.spec.ts"

// V8's compile cache for every worker and every process a spec starts (they inherit this
// environment): the same node_modules load in each of some two hundred workers and hundreds of
// agent and CLI processes. Measured on the unit project: about 6% less CPU.
process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), "node-compile-cache")

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/src/**/*.unit.spec.ts"],
          exclude: ["**/node_modules/**"],
          // As many workers as the integration project, so that the two run as one group: on two
          // cores vitest's default is one worker, which put every unit file in the one-at-a-time
          // lane after the slow suites (about 90 s of one busy core at the end of a run).
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "int",
          include: ["**/src/**/*.int.spec.ts", "**/src/**/*.e2e.spec.ts"],
          exclude: ["**/node_modules/**", faults, load, shopDay],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "slow",
          include: [faults, load, shopDay],
          exclude: ["**/node_modules/**"],
          testTimeout: 15 * 60_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
        },
      },
    ],
  },
})
