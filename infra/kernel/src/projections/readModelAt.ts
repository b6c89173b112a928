import { filterTakes } from "@mesh/eventlog"
import { Clock, Effect, Schema } from "effect"
import type { Kysely } from "kysely"
import type { CausePosition } from "../reactors/reactor.ts"
import { heldHere, liveCommitHere, nextLiveCommit } from "./liveCommits.ts"
import type { ProjectionStream } from "./projection.ts"
import { readCheckpointOn } from "./store.ts"

// A reaction that reads a read model reads what the projection has applied when it runs: live, a
// moment behind its cause or ahead of it; replayed (a sandbox, a fork), the whole day at once. To
// decide on what was known when its cause happened, it waits until the read model holds its cause
// and reads only rows stamped before it (the projection keeps the sequence a row's fact arrived at).

/** The read model has not yet applied the commit a reaction reads it at; it catches up, so try again. */
export class ReadModelBehind extends Schema.TaggedError<ReadModelBehind>()("ReadModelBehind", {
  projection: Schema.String,
  stream: Schema.String,
  sequence: Schema.Number,
  /** Where its live checkpoint on that stream stood, and for which version of its tables. */
  at: Schema.NullOr(Schema.Struct({ sequence: Schema.Number, version: Schema.NullOr(Schema.Number) })),
  version: Schema.Number,
  cause: Schema.optional(Schema.Defect()),
}) {
  override get message() {
    const at =
      this.at === null
        ? "has no checkpoint on it yet"
        : `stands at #${this.at.sequence} for version ${this.at.version ?? "unknown"}`
    return `read model ${this.projection} (version ${this.version}) has not applied ${this.stream}#${this.sequence}: it ${at}`
  }
}

/**
 * The projection a read is made of: its name (its live checkpoint key), the version whose tables
 * are read, and, given, the streams it reads (its definition's), against which a cause is checked.
 */
export interface ProjectionAt {
  readonly name: string
  readonly version: number
  readonly streams?: ReadonlyArray<ProjectionStream>
}

/**
 * Why a projection's checkpoint would never pass `cause` by itself, or undefined when it reads the
 * cause: a projection that does not read the cause's domain stream, or reads it through a filter
 * that leaves the cause's subject out, checkpoints only the events it reads, so a reader waiting
 * at the cause would wait for a later event it reads, or for ever.
 */
export const unreadCause = (projection: ProjectionAt, cause: CausePosition): string | undefined => {
  if (projection.streams === undefined || cause.subject === undefined) return undefined
  const domain = cause.subject.split(".")[1]
  const reading = projection.streams.filter((s) => s.domain === domain)
  const where = `${cause.stream}#${cause.sequence} (${cause.subject})`
  if (reading.length === 0)
    return `read model ${projection.name} does not read the ${domain} stream, so it never applies ${where}`
  if (reading.some((s) => s.filterSubject === undefined || filterTakes(s.filterSubject, cause.subject!)))
    return undefined
  const filters = reading.flatMap((s) =>
    typeof s.filterSubject === "string" ? [s.filterSubject] : (s.filterSubject ?? []),
  )
  return `read model ${projection.name} reads the ${domain} stream through ${filters.join(", ")}, which leaves out ${where}: its checkpoint passes it only with a later event it reads`
}

/**
 * Waits until `projection`'s live tables, of `projection.version`, have applied the commit at
 * `cause` (its stream's checkpoint at or past its sequence), then the caller reads rows stamped
 * before `cause.sequence`. The projection must read the cause's stream whole, or a filter that
 * takes the cause's subject, so that its checkpoint passes the cause: given the projection's
 * streams and the cause's subject, a reader for which it does not dies at once, naming both
 * ({@link unreadCause}), rather than wait on every reaction. While it is rebuilding into
 * this version, or a replica of another version holds the live tables, it waits too. After
 * `timeoutMs` (default 5 s, well inside a consumer's ack wait, so that the messages pulled behind
 * the waiting one are not redelivered meanwhile) it fails with {@link ReadModelBehind}, which the
 * reactor takes as transient and tries again after its backoff.
 */
export const awaitReadModelAt = (options: {
  readonly db: Kysely<unknown>
  readonly schema: string
  readonly projection: ProjectionAt
  readonly cause: CausePosition
  readonly timeoutMs?: number
}): Effect.Effect<void, ReadModelBehind> => {
  const { projection, cause } = options
  let at: { readonly sequence: number; readonly version: number | null } | undefined
  const behind = (error?: unknown) =>
    new ReadModelBehind({
      projection: projection.name,
      stream: cause.stream,
      sequence: cause.sequence,
      at: at === undefined ? null : { sequence: at.sequence, version: at.version },
      version: projection.version,
      ...(error === undefined ? {} : { cause: error }),
    })
  const holds = Effect.tryPromise({
    try: () => readCheckpointOn(options.db, options.schema, projection.name, cause.stream),
    catch: behind,
  }).pipe(
    Effect.map((position) => {
      at = position
      return (
        position !== undefined &&
        position.version === projection.version &&
        position.sequence >= cause.sequence
      )
    }),
  )
  const here = () => liveCommitHere(options.db, options.schema, projection.name, cause.stream)
  const nextCommitHere = (atMostMs: number) =>
    Effect.callback<boolean>((resume) => {
      const stop = nextLiveCommit(options.db, options.schema, projection.name, cause.stream, atMostMs, (c) =>
        resume(Effect.succeed(c)),
      )
      return Effect.sync(stop)
    })
  return Effect.gen(function* () {
    const unread = unreadCause(projection, cause)
    if (unread !== undefined) return yield* Effect.die(new Error(unread))
    const deadline = (yield* Clock.currentTimeMillis) + (options.timeoutMs ?? 5_000)
    // Kept elsewhere, the read model is asked on a growing interval: live, a batch's linger behind
    // at most, so the first look or the next few find it there; a replay's rebuild can take
    // seconds, and the interval grows to a quarter second.
    let interval = 5
    // Kept here, it is answered by this process's projector once that has committed past the cause
    // (asked only when that commit is no longer fresh, or wrote another version), or asked after a
    // quarter second went by without a commit (another replica may have applied it).
    let ask = false
    for (;;) {
      // Committed here a moment ago, at this version: the checkpoint row would say the same.
      if (
        heldHere(options.db, options.schema, projection.name, cause.stream, {
          sequence: cause.sequence,
          version: projection.version,
        })
      )
        return
      const committed = here()
      if (ask || committed === undefined || committed >= cause.sequence) {
        if (yield* holds) return
      }
      const remaining = deadline - (yield* Clock.currentTimeMillis)
      if (remaining <= 0) return yield* Effect.fail(behind())
      if (committed === undefined) {
        // Waiting here also tells a projector in this process that has not committed yet (one
        // starting, or catching up) to apply what it holds rather than linger.
        yield* nextCommitHere(Math.min(interval, remaining))
        interval = Math.min(interval * 2, 250)
        ask = true
      } else {
        ask = !(yield* nextCommitHere(Math.min(250, remaining)))
      }
    }
  })
}
