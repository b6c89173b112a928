import { Cause, Clock, Deferred, Duration, Effect, Random, Ref } from "effect"
import { messageOf } from "../projections/errors.ts"

/**
 * Where a part of an agent is in its life: `retrying` after a transient failure (a lost
 * connection, a restarting server) until its next attempt; `failed` after one that will not go
 * away by waiting (a poison event, a bad migration), until someone fixes the cause.
 */
export type PartState = "running" | "retrying" | "draining" | "stopped" | "failed"

/** What /status shows of one part. */
export interface PartStatus {
  readonly name: string
  readonly kind: "reactor" | "worker"
  readonly state: PartState
  /** The last failure, in one line. */
  readonly error?: string
  /** Consecutive transient failures behind the current state. */
  readonly failures?: number
  /** When the part entered its state (ISO time). */
  readonly since: string
  /** When a retrying part tries again at the latest (ISO time): sooner if its dependencies come back. */
  readonly retryAt?: string
}

/**
 * Whether the parts let the agent be ready: each running, or retrying if it is a worker named in
 * `readyWhileRetrying` (one whose outside system is away, which nothing the agent serves needs).
 */
export const partsReady = (
  parts: ReadonlyArray<PartStatus>,
  readyWhileRetrying: ReadonlySet<string>,
): boolean =>
  parts.every(
    (p) =>
      p.state === "running" ||
      (p.state === "retrying" && p.kind === "worker" && readyWhileRetrying.has(p.name)),
  )

/** Capped, jittered exponential backoff between a part's attempts. */
export interface RestartBackoff {
  readonly initialMs: number
  readonly maxMs: number
  /** A part that ran this long before failing starts its backoff again from `initialMs`. */
  readonly resetAfterMs: number
}

/**
 * Measured on these machines: NATS is back within about a second of a restart and Postgres within
 * two to three, so starting at a quarter second finds it early, while the 30-second cap keeps a
 * long outage from turning into a reconnect storm of every part of every replica.
 */
export const defaultRestartBackoff: RestartBackoff = { initialMs: 250, maxMs: 30_000, resetAfterMs: 60_000 }

/** The delay before attempt `failures + 1`: "full jitter" (a uniform draw below the capped exponential). */
export const restartDelayMs = (backoff: RestartBackoff, failures: number, random: number): number => {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failures - 1))
  // Never below a tenth of the ceiling, so that a fast-failing part cannot spin.
  return Math.round(ceiling * (0.1 + 0.9 * random))
}

/** One line naming what a part failed with: the first failure of the cause, without a stack. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = cause.reasons.find(Cause.isFailReason)
  const die = cause.reasons.find(Cause.isDieReason)
  return messageOf(failure?.error ?? die?.defect ?? Cause.squash(cause))
}

/** The parts of one agent and their states, shared by the supervisors and /status. */
export interface PartBoard {
  readonly all: Effect.Effect<ReadonlyArray<PartStatus>>
  readonly set: (status: PartStatus) => Effect.Effect<void>
  /** Marks every running or retrying part as draining (shutdown has begun). */
  readonly draining: Effect.Effect<void>
}

/** An empty board. */
export const makePartBoard = Effect.gen(function* () {
  const parts = yield* Ref.make<ReadonlyArray<PartStatus>>([])
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())
  return {
    all: Ref.get(parts),
    set: (status) => Ref.update(parts, (all) => [...all.filter((p) => p.name !== status.name), status]),
    draining: Effect.flatMap(now, (since) =>
      Ref.update(parts, (all) =>
        all.map((p) =>
          p.state === "running" || p.state === "retrying"
            ? { name: p.name, kind: p.kind, state: "draining", since }
            : p,
        ),
      ),
    ),
  } satisfies PartBoard
})

/**
 * Wakes the parts waiting to retry when what they depend on is back. A part's backoff grows with
 * each failure that follows a short run, so after a few outages in a row it waits up to
 * `maxMs`: without this, an agent whose message server came back would stay unready for up to
 * half a minute more. The backoff still spaces out the attempts while the dependency is away.
 */
export interface RecoverySignal {
  /** Completes at the first recovery after it starts waiting. */
  readonly next: Effect.Effect<void>
  /** How many recoveries there have been: a part that fails after one it did not wait for still retries soon. */
  readonly count: Effect.Effect<number>
  /** Announces a recovery to everything waiting on `next`. */
  readonly announce: Effect.Effect<void>
}

export const makeRecoverySignal: Effect.Effect<RecoverySignal> = Effect.gen(function* () {
  const current = yield* Ref.make({ recovered: yield* Deferred.make<void>(), count: 0 })
  return {
    next: Effect.flatMap(Ref.get(current), ({ recovered }) => Deferred.await(recovered)),
    count: Effect.map(Ref.get(current), ({ count }) => count),
    announce: Effect.flatMap(Deferred.make<void>(), (fresh) =>
      Effect.flatMap(
        Ref.getAndUpdate(current, ({ count }) => ({ recovered: fresh, count: count + 1 })),
        ({ recovered }) => Deferred.succeed(recovered, undefined),
      ),
    ),
  }
})

/**
 * Watches the dependencies for a recovery: while a part waits to retry, or since a probe failed,
 * it probes them every `interval`; when they all answer after a probe that failed, it announces a
 * recovery. A part that fails while they all answer keeps its backoff: nothing came back for it.
 * It probes nothing while every part runs.
 */
export const watchForRecovery = (options: {
  readonly board: PartBoard
  readonly recovery: RecoverySignal
  /** Whether every dependency answers. */
  readonly dependenciesAnswer: Effect.Effect<boolean>
  readonly interval: Duration.Input
  readonly agent: string
}): Effect.Effect<never> =>
  Effect.gen(function* () {
    const seenDown = yield* Ref.make(false)
    return yield* Effect.gen(function* () {
      const waiting = (yield* options.board.all).some((p) => p.state === "retrying")
      if (!waiting && !(yield* Ref.get(seenDown))) return
      if (!(yield* options.dependenciesAnswer)) return yield* Ref.set(seenDown, true)
      if (yield* Ref.getAndSet(seenDown, false)) {
        yield* Effect.logInfo(`${options.agent}: its dependencies answer again; the waiting parts retry now`)
        yield* options.recovery.announce
      }
    }).pipe(Effect.delay(options.interval), Effect.forever)
  })

/** The longest a part woken by a recovery waits before it tries, so that parts do not all try at once. */
export const recoveryJitterMs = 250

/**
 * Runs one part for the life of the agent: a failure `isTransient` accepts restarts it after a
 * capped, jittered backoff (its state `retrying`, with the error and the next attempt's time), or
 * soon after `recovery` announces that its dependencies are back; any other failure leaves it
 * `failed` with the reason. It returns when the part stops, fails for good, or `drain` completes
 * while it waits to retry.
 */
export const supervisePart = <R>(options: {
  readonly name: string
  readonly kind: PartStatus["kind"]
  readonly run: Effect.Effect<void, unknown, R>
  readonly board: PartBoard
  readonly isTransient: (cause: Cause.Cause<unknown>) => boolean
  readonly drain: Deferred.Deferred<void>
  readonly backoff?: RestartBackoff
  /** Cuts a wait to retry short when the part's dependencies are back (after a short jitter). */
  readonly recovery?: RecoverySignal
  /** Labels for the log lines, such as the agent's name. */
  readonly agent: string
}): Effect.Effect<void, never, R> => {
  const { name, kind, board } = options
  const backoff = options.backoff ?? defaultRestartBackoff
  const iso = (ms: number) => new Date(ms).toISOString()
  const stopped = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    board.set({ name, kind, state: "stopped", since: iso(now) }),
  )
  /** Waits `ms`; true when the agent began to drain meanwhile. */
  const drainedWithin = (ms: number) =>
    Effect.raceFirst(
      Effect.as(Effect.sleep(Duration.millis(ms)), false),
      Effect.as(Deferred.await(options.drain), true),
    )

  const attempt = (failures: number): Effect.Effect<void, never, R> =>
    Effect.gen(function* () {
      const startedAt = yield* Clock.currentTimeMillis
      const recoveriesAtStart = options.recovery === undefined ? 0 : yield* options.recovery.count
      yield* board.set({
        name,
        kind,
        state: "running",
        since: iso(startedAt),
        ...(failures > 0 ? { failures } : {}),
      })
      const exit = yield* Effect.exit(options.run)
      const endedAt = yield* Clock.currentTimeMillis
      if (exit._tag === "Success" || Cause.hasInterruptsOnly(exit.cause)) {
        return yield* board.set({ name, kind, state: "stopped", since: iso(endedAt) })
      }
      const error = describeCause(exit.cause)
      if (!options.isTransient(exit.cause)) {
        yield* board.set({ name, kind, state: "failed", error, since: iso(endedAt) })
        return yield* Effect.logError(
          `${kind} ${name} of ${options.agent} failed and stays stopped`,
          exit.cause,
        )
      }
      const ranLong = endedAt - startedAt >= backoff.resetAfterMs
      const count = ranLong ? 1 : failures + 1
      const delay = restartDelayMs(backoff, count, yield* Random.next)
      yield* board.set({
        name,
        kind,
        state: "retrying",
        error,
        failures: count,
        since: iso(endedAt),
        retryAt: iso(endedAt + delay),
      })
      yield* Effect.logWarning(
        `${kind} ${name} of ${options.agent} failed (${error}); retrying in ${delay} ms`,
      )
      // Its dependencies came back while it ran (its failure surfaced after the recovery, say at
      // a connect's timeout): nothing more will wake it, and it need not wait.
      const recoveredMeanwhile =
        options.recovery !== undefined && (yield* options.recovery.count) !== recoveriesAtStart
      // A shutdown during the wait ends the part rather than waking it for one more attempt.
      const woken = recoveredMeanwhile
        ? ("recovery" as const)
        : yield* Effect.raceAll([
            Effect.as(Effect.sleep(Duration.millis(delay)), "backoff" as const),
            Effect.as(Deferred.await(options.drain), "draining" as const),
            ...(options.recovery === undefined
              ? []
              : [Effect.as(options.recovery.next, "recovery" as const)]),
          ])
      if (woken === "recovery") {
        const jitter = Math.round(recoveryJitterMs * (yield* Random.next))
        yield* Effect.logInfo(
          `${kind} ${name} of ${options.agent}: its dependencies are back; retrying in ${jitter} ms`,
        )
        if (yield* drainedWithin(jitter)) return yield* stopped
      }
      if (woken === "draining") return yield* stopped
      return yield* attempt(count)
    })

  return attempt(0)
}
