import { createHash } from "node:crypto"
import {
  type Actor,
  canonicalJson,
  compareVersionVectors,
  conflictAggregateType,
  decodeCommit,
  type EventOf,
  type InvariantDefinition,
  type InvariantViolated,
  type InvariantViolation,
  makeCatalog,
  type RegisterConflictEscalated,
  type RegisterConflictResolved,
  type RegisterDefinition,
  registerEvents,
  Subjects,
  type VersionVector,
  violationAggregateType,
} from "@mesh/contracts"
import { type EventLogError, initialPosition, makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { Effect, Result } from "effect"
import { RegisterError, registerUnavailable } from "./registerError.ts"
import type { RegisterReading, RegistersShape } from "./registers.ts"
import { readStoredMessages } from "./storedMessages.ts"

// Conflicts no merge rule settles are put to a human, and answered like an approval: the answer
// names the digest of the values it was shown, and is written with the escalated context as what
// its writer observed, so it replaces exactly those values and never a write made since.

/** An escalation as the log holds it. */
export type ConflictEscalation = EventOf<typeof RegisterConflictEscalated>
/** An answer as the log holds it. */
export type ConflictResolution = EventOf<typeof RegisterConflictResolved>

const catalog = makeCatalog(registerEvents)

/** SHA-256 of the values' canonical JSON: what an answer must name. */
export const valuesDigest = (values: ReadonlyArray<unknown>): string =>
  createHash("sha256").update(canonicalJson(values), "utf8").digest("hex")

/** The values a reading offers to choose from, as `read` shows them (latest first). */
const choicesOf = <S, O, V>(definition: RegisterDefinition<S, O, V>, reading: RegisterReading<S, V>) => {
  const values = definition.kind.read(reading.snapshot.state)
  return Array.isArray(values) ? (values as ReadonlyArray<unknown>) : [values]
}

/** The id of a conflict: one per register instance and context that holds the values. */
export const conflictIdOf = (register: string, id: string, context: VersionVector): string =>
  `c-${createHash("sha256")
    .update(`${register}\n${id}\n${canonicalJson(context)}`, "utf8")
    .digest("hex")
    .slice(0, 32)}`

/** A recorded invariant violation. */
export type RecordedViolation = EventOf<typeof InvariantViolated>

/** The id of a violation: one per invariant, instance and subject. */
export const violationIdOf = (invariant: string, id: string, subject: string): string =>
  `v-${createHash("sha256").update(`${invariant}\n${id}\n${subject}`, "utf8").digest("hex").slice(0, 32)}`

/** A conflict and its answer, if any. */
export interface Conflict {
  readonly escalation: ConflictEscalation
  readonly resolution?: ConflictResolution
}

/** What an answer chose, and where it was written. */
export interface ConflictAnswer {
  readonly conflictId: string
  /** The position of the chosen value among those escalated. */
  readonly choose: number
  /** The digest of the values the person was shown (`mesh conflicts` prints it). */
  readonly valuesSha256: string
  readonly actor: Actor
}

// An outage stays an outage (the caller retries); anything else the log refused is deterministic
// (a bad event, a drifted stream) and is reported as such, not retried forever.
const logFailure = (operation: string) => (e: EventLogError) =>
  e.reason._tag === "Unavailable"
    ? registerUnavailable(operation, e)
    : new RegisterError({
        reason: { _tag: "Refused", register: "-", id: "-", message: `${operation}: ${e.message}` },
      })
const refuse = (register: string, id: string, message: string) =>
  new RegisterError({ reason: { _tag: "Refused", register, id, message } })

/** Escalation, listing and answers of the conflicts of a namespace. */
export const makeConflicts = (nats: NatsHandles, namespace: string) => {
  const log = makeEventLog({ nats, catalog, namespace })
  const aggregate = (conflictId: string) => ({
    domain: "registers" as const,
    type: conflictAggregateType,
    id: conflictId,
  })

  /**
   * Puts the reading's unresolved values to a human, once per conflict: a second escalation of the
   * same values (a redelivery, a restart, the other site's resolver) finds it recorded.
   */
  const escalate = <S, O, V>(
    definition: RegisterDefinition<S, O, V>,
    reading: RegisterReading<S, V>,
    metadata: { readonly correlationId?: string; readonly causationId?: string | null } = {},
  ) =>
    Effect.gen(function* () {
      const choices = choicesOf(definition, reading)
      const conflictId = conflictIdOf(definition.name, reading.id, reading.snapshot.context)
      const appended = yield* log
        .append({
          aggregate: aggregate(conflictId),
          expected: initialPosition,
          events: [
            {
              type: "RegisterConflictEscalated",
              payload: {
                conflictId,
                register: definition.name,
                id: reading.id,
                kind: definition.kind.kind,
                owner: definition.owner,
                values: choices,
                valuesSha256: valuesDigest(choices),
                context: reading.snapshot.context,
                reason: `${choices.length} concurrent values that the ${definition.kind.kind} merge keeps side by side`,
              },
            },
          ],
          metadata: {
            correlationId: metadata.correlationId ?? conflictId,
            causationId: metadata.causationId ?? null,
            actor: { kind: "agent", id: "conflict-resolver" },
          },
        })
        .pipe(
          Effect.map((result) => ({ conflictId, escalated: !result.duplicate })),
          Effect.catchIf(
            (e) => e.reason._tag === "ConcurrencyConflict",
            () => Effect.succeed({ conflictId, escalated: false }),
          ),
          Effect.mapError(logFailure(`escalate conflict ${conflictId}`)),
        )
      return appended
    })

  /** The events of one aggregate type of the registers stream, oldest first. */
  const eventsOf = (aggregateType: string) =>
    Effect.gen(function* () {
      const stream = Subjects.streamName(namespace, "registers")
      const subject = `${namespace}.registers.${aggregateType}.*`
      const raw = yield* readStoredMessages(
        nats,
        stream,
        subject,
        `read the ${aggregateType} events of ${namespace}`,
      )
      const events: Array<EventOf<(typeof registerEvents)[number]>> = []
      for (const { sequence, data } of raw) {
        const decoded = decodeCommit(catalog, data)
        if (Result.isFailure(decoded)) {
          return yield* Effect.fail(
            new RegisterError({
              reason: {
                _tag: "UndecodableValue",
                key: `${stream}#${sequence}`,
                revision: sequence,
                message: decoded.failure._tag,
              },
            }),
          )
        }
        events.push(...decoded.success)
      }
      return events
    })

  /** Every escalated conflict of the namespace with its answer, oldest first. */
  const list = Effect.gen(function* () {
    const events = yield* eventsOf(conflictAggregateType)
    const conflicts = new Map<string, { escalation?: ConflictEscalation; resolution?: ConflictResolution }>()
    for (const event of events) {
      if (event.type === "RegisterConflictEscalated") {
        const slot = conflicts.get(event.payload.conflictId) ?? {}
        conflicts.set(event.payload.conflictId, { ...slot, escalation: event })
      } else if (event.type === "RegisterConflictResolved") {
        const slot = conflicts.get(event.payload.conflictId) ?? {}
        conflicts.set(event.payload.conflictId, { ...slot, resolution: event })
      }
    }
    return [...conflicts.values()].flatMap(
      (c): ReadonlyArray<Conflict> =>
        c.escalation === undefined
          ? []
          : [
              c.resolution === undefined
                ? { escalation: c.escalation }
                : { escalation: c.escalation, resolution: c.resolution },
            ],
    )
  })

  /**
   * Answers a conflict. The answer must name the digest of the values escalated, and the register
   * must still hold them (a write made since would be replaced unseen otherwise). The answer is
   * recorded first, so that a second answer, here or racing at another terminal, finds it and
   * writes nothing; then the chosen value is written through `registers` (acting for the
   * register's owner) with the escalated context as what it observed, so it replaces exactly the
   * values escalated. An answer recorded whose write never landed (a crash between the two) is
   * completed by answering again.
   */
  const answer = <S, O, V>(
    definition: RegisterDefinition<S, O, V>,
    registers: RegistersShape,
    request: ConflictAnswer,
  ) =>
    Effect.gen(function* () {
      const loaded = yield* log
        .load(aggregate(request.conflictId))
        .pipe(Effect.mapError(logFailure(`load conflict ${request.conflictId}`)))
      const escalation = loaded.events.find((e) => e.type === "RegisterConflictEscalated")
      if (escalation === undefined || escalation.type !== "RegisterConflictEscalated") {
        return yield* Effect.fail(refuse(definition.name, "-", `no conflict ${request.conflictId}`))
      }
      const { register, id, values, valuesSha256, context } = escalation.payload
      const settle = definition.kind.settle
      if (register !== definition.name || settle === undefined) {
        return yield* Effect.fail(
          refuse(
            register,
            id,
            `conflict ${request.conflictId} is not one of ${definition.name} that a choice settles`,
          ),
        )
      }
      // Whether the register still holds exactly the escalated values, seen from a context covering theirs.
      const stillHeld = Effect.map(registers.read(definition, id), (reading) => {
        const order = compareVersionVectors(context, reading.snapshot.context)
        return (
          (order === "equal" || order === "before") &&
          valuesDigest(choicesOf(definition, reading)) === valuesSha256
        )
      })
      const writeChoice = (chosen: number, cause: { readonly eventId: string }) =>
        registers.write(definition, id, settle(values[chosen]), {
          observed: context,
          correlationId: escalation.correlationId,
          causationId: cause.eventId,
          actor: request.actor,
        })

      const recorded = loaded.events.find((e) => e.type === "RegisterConflictResolved")
      if (recorded !== undefined && recorded.type === "RegisterConflictResolved") {
        if (yield* stillHeld) return yield* writeChoice(recorded.payload.chosen, recorded)
        return yield* Effect.fail(refuse(register, id, `conflict ${request.conflictId} is already resolved`))
      }
      if (request.valuesSha256 !== valuesSha256) {
        return yield* Effect.fail(
          refuse(
            register,
            id,
            `the answer names values ${request.valuesSha256.slice(0, 12)}…, but conflict ${request.conflictId} escalated ${valuesSha256.slice(0, 12)}…`,
          ),
        )
      }
      if (!Number.isInteger(request.choose) || request.choose < 0 || request.choose >= values.length) {
        return yield* Effect.fail(
          refuse(
            register,
            id,
            `choose 0 to ${values.length - 1}: conflict ${request.conflictId} has ${values.length} values`,
          ),
        )
      }
      if (!(yield* stillHeld)) {
        return yield* Effect.fail(
          refuse(
            register,
            id,
            `${register}/${id} no longer holds the values of conflict ${request.conflictId}: it was written since, and what is still concurrent is escalated anew`,
          ),
        )
      }
      const claimed = yield* log
        .append({
          aggregate: aggregate(request.conflictId),
          expected: loaded.position,
          events: [
            {
              type: "RegisterConflictResolved",
              payload: {
                conflictId: request.conflictId,
                register,
                id,
                chosen: request.choose,
                value: values[request.choose],
                valuesSha256,
              },
            },
          ],
          metadata: {
            correlationId: escalation.correlationId,
            causationId: escalation.eventId,
            actor: request.actor,
          },
        })
        .pipe(
          Effect.mapError((e) =>
            e.reason._tag === "ConcurrencyConflict"
              ? refuse(register, id, `conflict ${request.conflictId} is already resolved`)
              : logFailure(`record the answer to ${request.conflictId}`)(e),
          ),
        )
      return yield* writeChoice(request.choose, claimed.events[0] as ConflictResolution)
    })

  /**
   * Records a violation once with its declared resolution: seen again (a redelivery, a restart,
   * the other site's resolver), it finds the record and says so (`recorded: false`).
   */
  const recordViolation = (
    invariant: InvariantDefinition,
    id: string,
    violation: InvariantViolation,
    registers: Readonly<Record<string, VersionVector>>,
    metadata: { readonly correlationId?: string; readonly causationId?: string | null } = {},
  ) =>
    Effect.gen(function* () {
      const violationId = violationIdOf(invariant.name, id, violation.subject)
      return yield* log
        .append({
          aggregate: { domain: "registers", type: violationAggregateType, id: violationId },
          expected: initialPosition,
          events: [
            {
              type: "InvariantViolated",
              payload: {
                violationId,
                invariant: invariant.name,
                owner: invariant.owner,
                id,
                subject: violation.subject,
                message: violation.message,
                resolution: violation.resolution,
                registers,
              },
            },
          ],
          metadata: {
            correlationId: metadata.correlationId ?? violationId,
            causationId: metadata.causationId ?? null,
            actor: { kind: "agent", id: "conflict-resolver" },
          },
        })
        .pipe(
          Effect.map((result) => ({
            violationId,
            recorded: !result.duplicate,
            event: result.events[0] as RecordedViolation,
          })),
          Effect.catchIf(
            (e) => e.reason._tag === "ConcurrencyConflict",
            () =>
              Effect.map(
                log.load({ domain: "registers", type: violationAggregateType, id: violationId }),
                (loaded) => ({
                  violationId,
                  recorded: false,
                  event: loaded.events[0] as RecordedViolation,
                }),
              ),
          ),
          Effect.mapError(logFailure(`record violation ${violationId}`)),
        )
    })

  /** Every recorded invariant violation of the namespace, oldest first. */
  const violations = Effect.map(eventsOf(violationAggregateType), (events) =>
    events.filter((event): event is RecordedViolation => event.type === "InvariantViolated"),
  )

  return { escalate, list, answer, recordViolation, violations }
}

/** The conflicts of a namespace. */
export type ConflictsShape = ReturnType<typeof makeConflicts>
