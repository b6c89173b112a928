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
 * How long past its next try a delivery is still counted as this process's: the server hands it
 * back by then (its backoff, or the ack deadline if the nak was lost), unless another replica of
 * the consumer took it, which settles it there, not here.
 */
export const retryingGraceMs = 60_000

/**
 * The deliveries a consumer is trying again after a transient failure (a dependency away, a read
 * model that has not caught up), until each is handled or dead-lettered: what an agent's /status
 * shows per reactor. A reaction that waits on a projection stopped on a failing event is retried
 * for as long as the projection stays stopped, and never dead-lettered; this is where an operator
 * sees which deliveries wait, since when, and on what. Lives in the process, as the consumer's
 * retries do; a delivery not tried here again by its next try and the grace is forgotten.
 */
export class RetryingDeliveries {
  readonly #held = new Map<string, RetryingDelivery & { readonly forgetAt: number }>()

  /** A delivery failed for a transient reason, at `at`, and is to be tried again in `retryInMs`. */
  failed(delivery: Omit<RetryingDelivery, "since">, at: Date, retryInMs: number): void {
    const key = `${delivery.stream}#${delivery.sequence}`
    this.#held.set(key, {
      ...delivery,
      since: this.#held.get(key)?.since ?? at.toISOString(),
      forgetAt: at.getTime() + retryInMs + retryingGraceMs,
    })
  }

  /** A delivery was handled (acknowledged or dead-lettered): it no longer waits. */
  settled(stream: string, sequence: number): void {
    if (this.#held.size > 0) this.#held.delete(`${stream}#${sequence}`)
  }

  /** How many deliveries wait at `now`, and the longest-waiting few, oldest first. */
  summary(
    now: Date = new Date(),
    limit = 5,
  ): { readonly count: number; readonly oldest: ReadonlyArray<RetryingDelivery> } {
    for (const [key, held] of this.#held) if (held.forgetAt < now.getTime()) this.#held.delete(key)
    const all = [...this.#held.values()]
      .sort((a, b) => a.since.localeCompare(b.since) || a.sequence - b.sequence)
      .map(({ forgetAt: _, ...delivery }) => delivery)
    return { count: all.length, oldest: all.slice(0, limit) }
  }
}
