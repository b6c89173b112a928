// What this process's projectors have committed to their live tables, per database handle: a
// reaction waiting for a read model to hold its cause (`awaitReadModelAt`) wakes when the projector
// beside it commits the batch that holds it, instead of asking the checkpoint on a timer, where it
// learnt of the commit up to a backoff step late.
//
// The checkpoint row stays the truth. A commit noted here a moment ago, at the version a reader
// reads, answers that reader without the row: the projector checked the version and moved the
// checkpoint in the transaction it just committed, on the same database, so the row can only say the
// same (on the shop's day, 700 of customer ops' 15,000 statements and 800 of procurement's 4,600 were
// that read, each queued behind the projector's own transaction on PGlite's one session). An older
// note is asked about again: meanwhile another replica may have rebuilt and swapped in another
// version. A read model kept by another process (another replica, a projection deployed apart) has
// no entry here, and its readers poll as before.
//
// The other way round, a projector lingering over a partial batch (for more commits to apply in
// the same transaction) applies it at once when a reader here waits on it: an answer then waits
// for the commit it needs, not for a linger meant for throughput.

interface LiveStream {
  /** The last stream sequence this process committed to the live tables. */
  sequence: number
  /**
   * The version of the tables that commit wrote (undefined once the projector stopped serving them),
   * and when it was noted (`performance.now()`: a clock that never steps back).
   */
  version: number | undefined
  notedAt: number
  readonly waiters: Set<() => void>
}

/** How long a noted commit answers a reader by itself; after it, the checkpoint row is read. */
export const NOTED_COMMIT_TRUSTED_MS = 1_000

const byDatabase = new WeakMap<object, Map<string, LiveStream>>()

/** Per database handle and read model (schema, projection): the readers waiting, and who to tell. */
interface Readers {
  waiting: number
  readonly onWait: Set<() => void>
}
const readersByDatabase = new WeakMap<object, Map<string, Readers>>()

/** The entry of `key` for database handle `db`, made on first use. */
const entryOf = <A>(byDb: WeakMap<object, Map<string, A>>, db: object, key: string, make: () => A): A => {
  let entries = byDb.get(db)
  if (entries === undefined) {
    entries = new Map()
    byDb.set(db, entries)
  }
  let entry = entries.get(key)
  if (entry === undefined) {
    entry = make()
    entries.set(key, entry)
  }
  return entry
}

const readersOf = (db: object, schema: string, projection: string): Readers =>
  entryOf(readersByDatabase, db, `${schema}\u0000${projection}`, () => ({ waiting: 0, onWait: new Set() }))

/** Whether a reader here waits on `projection`'s live tables for a commit they do not hold yet. */
export const readersWaiting = (db: object, schema: string, projection: string): boolean =>
  readersOf(db, schema, projection).waiting > 0

/**
 * Calls `listener` (once) when a reader here starts waiting on `projection`'s live tables; the
 * returned function stops listening.
 */
export const whenReaderWaits = (
  db: object,
  schema: string,
  projection: string,
  listener: () => void,
): (() => void) => {
  const { onWait } = readersOf(db, schema, projection)
  const once = () => {
    onWait.delete(once)
    listener()
  }
  onWait.add(once)
  return () => onWait.delete(once)
}

const keyOf = (schema: string, projection: string, stream: string) =>
  `${schema}\u0000${projection}\u0000${stream}`

const streamOf = (db: object, schema: string, projection: string, stream: string): LiveStream =>
  entryOf(byDatabase, db, keyOf(schema, projection, stream), () => ({
    sequence: 0,
    version: undefined,
    notedAt: 0,
    waiters: new Set(),
  }))

/**
 * Notes a batch committed to `projection`'s live tables in `schema` (call it after the commit):
 * where each stream's checkpoint now stands, and the version of the tables it wrote (undefined
 * when the batch did not check it). Wakes the readers waiting on those streams.
 */
export const noteLiveCommit = (
  db: object,
  schema: string,
  projection: string,
  checkpoints: ReadonlyMap<string, number>,
  version?: number,
): void => {
  const now = performance.now()
  for (const [stream, sequence] of checkpoints) {
    const live = streamOf(db, schema, projection, stream)
    if (sequence < live.sequence) continue
    // A commit that leaves the checkpoint where it was still says, now, where it stands.
    live.version = version
    live.notedAt = now
    if (sequence === live.sequence) continue
    live.sequence = sequence
    const woken = [...live.waiters]
    live.waiters.clear()
    for (const wake of woken) wake()
  }
}

/**
 * Where this process's projector stands on a stream of `projection`'s live tables, or undefined
 * when no projector here has committed to them (the read model is kept elsewhere, or not yet).
 */
export const liveCommitHere = (
  db: object,
  schema: string,
  projection: string,
  stream: string,
): number | undefined => {
  const live = byDatabase.get(db)?.get(keyOf(schema, projection, stream))
  return live === undefined || live.sequence === 0 ? undefined : live.sequence
}

/**
 * Forgets the versions `projection`'s commits were noted at: its projector stopped serving the live
 * tables (another build swapped its version in, or it stopped), so its notes vouch for nothing
 * until it commits again. Where each stream stands is kept, to wake readers as before.
 */
export const forgetLiveCommits = (db: object, schema: string, projection: string): void => {
  const prefix = `${schema}\u0000${projection}\u0000`
  for (const [key, live] of byDatabase.get(db) ?? []) if (key.startsWith(prefix)) live.version = undefined
}

/**
 * Whether this process's projector committed `projection`'s live tables, of `version`, past
 * `sequence` on `stream` within the last {@link NOTED_COMMIT_TRUSTED_MS}: the read model holds that
 * commit, and its checkpoint row need not be read to know it.
 */
export const heldHere = (
  db: object,
  schema: string,
  projection: string,
  stream: string,
  at: { readonly sequence: number; readonly version: number },
): boolean => {
  const live = byDatabase.get(db)?.get(keyOf(schema, projection, stream))
  return (
    live !== undefined &&
    live.sequence >= at.sequence &&
    live.version === at.version &&
    performance.now() - live.notedAt <= NOTED_COMMIT_TRUSTED_MS
  )
}

/**
 * Calls `wake(true)` at this process's next commit on the stream, or `wake(false)` after
 * `atMostMs`, whichever comes first; the returned function gives up waiting (an interrupted reader).
 */
export const nextLiveCommit = (
  db: object,
  schema: string,
  projection: string,
  stream: string,
  atMostMs: number,
  wake: (committed: boolean) => void,
): (() => void) => {
  const live = streamOf(db, schema, projection, stream)
  const readers = readersOf(db, schema, projection)
  let waiting = true
  const leave = () => {
    if (!waiting) return
    waiting = false
    readers.waiting--
    clearTimeout(timer)
    live.waiters.delete(done)
  }
  const done = () => {
    leave()
    wake(true)
  }
  const timer = setTimeout(() => {
    leave()
    wake(false)
  }, atMostMs)
  live.waiters.add(done)
  readers.waiting++
  for (const tell of [...readers.onWait]) tell()
  return leave
}
