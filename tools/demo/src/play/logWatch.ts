import { type Domain, domains, type EventEnvelope, meshCatalog } from "@mesh/contracts"
import { makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { Effect, Fiber, Schedule, Stream } from "effect"

/** An event as the watch keeps it: its envelope and the domain stream it came from. */
export interface WatchedEvent {
  readonly domain: Domain
  readonly sequence: number
  readonly event: EventEnvelope
}

/** Every event of a namespace, followed live from the start of each stream. */
export interface LogWatch {
  /** Every event so far, in the order each stream holds them (streams interleaved as they arrived). */
  readonly events: () => ReadonlyArray<WatchedEvent>
  /** Events of a type, so far. */
  readonly count: (type: string) => number
  /** Called for each event as it arrives. */
  readonly onEvent: (listener: (event: WatchedEvent) => void) => void
  /** True once the watch holds every stream up to its head now. */
  readonly caughtUp: () => Promise<boolean>
  readonly stop: () => Promise<void>
}

/**
 * Follows every domain stream of `namespace` from its first event, decoding with the mesh's
 * catalogue (types it lacks are skipped). The demo's progress line, its warehouse (which ships
 * what procurement holds) and its summary read the day from here: the log is the only record.
 */
export const watchLog = (nats: NatsHandles, namespace: string): LogWatch => {
  const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
  const all: Array<WatchedEvent> = []
  const counts = new Map<string, number>()
  const positions = new Map<Domain, number>()
  const listeners: Array<(event: WatchedEvent) => void> = []
  const fibers = domains.map((domain) =>
    Effect.runFork(
      // Each try follows on from the last commit the watch holds: a follow that broke off (the
      // server away for a moment) would otherwise count the stream's events again.
      Effect.suspend(() =>
        log.follow(domain, { fromSequence: (positions.get(domain) ?? 0) + 1 }).pipe(
          Stream.runForEach((commit) =>
            Effect.sync(() => {
              positions.set(domain, commit.sequence)
              for (const event of commit.events) {
                const watched = { domain, sequence: commit.sequence, event: event as EventEnvelope }
                all.push(watched)
                counts.set(event.type, (counts.get(event.type) ?? 0) + 1)
                for (const listener of listeners) listener(watched)
              }
            }),
          ),
        ),
      ).pipe(
        // A stream not declared yet (an agent declares them as it starts) is followed once it is.
        Effect.retry({ schedule: Schedule.spaced("500 millis"), times: 600 }),
        Effect.ignore,
      ),
    ),
  )
  return {
    events: () => all,
    count: (type) => counts.get(type) ?? 0,
    onEvent: (listener) => {
      listeners.push(listener)
    },
    caughtUp: async () => {
      for (const domain of domains) {
        const head = await Effect.runPromise(log.headSequence(domain).pipe(Effect.orElseSucceed(() => 0)))
        if ((positions.get(domain) ?? 0) < head) return false
      }
      return true
    },
    stop: async () => {
      await Effect.runPromise(Effect.forEach(fibers, (fiber) => Fiber.interrupt(fiber), { discard: true }))
    },
  }
}
