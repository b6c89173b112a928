import type { NatsHandles } from "../natsClient.ts"

/** One call to the JetStream API made through counted handles: its path and what it named. */
export interface JetStreamCall {
  /** E.g. `jsm.streams.getMessage`, `js.consumers.get`, `js.publish`. */
  readonly path: string
  /** The subject the call reads or writes, when it names one (a filter, `last_by_subj` or `next_by_subj`, a publish). */
  readonly subject: string | null
}

/** NATS handles that record every JetStream call made through them, and the record. */
export interface CountedNats {
  readonly nats: NatsHandles
  readonly calls: ReadonlyArray<JetStreamCall>
  /**
   * Calls that read stored messages: `getMessage` (by subject or sequence) and every ordered
   * consumer (`js.consumers.get` with options rather than a durable's name). Reads of a stream's
   * state (`streams.info`) are listed too, so that a wider read cannot hide as something else.
   */
  readonly reads: () => ReadonlyArray<JetStreamCall>
  readonly reset: () => void
}

const subjectOf = (path: string, args: ReadonlyArray<unknown>): string | null => {
  if (path === "js.publish" && typeof args[0] === "string") return args[0]
  const options = args[1]
  if (typeof options !== "object" || options === null) return null
  const o = options as Record<string, unknown>
  if (typeof o.last_by_subj === "string") return o.last_by_subj
  if (typeof o.next_by_subj === "string") return o.next_by_subj
  if (typeof o.filter_subjects === "string") return o.filter_subjects
  if (Array.isArray(o.filter_subjects)) return o.filter_subjects.join(",")
  if (typeof o.filter_subject === "string") return o.filter_subject
  return null
}

const isRead = (call: JetStreamCall & { readonly ordered: boolean }) =>
  call.path === "jsm.streams.getMessage" ||
  call.path === "jsm.streams.info" ||
  call.path.startsWith("jsm.direct.") ||
  (call.path === "js.consumers.get" && call.ordered)

/**
 * Wraps NATS handles so that every JetStream call through them is recorded: the way a test counts
 * the log reads a component makes, below the event log, where no read can pass uncounted. Methods
 * run on the real objects; only the call is noted.
 */
export const countingNats = (inner: NatsHandles): CountedNats => {
  const calls: Array<JetStreamCall & { readonly ordered: boolean }> = []
  const wrap = <T extends object>(target: T, path: string, depth: number): T =>
    new Proxy(target, {
      get(t, property) {
        // The real object as the receiver: nats.js keeps state in private fields a proxy cannot reach.
        const value = Reflect.get(t, property)
        const name = `${path}.${String(property)}`
        if (typeof value === "function") {
          return (...args: Array<unknown>) => {
            calls.push({
              path: name,
              subject: subjectOf(name, args),
              ordered: name === "js.consumers.get" && typeof args[1] === "object" && args[1] !== null,
            })
            return value.apply(t, args)
          }
        }
        return depth > 0 && typeof value === "object" && value !== null
          ? wrap(value as object, name, depth - 1)
          : value
      },
    })
  return {
    nats: { connection: inner.connection, js: wrap(inner.js, "js", 1), jsm: wrap(inner.jsm, "jsm", 1) },
    calls,
    reads: () => calls.filter(isRead).map(({ path, subject }) => ({ path, subject })),
    reset: () => {
      calls.length = 0
    },
  }
}
