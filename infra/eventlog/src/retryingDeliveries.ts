/** A delivery a consumer keeps trying again because its handling failed for a reason that passes. */
export interface RetryingDelivery {
  readonly stream: string
  readonly sequence: number
  /** Deliveries so far (the last one that failed). */
  readonly deliveries: number
  /** When its first failure was seen, ISO. */
  readonly since: string
  /** The last failure's first line. */
  readonly reason: string
}

/**
 * The deliveries a consumer is trying again after a transient failure (a dependency away, a read
 * model that has not caught up), until each is handled or dead-lettered: what an agent's /status
 * shows per reactor. A reaction that waits on a projection stopped on a failing event is retried
 * for as long as the projection stays stopped, and never dead-lettered; this is where an operator
 * sees which deliveries wait, since when, and on what. Lives in the process, as the consumer's
 * retries do.
 */
export class RetryingDeliveries {
  readonly #held = new Map<string, RetryingDelivery>()

  /** A delivery failed for a transient reason, and is to be delivered again. */
  failed(delivery: Omit<RetryingDelivery, "since">, at: Date): void {
    const key = `${delivery.stream}#${delivery.sequence}`
    this.#held.set(key, { ...delivery, since: this.#held.get(key)?.since ?? at.toISOString() })
  }

  /** A delivery was handled (acknowledged or dead-lettered): it no longer waits. */
  settled(stream: string, sequence: number): void {
    if (this.#held.size > 0) this.#held.delete(`${stream}#${sequence}`)
  }

  /** How many deliveries wait, and the longest-waiting few, oldest first. */
  summary(limit = 5): { readonly count: number; readonly oldest: ReadonlyArray<RetryingDelivery> } {
    const all = [...this.#held.values()].sort(
      (a, b) => a.since.localeCompare(b.since) || a.sequence - b.sequence,
    )
    return { count: all.length, oldest: all.slice(0, limit) }
  }
}
