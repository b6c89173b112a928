import { tmpdir } from "node:os"
import { join } from "node:path"
import { defineConfig } from "vitest/config"

// Unit specs are pure and fast; integration and end-to-end specs start real servers
// (a private nats-server per file, Postgres, PGlite, LanceDB), so they get longer timeouts
// and run two at a time on these 2-core machines.
//
// Two lanes run after them, each one file at a time:
// - The slow lane: fault specs SIGKILL and restart Postgres and NATS under running parts and bound
//   how long each part takes to come back; load specs drive thousands of contended register writes.
//   Paired with a crash spec on the other core (tried for two CI runs), a fault spec's agent once
//   stalled past its 90 s bound after an outage: their recoveries are timed against nothing but
//   themselves. The crash specs, counted and not timed, stay in the integration group.
// - The day lane: the shop's day spec plays `pnpm demo` in child processes (four agents, the
//   simulators, a nats-server) three times: twice with one seed, to compare what each message was
//   given, and once more with ten agents SIGKILLed. Beside a crash spec its agents took three times
//   as long to start (43 s, not 15 s); beside another mesh the first play's read models lagged
//   where the second's did not.
// Timed specs also hold the quiet lane (`useQuietLane`, a machine-wide mutex), so that a run that
// names them together (a filter, another config) still never times two at once.
const slowLane = ["**/src/**/faults.*.spec.ts", "**/src/**/*.load.spec.ts"]
const days = ["tools/demo/src/shopDay.e2e.spec.ts"]
// Unit specs that assert on what a process holds before anything loads it (the sentence encoder
// is one per process): each in a process of its own, as integration specs are.
const unitOwnProcess = ["infra/models/src/offline/warm.unit.spec.ts"]

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
          exclude: ["**/node_modules/**", ...unitOwnProcess],
          // Pure specs share their workers: a fresh process per file cost 172 s of CPU for the
          // project, against 60 s shared (measured on this machine).
          isolate: false,
          // As many workers as the integration project, so that the two run as one group: on two
          // cores vitest's default is one worker, which put every unit file in the one-at-a-time
          // lane after the slow suites (about 90 s of one busy core at the end of a run).
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "unit-own-process",
          include: unitOwnProcess,
          exclude: ["**/node_modules/**"],
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "int",
          include: ["**/src/**/*.int.spec.ts", "**/src/**/*.e2e.spec.ts"],
          exclude: ["**/node_modules/**", ...slowLane, ...days],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "slow",
          include: slowLane,
          exclude: ["**/node_modules/**", ...days],
          testTimeout: 15 * 60_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
          // After the integration group, never beside it.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "day",
          include: days,
          exclude: ["**/node_modules/**"],
          testTimeout: 15 * 60_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
          // Last, alone.
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
})
