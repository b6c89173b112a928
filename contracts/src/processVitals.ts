import { Schema } from "effect"

// What an agent's /status says of its process under `process`: what an SRE asks first of an
// agent that answers late, and what a platform team sizes its pods by. Is it busy (its CPU, its
// event loop's share of the time running callbacks), and does one callback hold the others up
// (how late the event loop's turns come)? On a machine whose cores the agents share, a hop's
// latency follows these.

const Millis = Schema.Number.annotate({ description: "milliseconds" })

/**
 * The vitals of the process an agent runs in (every agent of it, in a process that runs several),
 * as /status gives them under `process`.
 */
export const ProcessVitals = Schema.Struct({
  pid: Schema.Int,
  uptimeSeconds: Schema.Number,
  /**
   * CPU time of the whole process since it started, every thread counted: the event loop, the
   * sentence encoder's thread, the garbage collector's helpers, LanceDB's runtime. Two reads a
   * window apart give the window's CPU.
   */
  cpuSeconds: Schema.Struct({ user: Schema.Number, system: Schema.Number }),
  memoryBytes: Schema.Struct({ rss: Schema.Number, heapUsed: Schema.Number }),
  eventLoop: Schema.Struct({
    /**
     * Time the event loop spent running callbacks and waiting for work, since the process started.
     * Two reads a window apart give its utilisation in the window: active over active and idle.
     * Near 1, the agent's work queues behind itself.
     */
    activeMs: Millis,
    idleMs: Millis,
    /**
     * How late its turns came, beyond their schedule, since the agent started serving,
     * sampled every few milliseconds: a callback that runs long holds every other up,
     * a NATS reply and the next delivery included.
     */
    delayMs: Schema.Struct({ p50: Millis, p99: Millis, max: Millis }),
  }),
})
export type ProcessVitals = typeof ProcessVitals.Type
