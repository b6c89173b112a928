import { tmpdir } from "node:os"
import { join, matchesGlob, relative } from "node:path"
import { defineConfig } from "vitest/config"
import { BaseSequencer, type TestSpecification } from "vitest/node"

// Unit specs are pure and fast; integration and end-to-end specs start real servers
// (a private nats-server per file, Postgres, PGlite, LanceDB), so they get longer timeouts
// and run two at a time on these 2-core machines.
//
// Two lanes run after them:
// - The slow lane, two at a time, pairs two kinds of spec. Timed specs SIGKILL and restart
//   Postgres and NATS under running parts and bound how long each part takes to come back; each
//   holds the quiet lane (`useQuietLane`, a machine-wide mutex), so that no recovery is timed
//   against another spec's outage. Steady specs run for minutes at about one core each with no
//   bound on any one step: the crash specs (hundreds of SIGKILLed projector and executor
//   processes, counted, not timed) and the load specs (thousands of contended register writes).
//   Each kind fills the core the other leaves idle. Before this lane the crash specs ran in the
//   integration group and the timed specs one at a time beside an idle core.
// - The day lane, alone: the shop's day spec plays `pnpm demo` in child processes (four agents,
//   the simulators, a nats-server) three times: twice with one seed, to compare what each message
//   was given, and once more with ten agents SIGKILLed. Its agents' start uses both cores, and
//   beside a crash spec it took three times as long (43 s, not 15 s); beside another mesh the
//   first play's read models lagged where the second's did not. It holds the quiet lane as well.
const timed = ["**/src/**/faults.*.spec.ts"]
const steady = [
  "**/src/**/*.load.spec.ts",
  "infra/kernel/src/projections/crash.int.spec.ts",
  "infra/actions/src/executor/executorCrash.int.spec.ts",
]
const days = ["tools/demo/src/shopDay.e2e.spec.ts"]
// Unit specs that assert on what a process holds before anything loads it (the sentence encoder
// is one per process): each in a process of its own, as integration specs are.
const unitOwnProcess = ["infra/models/src/offline/warm.unit.spec.ts"]
const slowLane = [...timed, ...steady]

const matches = (globs: ReadonlyArray<string>, spec: TestSpecification): boolean =>
  globs.some((glob) => matchesGlob(relative(spec.project.config.root, spec.moduleId), glob))

/**
 * Orders the slow lane steady, timed, steady, timed, … (each kind longest first, as vitest's own
 * order has them), so that each of the two workers mostly holds one of each kind: a worker that
 * picked a second timed spec would wait idle for the quiet lane.
 */
class SlowLaneSequencer extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const sorted = await super.sort(files)
    const slow = sorted.filter((spec) => spec.project.name === "slow")
    const timedSpecs = slow.filter((spec) => matches(timed, spec))
    const steadySpecs = slow.filter((spec) => !matches(timed, spec))
    const interleaved: Array<TestSpecification> = []
    for (let i = 0; i < Math.max(timedSpecs.length, steadySpecs.length); i++) {
      if (steadySpecs[i]) interleaved.push(steadySpecs[i]!)
      if (timedSpecs[i]) interleaved.push(timedSpecs[i]!)
    }
    return [...sorted.filter((spec) => spec.project.name !== "slow"), ...interleaved]
  }
}

// V8's compile cache for every worker and every process a spec starts (they inherit this
// environment): the same node_modules load in each of some two hundred workers and hundreds of
// agent and CLI processes. Measured on the unit project: about 6% less CPU.
process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), "node-compile-cache")

export default defineConfig({
  test: {
    sequence: { sequencer: SlowLaneSequencer },
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
          maxWorkers: 2,
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
