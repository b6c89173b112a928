import { unavailable } from "@mesh/eventlog"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { describe, expect, it } from "vitest"
import {
  makePartBoard,
  makeRecoverySignal,
  type PartStatus,
  partsReady,
  type RecoverySignal,
  type RestartBackoff,
  recoveryJitterMs,
  restartDelayMs,
  supervisePart,
  watchForRecovery,
} from "./partSupervisor.ts"
import { isTransientFailure } from "./transient.ts"

const quick = { initialMs: 5, maxMs: 40, resetAfterMs: 60_000 }

/** Runs a supervised part whose attempts follow `script` (then it runs until drained), recording every state it showed. */
const supervise = (
  script: ReadonlyArray<"lose-connection" | "bug" | "stop">,
  options: { readonly backoff?: RestartBackoff; readonly recovery?: RecoverySignal } = {},
) =>
  Effect.gen(function* () {
    const board = yield* makePartBoard
    const drain = yield* Deferred.make<void>()
    const seen: Array<PartStatus> = []
    const attempts = yield* Ref.make(0)
    const recording = {
      ...board,
      set: (status: PartStatus) =>
        Effect.andThen(
          Effect.sync(() => seen.push(status)),
          board.set(status),
        ),
    }
    const run = Effect.gen(function* () {
      const n = yield* Ref.getAndUpdate(attempts, (a) => a + 1)
      const step = script[n]
      if (step === "lose-connection")
        return yield* Effect.fail(unavailable("consume MESH_CONTENT", new Error("connection lost")))
      if (step === "bug") return yield* Effect.die(new TypeError("cannot read properties of undefined"))
      if (step === "stop") return
      yield* Deferred.await(drain)
    })
    const fiber = yield* Effect.forkChild(
      supervisePart({
        name: "tally",
        kind: "reactor",
        run,
        board: recording,
        drain,
        agent: "test",
        isTransient: isTransientFailure,
        backoff: options.backoff ?? quick,
        ...(options.recovery === undefined ? {} : { recovery: options.recovery }),
      }),
    )
    return { fiber, drain, seen, attempts, board }
  })

describe("a supervised part", () => {
  it("retries a transient failure after a backoff, showing why and when, and runs again", async () => {
    const { seen, attempts } = await Effect.runPromise(
      Effect.gen(function* () {
        const part = yield* supervise(["lose-connection", "lose-connection"])
        while ((yield* Ref.get(part.attempts)) < 3) yield* Effect.sleep("5 millis")
        yield* Deferred.succeed(part.drain, undefined)
        yield* Fiber.join(part.fiber)
        return part
      }),
    )
    expect(seen.map((s) => s.state)).toEqual([
      "running",
      "retrying",
      "running",
      "retrying",
      "running",
      "stopped",
    ])
    const retrying = seen.filter((s) => s.state === "retrying")
    expect(retrying.map((s) => s.failures)).toEqual([1, 2])
    expect(retrying[0]?.error).toContain("connection lost")
    expect(Date.parse(retrying[0]!.retryAt!)).toBeGreaterThanOrEqual(Date.parse(retrying[0]!.since))
    expect(await Effect.runPromise(Ref.get(attempts))).toBe(3)
  })

  it("stops for good on a failure waiting cannot fix, with its reason", async () => {
    const { seen, attempts } = await Effect.runPromise(
      Effect.gen(function* () {
        const part = yield* supervise(["bug"])
        yield* Fiber.join(part.fiber)
        return part
      }),
    )
    expect(seen.map((s) => s.state)).toEqual(["running", "failed"])
    expect(seen[1]?.error).toContain("cannot read properties of undefined")
    expect(await Effect.runPromise(Ref.get(attempts))).toBe(1)
  })

  it("ends during a retry's wait when the agent drains, instead of trying once more", async () => {
    const { seen, attempts } = await Effect.runPromise(
      Effect.gen(function* () {
        const part = yield* supervise(["lose-connection"])
        while (!part.seen.some((s) => s.state === "retrying")) yield* Effect.sleep("1 millis")
        yield* Deferred.succeed(part.drain, undefined)
        yield* Fiber.join(part.fiber)
        return part
      }),
    )
    expect(seen.at(-1)?.state).toBe("stopped")
    expect(await Effect.runPromise(Ref.get(attempts))).toBe(1)
  })

  it("tries again as soon as its dependencies are back, not at the end of a long backoff", async () => {
    // A backoff of a minute at least: only the recovery can wake the part within this test.
    const long = { initialMs: 600_000, maxMs: 600_000, resetAfterMs: 60_000 }
    const { seen, attempts, wokenAfterMs } = await Effect.runPromise(
      Effect.gen(function* () {
        const recovery = yield* makeRecoverySignal
        const part = yield* supervise(["lose-connection", "lose-connection"], { backoff: long, recovery })
        const waitUntilRetrying = Effect.gen(function* () {
          while ((yield* part.board.all).every((s) => s.state !== "retrying")) yield* Effect.sleep("1 millis")
        })
        yield* waitUntilRetrying
        const announcedAt = performance.now()
        yield* recovery.announce
        while ((yield* Ref.get(part.attempts)) < 2) yield* Effect.sleep("1 millis")
        const wokenAfterMs = performance.now() - announcedAt
        // It failed again: the next recovery wakes it again, from a wait that is still long.
        yield* waitUntilRetrying
        yield* recovery.announce
        while ((yield* Ref.get(part.attempts)) < 3) yield* Effect.sleep("1 millis")
        yield* Deferred.succeed(part.drain, undefined)
        yield* Fiber.join(part.fiber)
        return { ...part, wokenAfterMs }
      }),
    )
    expect(await Effect.runPromise(Ref.get(attempts))).toBe(3)
    expect(wokenAfterMs).toBeLessThan(recoveryJitterMs + 1_000)
    const retrying = seen.filter((s) => s.state === "retrying")
    // The failures still count: a part that keeps failing keeps its growing backoff.
    expect(retrying.map((s) => s.failures)).toEqual([1, 2])
    expect(Date.parse(retrying[0]!.retryAt!) - Date.parse(retrying[0]!.since)).toBeGreaterThanOrEqual(60_000)
    expect(seen.at(-1)?.state).toBe("stopped")
  })

  it("keeps its backoff when nothing is announced, and a recovery before its attempt began does not wake it", async () => {
    const long = { initialMs: 600_000, maxMs: 600_000, resetAfterMs: 60_000 }
    const attempts = await Effect.runPromise(
      Effect.gen(function* () {
        const recovery = yield* makeRecoverySignal
        // Announced before the part starts: it concerns an earlier outage.
        yield* recovery.announce
        const part = yield* supervise(["lose-connection"], { backoff: long, recovery })
        while ((yield* part.board.all).every((s) => s.state !== "retrying")) yield* Effect.sleep("1 millis")
        yield* Effect.sleep(`${recoveryJitterMs + 200} millis`)
        const made = yield* Ref.get(part.attempts)
        yield* Deferred.succeed(part.drain, undefined)
        yield* Fiber.join(part.fiber)
        return made
      }),
    )
    expect(attempts).toBe(1)
  })

  it("tries again soon when its dependencies came back while it ran, its failure showing only after", async () => {
    const long = { initialMs: 600_000, maxMs: 600_000, resetAfterMs: 60_000 }
    const { attempts } = await Effect.runPromise(
      Effect.gen(function* () {
        const recovery = yield* makeRecoverySignal
        const board = yield* makePartBoard
        const drain = yield* Deferred.make<void>()
        const attempts = yield* Ref.make(0)
        // The first attempt fails only after a recovery it did not wait for (a connect's timeout
        // that outlasts the outage); the second runs until drained.
        const run = Effect.gen(function* () {
          const n = yield* Ref.getAndUpdate(attempts, (a) => a + 1)
          if (n > 0) return yield* Deferred.await(drain)
          yield* recovery.announce
          return yield* Effect.fail(
            unavailable("connect to Postgres", new Error("timeout exceeded when trying to connect")),
          )
        })
        const fiber = yield* Effect.forkChild(
          supervisePart({
            name: "task-list",
            kind: "worker",
            run,
            board,
            drain,
            agent: "test",
            isTransient: isTransientFailure,
            backoff: long,
            recovery,
          }),
        )
        while ((yield* Ref.get(attempts)) < 2) yield* Effect.sleep("5 millis")
        yield* Deferred.succeed(drain, undefined)
        yield* Fiber.join(fiber)
        return { attempts }
      }),
    )
    expect(await Effect.runPromise(Ref.get(attempts))).toBe(2)
  })

  it("stays stopped when its work ends by itself", async () => {
    const { seen } = await Effect.runPromise(
      Effect.gen(function* () {
        const part = yield* supervise(["stop"])
        yield* Fiber.join(part.fiber)
        return part
      }),
    )
    expect(seen.map((s) => s.state)).toEqual(["running", "stopped"])
  })
})

describe("the restart backoff", () => {
  it("doubles from its start to its cap, with jitter that never falls below a tenth", () => {
    const backoff = { initialMs: 250, maxMs: 30_000, resetAfterMs: 60_000 }
    expect([1, 2, 3, 4].map((n) => restartDelayMs(backoff, n, 1))).toEqual([250, 500, 1_000, 2_000])
    expect(restartDelayMs(backoff, 20, 1)).toBe(30_000)
    expect(restartDelayMs(backoff, 20, 0)).toBe(3_000)
    for (let n = 1; n < 30; n++) {
      const delay = restartDelayMs(backoff, n, Math.random())
      expect(delay).toBeGreaterThanOrEqual(25)
      expect(delay).toBeLessThanOrEqual(30_000)
    }
  })
})

describe("readiness of the parts", () => {
  const part = (name: string, kind: PartStatus["kind"], state: PartStatus["state"]): PartStatus => ({
    name,
    kind,
    state,
    since: "2026-12-02T10:00:00.000Z",
  })
  const poll = new Set(["storefront-poll"])

  it("is ready when every part runs, or a worker that may be retrying is", () => {
    expect(
      partsReady([part("tally", "reactor", "running"), part("storefront-poll", "worker", "running")], poll),
    ).toBe(true)
    expect(
      partsReady([part("tally", "reactor", "running"), part("storefront-poll", "worker", "retrying")], poll),
    ).toBe(true)
  })

  it("is not ready while any other part retries, or any part failed for good", () => {
    expect(partsReady([part("tally", "reactor", "retrying")], poll)).toBe(false)
    expect(partsReady([part("projection", "worker", "retrying")], poll)).toBe(false)
    expect(partsReady([part("storefront-poll", "reactor", "retrying")], poll)).toBe(false)
    expect(partsReady([part("storefront-poll", "worker", "failed")], poll)).toBe(false)
    expect(partsReady([part("storefront-poll", "worker", "draining")], poll)).toBe(false)
  })
})

describe("the watch for a recovery", () => {
  const watch = (options: { readonly waiting: boolean; readonly answers: ReadonlyArray<boolean> }) =>
    Effect.gen(function* () {
      const board = yield* makePartBoard
      yield* board.set({
        name: "tally",
        kind: "reactor",
        state: options.waiting ? "retrying" : "running",
        since: "2026-12-02T10:00:00.000Z",
      })
      const recovery = yield* makeRecoverySignal
      const probes = yield* Ref.make(0)
      const dependenciesAnswer = Effect.map(
        Ref.getAndUpdate(probes, (n) => n + 1),
        (n) => options.answers[Math.min(n, options.answers.length - 1)]!,
      )
      const fiber = yield* Effect.forkChild(
        watchForRecovery({ board, recovery, dependenciesAnswer, interval: "1 millis", agent: "test" }),
      )
      while ((yield* Ref.get(probes)) < options.answers.length + 3 && options.waiting)
        yield* Effect.sleep("1 millis")
      if (!options.waiting) yield* Effect.sleep("30 millis")
      yield* Fiber.interrupt(fiber)
      return { recoveries: yield* recovery.count, probes: yield* Ref.get(probes) }
    })

  it("announces one recovery when the dependencies answer again after a probe that failed", async () => {
    const { recoveries } = await Effect.runPromise(
      watch({ waiting: true, answers: [true, false, false, true] }),
    )
    expect(recoveries).toBe(1)
  })

  it("announces nothing while the dependencies answer all along: a part failing for another reason keeps its backoff", async () => {
    const { recoveries, probes } = await Effect.runPromise(watch({ waiting: true, answers: [true] }))
    expect(probes).toBeGreaterThan(0)
    expect(recoveries).toBe(0)
  })

  it("probes nothing while every part runs", async () => {
    const { probes, recoveries } = await Effect.runPromise(watch({ waiting: false, answers: [false, true] }))
    expect(probes).toBe(0)
    expect(recoveries).toBe(0)
  })
})
