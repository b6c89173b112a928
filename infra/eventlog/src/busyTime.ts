/**
 * How long a consumer was busy, as a function of the wall clock, over its recent past: what tells
 * an event that waited behind the consumer's own work from one the mesh was slow to bring. A
 * consumer taking one message at a time is busy while it handles one; one taking several, while
 * every slot is taken. An event stored at `s` and started at `t` waited `busyBetween(s, t)` of its
 * delivery behind the consumer's work; the rest it was on its way, or in a consumer free to take
 * it.
 *
 * The changes of state are kept, at least the last `kept` of them, in milliseconds since the epoch (the
 * server's store times are on that clock). A time before the oldest kept change reads as that
 * change: an event that old waited behind at least what is kept.
 */
export class BusyTime {
  readonly #kept: number
  // Each change: when, whether busy from then on, and the busy time up to it.
  readonly #at: Array<number> = []
  readonly #busyAfter: Array<boolean> = []
  readonly #totalAt: Array<number> = []

  /**
   * `absentUntil`: when the consumer started. A message stored before it waited for the consumer to
   * be there at all (a backlog a restart or a deploy left), which is counted as busy time: the
   * agent's absence, not the mesh's delivery. `kept`: how many changes are kept at least.
   */
  constructor(options: { readonly absentUntil?: number; readonly kept?: number } = {}) {
    this.#kept = options.kept ?? 4_096
    if (options.absentUntil !== undefined) {
      this.mark(true, 0)
      this.mark(false, options.absentUntil)
    }
  }

  /** Whether it is busy now. */
  get busy(): boolean {
    return this.#busyAfter.at(-1) ?? false
  }

  /** It became busy (`true`) or free at `at`; a change to the state it is in is ignored. */
  mark(busy: boolean, at: number = Date.now()): void {
    if (busy === this.busy) return
    const last = this.#at.length - 1
    // A clock stepping back must not make the busy time run backwards.
    const when = last < 0 ? at : Math.max(at, this.#at[last]!)
    // Busy again the instant it was freed (messages handled back to back): the free stretch is
    // empty, so it is taken back rather than kept, and what is kept covers more messages.
    if (busy && last > 0 && this.#at[last] === when) {
      this.#at.pop()
      this.#busyAfter.pop()
      this.#totalAt.pop()
      return
    }
    this.#totalAt.push(this.#totalUpTo(when))
    this.#at.push(when)
    this.#busyAfter.push(busy)
    // Trimmed in halves, so that a change costs the same however many are kept.
    if (this.#at.length >= 2 * this.#kept) {
      this.#at.splice(0, this.#kept)
      this.#busyAfter.splice(0, this.#kept)
      this.#totalAt.splice(0, this.#kept)
    }
  }

  /** Busy time between `from` and `to`, in milliseconds. */
  busyBetween(from: number, to: number): number {
    return to <= from ? 0 : Math.max(0, this.#totalUpTo(to) - this.#totalUpTo(from))
  }

  // Busy time from the oldest kept change up to `at`.
  #totalUpTo(at: number): number {
    const n = this.#at.length
    if (n === 0 || at <= this.#at[0]!) return this.#totalAt[0] ?? 0
    // The last change at or before `at`.
    let low = 0
    let high = n - 1
    while (low < high) {
      const mid = (low + high + 1) >> 1
      if (this.#at[mid]! <= at) low = mid
      else high = mid - 1
    }
    return this.#totalAt[low]! + (this.#busyAfter[low]! ? at - this.#at[low]! : 0)
  }
}
