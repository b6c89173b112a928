import {
  type Domain,
  describeIssue,
  type EventCatalog,
  type EventDefinition,
  type EventOf,
  Subjects,
} from "@mesh/contracts"
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerUpdateConfig,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JsMsg,
} from "@nats-io/jetstream"
import { headers as natsHeaders } from "@nats-io/transport-node"
import { Cause, Deferred, Effect, Fiber, Result, Semaphore, Stream } from "effect"
import { BusyTime } from "./busyTime.ts"
import { type EventLogError, unavailable } from "./errors.ts"
import type { SubjectFilter } from "./eventLog.ts"
import { connectionLink, type NatsHandles } from "./natsClient.ts"
import type { RetryingDeliveries } from "./retryingDeliveries.ts"
import { commitMayHold, decodeStoredCommit, SkippedEvents } from "./storedCommit.ts"
import { parentSpanOf } from "./traceContext.ts"

/** Headers a dead-lettered message carries beside its original bytes. */
export const DeadLetterHeaders = {
  stream: "Mesh-Dead-Letter-Stream",
  sequence: "Mesh-Dead-Letter-Sequence",
  subject: "Mesh-Dead-Letter-Subject",
  consumer: "Mesh-Dead-Letter-Consumer",
  reason: "Mesh-Dead-Letter-Reason",
  deliveries: "Mesh-Dead-Letter-Deliveries",
  /** On a settling mark: the dead letter's sequence in the dead-letter stream. */
  settles: "Mesh-Dead-Letter-Settles",
  /** On a settling mark: `retried` (its reaction ran) or `discarded`. */
  outcome: "Mesh-Dead-Letter-Outcome",
  /** On a settling mark: the operator who settled it. */
  operator: "Mesh-Dead-Letter-Operator",
} as const

/** How an operator settled a dead letter. */
export type DeadLetterOutcome = "retried" | "discarded"

/** Stream sequences a consumer remembers having handled (see `handledLately`): a few hundred KiB. */
const HANDLED_LATELY = 4096

/** Exponential backoff between redeliveries of a failing event. */
export interface Backoff {
  readonly initialMs: number
  readonly maxMs: number
  readonly factor: number
}

/** A durable consumer as code: what it reads and how it treats failures. */
export interface DurableConsumerSpec {
  /** Durable name: unique per reader, kept by the server across restarts. */
  readonly name: string
  readonly domain: Domain
  /**
   * A subject filter inside the domain stream, or several (NATS 2.10 and later; an older server
   * reads the whole domain instead); the whole domain by default.
   */
  readonly filterSubject?: SubjectFilter
  /** Deliveries of one event before it is dead-lettered (including the first). */
  readonly maxDeliveries?: number
  readonly backoff?: Backoff
  /** How long the server waits for an ack before redelivering. */
  readonly ackWaitMs?: number
  readonly maxAckPending?: number
  /**
   * Messages handled at once (default 1). Above 1, messages of one subject (one aggregate) are
   * still handled one after another in stream order, and those of different subjects side by
   * side: for a reactor whose handling waits on I/O (the log, a database, a model), never for a
   * projection, whose checkpoint is a stream position.
   */
  readonly concurrency?: number
}

/** Where a delivered event sits and how often it was delivered. */
export interface Delivery {
  readonly stream: string
  readonly subject: string
  readonly sequence: number
  readonly deliveryCount: number
  /**
   * When the server stored the commit, in milliseconds since the epoch by the server's clock: a
   * reaction's delivery time runs from it (across machines, their clocks' skew is in it too).
   */
  readonly storedAt: number
  /**
   * Of the time from `storedAt` to the handling's start, what it spent behind the consumer's own
   * work: the consumer busy with earlier messages (every slot taken, in one taking several at once),
   * the earlier messages of its subject in hand, the earlier events of its own commit, or the
   * consumer not started yet (a backlog a restart left). The rest it was on its way to a free
   * consumer.
   */
  readonly queuedMs: number
  /**
   * The commit was stored after the consumer was created, so no earlier consumer of that name
   * delivered it: on its first delivery nothing handled it before. False for history older than the
   * consumer (a log copied into a fork, a reader added to an old stream); absent when not known.
   */
  readonly storedAfterConsumer?: boolean
}

/** A message in the dead-letter stream, with why it got there. */
export interface DeadLetter {
  readonly sequence: number
  readonly originalStream: string
  readonly originalSequence: number
  readonly originalSubject: string
  readonly consumer: string
  readonly reason: string
  readonly deliveries: number
  /** When it was dead-lettered (the dead-letter stream stored it). */
  readonly deadLetteredAt: string
  readonly data: Uint8Array
}

const defaultBackoff: Backoff = { initialMs: 200, maxMs: 30_000, factor: 2 }

/** The delay before redelivery number `deliveryCount + 1`. */
export const backoffDelay = (backoff: Backoff, deliveryCount: number): number =>
  Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, deliveryCount - 1))

const isNotFound = (e: unknown): boolean =>
  e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.ConsumerNotFound || e.status === 404)

/** Whether the server takes several filter subjects on one consumer (NATS 2.10 and later). */
const takesSeveralFilters = (nats: NatsHandles): boolean => {
  const [major = 0, minor = 0] = (nats.connection.info?.version ?? "0.0").split(".").map(Number)
  return major > 2 || (major === 2 && minor >= 10)
}

/** The consumer's filter subjects, sorted: one, or several where the server takes them. */
const filterSubjectsOf = (nats: NatsHandles, namespace: string, spec: DurableConsumerSpec) => {
  const declared = spec.filterSubject ?? Subjects.domainWildcard(namespace, spec.domain)
  const subjects = typeof declared === "string" ? [declared] : [...new Set(declared)].sort()
  return subjects.length === 1 || takesSeveralFilters(nats)
    ? subjects
    : [Subjects.domainWildcard(namespace, spec.domain)]
}

const filterConfig = (
  subjects: ReadonlyArray<string>,
): Pick<ConsumerConfig, "filter_subject" | "filter_subjects"> =>
  subjects.length === 1 ? { filter_subject: subjects[0]! } : { filter_subjects: [...subjects] }

/**
 * The filter change of a consumer update. nats.js merges an update into the consumer's current
 * configuration, so the form not used is set to undefined (dropped when sent) to clear it.
 */
const refilter = (subjects: ReadonlyArray<string>) =>
  ({
    filter_subject: undefined,
    filter_subjects: undefined,
    ...filterConfig(subjects),
  }) as Partial<ConsumerUpdateConfig>

const consumerConfig = (
  spec: DurableConsumerSpec,
  subjects: ReadonlyArray<string>,
): Partial<ConsumerConfig> => ({
  durable_name: spec.name,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  ...filterConfig(subjects),
  ack_wait: (spec.ackWaitMs ?? 30_000) * 1_000_000,
  // Redelivery is bounded by us, not the server: when the server gives up it only emits an
  // advisory, and the event would be stranded instead of dead-lettered with its reason.
  max_deliver: -1,
  max_ack_pending: spec.maxAckPending ?? 1_000,
})

/**
 * Creates the durable consumer if missing. An existing one whose filter differs from the declared
 * one is given the declared filter (NATS 2.10 and later), so that a reader upgraded to read more
 * subjects gets them; it keeps its position, so what it skipped before is not delivered. A server
 * that refuses the change leaves the consumer as it was, with a warning.
 */
export const ensureDurableConsumer = (nats: NatsHandles, namespace: string, spec: DurableConsumerSpec) =>
  Effect.map(ensureConsumer(nats, namespace, spec), (ensured) => ensured.stream)

/** {@link ensureDurableConsumer}, with when the server created the consumer (epoch ms, its clock). */
const ensureConsumer = (nats: NatsHandles, namespace: string, spec: DurableConsumerSpec) =>
  Effect.gen(function* () {
    const stream = Subjects.streamName(namespace, spec.domain)
    const subjects = filterSubjectsOf(nats, namespace, spec)
    const config = consumerConfig(spec, subjects)
    const existing = yield* Effect.tryPromise({
      try: () =>
        nats.jsm.consumers
          .info(stream, spec.name)
          .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
      catch: (e) => unavailable(`consumer info ${stream}/${spec.name}`, e),
    })
    if (existing === undefined) {
      const created = yield* Effect.tryPromise({
        try: () => nats.jsm.consumers.add(stream, config),
        catch: (e) => unavailable(`create consumer ${stream}/${spec.name}`, e),
      })
      return { stream, createdAt: Date.parse(created.created) }
    } else {
      const current = [
        ...(existing.config.filter_subjects ??
          (existing.config.filter_subject === undefined ? [] : [existing.config.filter_subject])),
      ].sort()
      if (current.join(" ") !== subjects.join(" ")) {
        const change = `${current.join(", ") || "(none)"} to ${subjects.join(", ")}`
        yield* Effect.tryPromise({
          try: () => nats.jsm.consumers.update(stream, spec.name, refilter(subjects)),
          catch: (e) => unavailable(`refilter consumer ${stream}/${spec.name}`, e),
        }).pipe(
          Effect.andThen(Effect.logInfo(`consumer ${stream}/${spec.name}: filter changed from ${change}`)),
          Effect.catch((e) =>
            Effect.logWarning(
              `consumer ${stream}/${spec.name}: filter left unchanged, not ${change}: ${e.message}`,
            ),
          ),
        )
      }
    }
    return { stream, createdAt: Date.parse(existing.created) }
  })

/** When the server stored a message's commit, in milliseconds since the epoch by its clock. */
const storedAtOf = (m: JsMsg): number => m.info.timestampNanos / 1e6

/**
 * Runs a durable consumer until interrupted: each commit's events go to `handle` in order; success
 * acks; failure naks with backoff; after `maxDeliveries` the original message moves to the
 * dead-letter stream with its sequence and the failure reason, and the consumer moves on. An
 * undecodable message is dead-lettered at once: no retry can fix it. A failure `isTransient`
 * accepts is redelivered with backoff however often it recurs, and never dead-lettered.
 *
 * An event of a type the catalogue lacks (a newer writer's) is skipped, counted in `skipped` when
 * its commit is acknowledged and logged once per type: an event type rolled out before its
 * readers stops none of them. Each event is handled in a `consume <name>` span whose parent is
 * the span named by the event's trace context, so that spans join across agents.
 *
 * It rides through a NATS restart by itself: nats.js checks the durable consumer on reconnect and
 * pulls again. A nak waits for the connection to be back (nats.js drops what is sent while it is
 * down); an ack lost in the outage only means a redelivery after the ack deadline.
 */
export const runDurableConsumer = <D extends EventDefinition, E, R>(options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly catalog: EventCatalog<D>
  readonly spec: DurableConsumerSpec
  readonly handle: (event: EventOf<D>, delivery: Delivery) => Effect.Effect<void, E, R>
  /** Where the events of unknown types it skips are counted (for /status). */
  readonly skipped?: SkippedEvents
  /** Where the deliveries it tries again after a transient failure are kept until settled (for /status). */
  readonly retrying?: RetryingDeliveries
  /**
   * Whether a handler failure is the infrastructure being away (a lost connection, a timeout)
   * rather than the event: an outage longer than `maxDeliveries` backoffs must not dead-letter
   * every event it touches. Default: no failure is.
   */
  readonly isTransient?: (cause: Cause.Cause<E>) => boolean
  /**
   * Completes when the consumer should drain: it stops pulling, finishes (and acks) the message
   * in hand, and returns. Interruption instead abandons the message in hand to redelivery.
   */
  readonly until?: Effect.Effect<void>
  /**
   * Whether the handler already holds a delivery's effect, from its subject and stream sequence
   * alone (a consumer that folds its own writes as it appends them gets them back): such a
   * delivery is acknowledged without being decoded or handled. It must answer true only for what
   * a completed handling covers, or the delivery's effect is lost.
   */
  readonly alreadyHandled?: (subject: string, sequence: number) => boolean
  /**
   * The event types the handler acts on, when it acts on no others: a commit that holds none of
   * them is acknowledged without being decoded (see {@link commitMayHold}). A reactor reading an
   * aggregate type's subjects is delivered every event of it and reacts to a few: on the shop's
   * day, the customer agent's six ticket reactors were delivered 2,900 commits each.
   */
  readonly reactsTo?: ReadonlySet<string>
}): Effect.Effect<void, EventLogError, R> =>
  Effect.gen(function* () {
    const { nats, namespace, catalog, spec, handle } = options
    const { stream, createdAt } = yield* ensureConsumer(nats, namespace, spec)
    const maxDeliveries = spec.maxDeliveries ?? 5
    const backoff = spec.backoff ?? defaultBackoff

    const deadLetter = (m: JsMsg, reason: string) =>
      Effect.tryPromise({
        try: async () => {
          const h = natsHeaders()
          h.set(DeadLetterHeaders.stream, stream)
          h.set(DeadLetterHeaders.sequence, String(m.seq))
          h.set(DeadLetterHeaders.subject, m.subject)
          h.set(DeadLetterHeaders.consumer, spec.name)
          h.set(DeadLetterHeaders.reason, reason.replace(/[\r\n]+/g, " ").slice(0, 2_000))
          h.set(DeadLetterHeaders.deliveries, String(m.info.deliveryCount))
          // Dedup on the original position: a crash between this publish and the ack must not
          // dead-letter the same event twice.
          await nats.js.publish(Subjects.deadLetter(namespace, spec.name), m.data, {
            headers: h,
            msgID: `${stream}:${m.seq}:${spec.name}`,
          })
          m.ack()
        },
        catch: (e) => unavailable(`dead-letter ${stream}#${m.seq}`, e),
      }).pipe(
        Effect.tap(() => Effect.logWarning(`dead-lettered ${stream}#${m.seq} for ${spec.name}: ${reason}`)),
      )

    const skipped = options.skipped ?? new SkippedEvents()
    const retrying = options.retrying
    const skip = (m: JsMsg, types: ReadonlyArray<string>) =>
      skipped.record(types)
        ? Effect.logWarning(
            `${spec.name} skips ${[...new Set(types)].join(", ")} at ${stream}#${m.seq}: not in its catalogue (a newer writer's event type); counted, logged once per type`,
          )
        : Effect.void

    const handleEvent = (event: EventOf<D>, delivery: Delivery) => {
      const parent = parentSpanOf(event.trace)
      return handle(event, delivery).pipe(
        Effect.withSpan(
          `consume ${spec.name}`,
          {
            kind: "consumer",
            ...(parent === undefined ? {} : { parent }),
            attributes: {
              "mesh.event.id": event.eventId,
              "mesh.event.type": event.type,
              "mesh.stream": stream,
              "mesh.stream.sequence": delivery.sequence,
            },
          },
          // One per message: its name says where it starts, and the caller's line would cost a
          // stack trace each (2 % of customer ops' CPU with the other per-message spans).
          { captureStackTrace: false },
        ),
      )
    }

    // A nak sent while the connection is down is dropped, and its message would come back only
    // after the ack deadline, behind the ones after it: it waits for the connection. Waiting also
    // stops the consumer from failing through every message it had pulled while the outage lasts.
    const link = connectionLink(nats.connection)
    const nak = (m: JsMsg, delay: number) =>
      Effect.promise(() => link.whenUp()).pipe(Effect.andThen(Effect.sync(() => m.nak(delay))))
    const alreadyHandled = options.alreadyHandled
    const reactsTo = options.reactsTo
    // When the consumer was busy, for the time each message waited behind its work; a message
    // stored before it started waited for it to be there.
    const busy = new BusyTime({ absentUntil: Date.now() })
    // A delivery the consumer has nothing to do with: a commit of none of the types it reacts to,
    // or one its handler already holds. Acknowledged at its turn in the stream, without a slot or a
    // wait behind its subject: such commits are mostly the consumer's own reactions' writes, which come back
    // while the reaction that wrote them is still in hand, and waiting their turn they held its
    // slots. (On the shop's day, 2,341 of the 2,888 deliveries customer ops' answer reactor gave a
    // slot to were such commits, 710 of them waiting out the reaction to their ticket.)
    const noConcernOf = (m: JsMsg): boolean =>
      handledLately.has(m.seq) ||
      alreadyHandled?.(m.subject, m.seq) === true ||
      (reactsTo !== undefined && !commitMayHold(catalog, m.data, reactsTo))
    // Deliveries this consumer handled and acknowledged lately, by stream sequence. A message held
    // past the ack wait (pulled, then waiting behind a busy consumer) is sent again by the server
    // meanwhile; the copy that comes to this process once the first was handled is acknowledged as
    // it comes rather than handled again. (A copy another replica gets is handled there: the
    // command ids derived from the event keep its effect single, as for any redelivery.) (On the shop's day, customer ops' answer reactor, its queue a minute long
    // at the busiest, had handled up to 124 of its 548 messages twice, each copy a whole reaction.)
    const handledLately = new Set<number>()
    const noteHandled = (sequence: number) => {
      handledLately.add(sequence)
      if (handledLately.size > HANDLED_LATELY)
        handledLately.delete(handledLately.values().next().value as number)
    }
    const processMessage = (m: JsMsg, startedAt: number, queuedMs: number) => {
      // Asked again at its turn: the handler may have come to hold it meanwhile (an action's drive
      // folds what it wrote once it rests). Its types were looked at as it came.
      if (alreadyHandled?.(m.subject, m.seq) === true) return Effect.sync(() => m.ack())
      const decoded = decodeStoredCommit(catalog, m.data)
      if (Result.isFailure(decoded)) return deadLetter(m, `undecodable: ${describeIssue(decoded.failure)}`)
      const { events, unknownTypes } = decoded.success
      const delivery: Delivery = {
        stream,
        subject: m.subject,
        sequence: m.seq,
        deliveryCount: m.info.deliveryCount,
        storedAt: storedAtOf(m),
        queuedMs: Math.min(queuedMs, Math.max(0, startedAt - storedAtOf(m))),
        // An unreadable creation time vouches for nothing.
        storedAfterConsumer: storedAtOf(m) > createdAt,
      }
      const ack = Effect.sync(() => {
        m.ack()
        noteHandled(m.seq)
        retrying?.settled(stream, m.seq)
      })
      // A commit's later events wait behind the handling of its earlier ones: the consumer's own work.
      const firstAt = Date.now()
      return Effect.forEach(
        events,
        (event, i) =>
          i === 0
            ? handleEvent(event, delivery)
            : Effect.suspend(() =>
                handleEvent(event, { ...delivery, queuedMs: delivery.queuedMs + (Date.now() - firstAt) }),
              ),
        { discard: true },
      ).pipe(
        Effect.matchCauseEffect({
          onSuccess: () =>
            unknownTypes.length === 0 ? ack : ack.pipe(Effect.andThen(skip(m, unknownTypes))),
          onFailure: (cause) => {
            if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
            const reason = Cause.pretty(cause).split("\n")[0] ?? "handler failed"
            const delay = backoffDelay(backoff, m.info.deliveryCount)
            if (options.isTransient?.(cause) === true)
              return Effect.logWarning(
                `${spec.name} will retry ${stream}#${m.seq} in ${delay} ms (delivery ${m.info.deliveryCount}): ${reason}`,
              ).pipe(
                Effect.andThen(
                  Effect.sync(() =>
                    retrying?.failed(
                      { stream, sequence: m.seq, deliveries: m.info.deliveryCount, reason },
                      new Date(),
                      delay,
                    ),
                  ),
                ),
                Effect.andThen(nak(m, delay)),
              )
            return m.info.deliveryCount >= maxDeliveries
              ? deadLetter(m, `handler failed ${m.info.deliveryCount} times: ${reason}`).pipe(
                  Effect.tap(() => Effect.sync(() => retrying?.settled(stream, m.seq))),
                )
              : nak(m, delay)
          },
        }),
      )
    }

    const messages = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => (await nats.js.consumers.get(stream, spec.name)).consume({ max_messages: 256 }),
        catch: (e) => unavailable(`consume ${stream}/${spec.name}`, e),
      }),
      // Not awaited: closing unsubscribes at once, but its promise settles only through an iterator
      // that has been read, and one interrupted before its first read never is.
      (ms) => Effect.sync(() => void ms.close()),
    )
    let draining = false
    if (options.until !== undefined) {
      yield* Effect.forkScoped(
        options.until.pipe(
          Effect.andThen(Effect.sync(() => (draining = true))),
          Effect.andThen(Effect.promise(() => messages.close().then(() => undefined))),
        ),
      )
    }
    const pulled = Stream.fromAsyncIterable(messages, (e) => unavailable(`consume ${stream}/${spec.name}`, e))
    // Messages pulled but not started when the drain began go straight back to the server, so
    // that another replica takes them without waiting for the ack deadline.
    const concurrency = spec.concurrency ?? 1
    if (concurrency <= 1) {
      const processInTurn = (m: JsMsg) =>
        Effect.suspend(() => {
          const startedAt = Date.now()
          const queuedMs = busy.busyBetween(storedAtOf(m), startedAt)
          busy.mark(true, startedAt)
          return processMessage(m, startedAt, queuedMs).pipe(
            Effect.ensuring(Effect.sync(() => busy.mark(false))),
          )
        })
      yield* pulled.pipe(
        Stream.runForEach((m) =>
          draining
            ? Effect.sync(() => m.nak())
            : noConcernOf(m)
              ? Effect.sync(() => m.ack())
              : processInTurn(m),
        ),
      )
      return
    }
    // Side by side across subjects, in order within one: each message waits for the last one of
    // its subject still in hand. A failure that would end a sequential consumer ends this one too.
    const permits = yield* Semaphore.make(concurrency)
    const failed = yield* Deferred.make<never, EventLogError>()
    const lastOf = new Map<string, Fiber.Fiber<void>>()
    const inHand = new Set<Fiber.Fiber<void>>()
    // Stream sequences in hand (waiting behind their subject, or being handled). A copy the server
    // sends while its first delivery is in hand is dropped unacknowledged: the first delivery's
    // settlement settles the sequence (the server takes an ack by stream sequence, whichever
    // delivery it came with), and its nak, if it fails, brings it back.
    const held = new Set<number>()
    // Slots taken: the consumer is busy while every one is, and while a message waits for one (a
    // slot freed is handed to it at once: the moment between is the consumer's hand-over, which a
    // message waiting behind hundreds of others would otherwise count hundreds of times as delivery).
    let taken = 0
    let waitingForSlot = 0
    const start = (m: JsMsg) =>
      Effect.gen(function* () {
        waitingForSlot++
        yield* permits.take(1).pipe(Effect.ensuring(Effect.sync(() => waitingForSlot--)))
        // Until it had a slot it waited behind a full consumer; from then on, behind its subject's
        // earlier messages still in hand: two stretches that do not overlap.
        const slotAt = Date.now()
        taken++
        if (taken >= concurrency) busy.mark(true, slotAt)
        // Two slots freed while it waited were both kept busy for it: one is free still.
        else if (waitingForSlot === 0) busy.mark(false, slotAt)
        held.add(m.seq)
        const previous = lastOf.get(m.subject)
        // Its own handle, set once forked: the cleanup below may only run after that.
        const self: { fiber?: Fiber.Fiber<void> } = {}
        const fiber: Fiber.Fiber<void> = yield* (
          previous === undefined ? Effect.void : Fiber.await(previous)
        ).pipe(
          Effect.flatMap(() =>
            Effect.suspend(() => {
              const startedAt = Date.now()
              const queuedMs = busy.busyBetween(storedAtOf(m), slotAt) + (startedAt - slotAt)
              return processMessage(m, startedAt, queuedMs)
            }),
          ),
          Effect.catchCause((cause) =>
            Cause.hasInterruptsOnly(cause) ? Effect.void : Deferred.failCause(failed, cause),
          ),
          Effect.asVoid,
          Effect.ensuring(
            Effect.sync(() => {
              taken--
              held.delete(m.seq)
              if (waitingForSlot === 0) busy.mark(false)
              if (self.fiber === undefined) return
              inHand.delete(self.fiber)
              if (lastOf.get(m.subject) === self.fiber) lastOf.delete(m.subject)
            }).pipe(Effect.andThen(permits.release(1))),
          ),
          Effect.forkScoped,
        )
        self.fiber = fiber
        lastOf.set(m.subject, fiber)
        inHand.add(fiber)
      })
    yield* pulled.pipe(
      Stream.runForEach((m) =>
        draining
          ? Effect.sync(() => m.nak())
          : held.has(m.seq)
            ? Effect.void
            : noConcernOf(m)
              ? Effect.sync(() => m.ack())
              : start(m),
      ),
      Effect.raceFirst(Deferred.await(failed)),
    )
    // The drain (or the end of the messages) waits for what is in hand to finish and be acked.
    yield* Effect.forEach([...inHand], (fiber) => Fiber.await(fiber), { discard: true })
    yield* Effect.suspend(() => (Deferred.isDoneUnsafe(failed) ? Deferred.await(failed) : Effect.void))
  }).pipe(Effect.scoped)

/**
 * Reads the dead letters of a namespace that nobody settled (for operators and tests): the
 * dead-letter stream keeps every dead letter, and an operator's settling mark beside it (the
 * stream denies deleting a message, so that no dead letter disappears without a trace).
 */
export const readDeadLetters = (nats: NatsHandles, namespace: string) =>
  Effect.tryPromise({
    try: async () => {
      const stream = Subjects.deadLetterStream(namespace)
      const info = await nats.jsm.streams.info(stream)
      const out: Array<DeadLetter> = []
      const settled = new Set<number>()
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const m = await nats.jsm.streams.getMessage(stream, { seq }).catch(() => null)
        if (m === null) continue
        const h = m.header
        // A settling mark carries the sequence it settles (a consumer may well be named `settled`).
        if (h.has(DeadLetterHeaders.settles)) {
          settled.add(Number(h.get(DeadLetterHeaders.settles)))
          continue
        }
        out.push({
          sequence: m.seq,
          originalStream: h.get(DeadLetterHeaders.stream),
          originalSequence: Number(h.get(DeadLetterHeaders.sequence)),
          originalSubject: h.get(DeadLetterHeaders.subject),
          consumer: h.get(DeadLetterHeaders.consumer),
          reason: h.get(DeadLetterHeaders.reason),
          deliveries: Number(h.get(DeadLetterHeaders.deliveries)),
          deadLetteredAt: m.time.toISOString(),
          data: m.data,
        })
      }
      return out.filter((d) => !settled.has(d.sequence))
    },
    catch: (e) => unavailable(`read dead letters of ${namespace}`, e),
  })

/**
 * Marks a dead letter settled by an operator: handed back and reacted to, or discarded. The mark
 * goes into the dead-letter stream beside it (once per dead letter), and the dead letter no longer
 * reads as one; both stay in the stream.
 */
export const settleDeadLetter = (
  nats: NatsHandles,
  namespace: string,
  letter: DeadLetter,
  outcome: DeadLetterOutcome,
  operator: string,
) =>
  Effect.tryPromise({
    try: async () => {
      const h = natsHeaders()
      h.set(DeadLetterHeaders.settles, String(letter.sequence))
      h.set(DeadLetterHeaders.outcome, outcome)
      h.set(DeadLetterHeaders.operator, operator)
      h.set(DeadLetterHeaders.consumer, letter.consumer)
      await nats.js.publish(Subjects.deadLetterSettled(namespace, letter.consumer), new Uint8Array(0), {
        headers: h,
        msgID: `settle:${letter.sequence}`,
      })
    },
    catch: (e) => unavailable(`settle dead letter #${letter.sequence} of ${namespace}`, e),
  })
