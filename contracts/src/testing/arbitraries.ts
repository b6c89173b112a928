import { Arbitrary, Effect } from "effect"
import * as fc from "fast-check"
import type { EventDefinition, EventOf, PayloadOf } from "../catalog.ts"
import type { Actor, TraceContext } from "../envelope.ts"
import { type MeshEvent, meshEventDefinitions } from "../index.ts"
import { anyAggregateType } from "../subjects.ts"

/** The earliest instant the arbitraries generate (2000-01-01T00:00:00.000Z). */
export const earliestInstantMs = Date.UTC(2000, 0, 1)
/** The latest instant the arbitraries generate (2099-12-31T23:59:59.999Z). */
export const latestInstantMs = Date.UTC(2100, 0, 1) - 1

/** Milliseconds since the epoch within the years 2000-2099. */
export const epochMsArbitrary: fc.Arbitrary<number> = fc.integer({
  min: earliestInstantMs,
  max: latestInstantMs,
})

/** ISO-8601 UTC instants as `Date.prototype.toISOString` writes them. */
export const instantArbitrary: fc.Arbitrary<string> = epochMsArbitrary.map((ms) => new Date(ms).toISOString())

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

/** Builds the UUIDv7 of an instant from 10 random bytes (RFC 9562: 48-bit ms, version 7, variant 10). */
export const uuidV7At = (epochMs: number, random: Uint8Array): string => {
  const bytes = new Uint8Array(16)
  let ms = epochMs
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  bytes.set(random.subarray(0, 10), 6)
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f)
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f)
  const h = hex(bytes)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const randomBytes = fc.uint8Array({ minLength: 10, maxLength: 10 })

/** UUIDv7 ids minted at a given instant, so that they sort with it. */
export const uuidV7AtArbitrary = (epochMs: number): fc.Arbitrary<string> =>
  randomBytes.map((random) => uuidV7At(epochMs, random))

/** UUIDv7 ids minted at any instant the arbitraries generate. */
export const uuidV7Arbitrary: fc.Arbitrary<string> = fc
  .tuple(epochMsArbitrary, randomBytes)
  .map(([ms, random]) => uuidV7At(ms, random))

/** NATS subject tokens: aggregate types and ids as the envelope accepts them. */
export const subjectTokenArbitrary: fc.Arbitrary<string> = fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/)

/** Any valid namespace: lowercase words joined by single '_', at most 64 characters. */
export const namespaceArbitrary: fc.Arbitrary<string> = fc
  .stringMatching(/^[a-z0-9]{1,12}(?:_[a-z0-9]{1,12}){0,4}$/)
  .filter((namespace) => namespace.length <= 64)

/** Actors of every kind with non-empty ids. */
export const actorArbitrary: fc.Arbitrary<Actor> = fc.record(
  {
    kind: fc.constantFrom("agent", "human", "system"),
    id: fc.string({ minLength: 1, maxLength: 40 }),
  },
  // Decoded actors are plain objects; a null-prototype one would not strictly equal its round trip.
  { noNullPrototype: true },
)

const lowerHex = (length: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length })

/** W3C trace contexts, with and without `tracestate`. */
export const traceContextArbitrary: fc.Arbitrary<TraceContext> = fc
  .record(
    {
      version: lowerHex(2),
      traceId: lowerHex(32),
      parentId: lowerHex(16),
      flags: lowerHex(2),
      tracestate: fc.string({ maxLength: 60 }),
    },
    { requiredKeys: ["version", "traceId", "parentId", "flags"] },
  )
  .map(({ version, traceId, parentId, flags, tracestate }) => {
    const traceparent = `${version}-${traceId}-${parentId}-${flags}`
    return tracestate === undefined ? { traceparent } : { traceparent, tracestate }
  })

/** The envelope metadata shared by the events of one commit; `trace` is absent about half the time. */
export interface CommitMetadataSample {
  readonly correlationId: string
  readonly causationId: string | null
  readonly actor: Actor
  readonly trace?: TraceContext
}

/** Commit metadata: correlation id, causation id (null for a root command), actor and optional trace. */
export const commitMetadataArbitrary: fc.Arbitrary<CommitMetadataSample> = fc
  .record(
    {
      correlationId: fc.oneof(uuidV7Arbitrary, fc.string({ minLength: 1, maxLength: 40 })),
      causationId: fc.option(uuidV7Arbitrary, { nil: null }),
      actor: actorArbitrary,
      trace: traceContextArbitrary,
    },
    { requiredKeys: ["correlationId", "causationId", "actor"] },
  )
  .map(({ trace, ...rest }) => (trace === undefined ? rest : { ...rest, trace }))

// JSON has no -0 (it is written as 0), and the schemas accept it, so a derived -0 would never survive the wire.
const withoutNegativeZero = (value: unknown): unknown => {
  if (Object.is(value, -0)) return 0
  if (Array.isArray(value)) return value.map(withoutNegativeZero)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, withoutNegativeZero(field)]))
  }
  return value
}

// effect derives generators from schemas but runs its own engine; fast-check drives it through a seed
// and a size, so runs stay reproducible from fast-check's seed (payloads shrink only by seed).
const fromEffect = <A>(derived: Arbitrary.Arbitrary<A>): fc.Arbitrary<A> =>
  fc
    .noShrink(fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 0, max: 30 })))
    .map(([seed, size]) => {
      const [value] = Effect.runSync(Arbitrary.sampleEffect(derived, { count: 1, seed, size }))
      return withoutNegativeZero(value) as A
    })

/** Valid payloads of an event at its current version, derived from its payload schema. */
export const payloadArbitrary = <D extends EventDefinition>(definition: D): fc.Arbitrary<PayloadOf<D>> =>
  fromEffect(Arbitrary.schema(definition.payload))

/** Where an event sits in its aggregate; omitted parts are generated. */
export interface EventPlacement {
  readonly aggregateId?: string
  readonly aggregateVersion?: number
}

/** Aggregate types of a definition: its own, or an agent name for a platform event (`anyAggregateType`). */
export const aggregateTypeArbitrary = (definition: EventDefinition): fc.Arbitrary<string> =>
  definition.aggregateType === anyAggregateType
    ? subjectTokenArbitrary
    : fc.constant(definition.aggregateType)

/** Valid decoded events of one type at its current schema version. */
export const eventArbitrary = <D extends EventDefinition>(
  definition: D,
  placement: EventPlacement = {},
): fc.Arbitrary<EventOf<D>> =>
  fc
    .record({
      ms: epochMsArbitrary,
      random: randomBytes,
      aggregateId:
        placement.aggregateId === undefined ? subjectTokenArbitrary : fc.constant(placement.aggregateId),
      aggregateVersion:
        placement.aggregateVersion === undefined
          ? fc.integer({ min: 1, max: 1_000_000 })
          : fc.constant(placement.aggregateVersion),
      aggregateType: aggregateTypeArbitrary(definition),
      metadata: commitMetadataArbitrary,
      payload: payloadArbitrary(definition),
    })
    .map(
      ({ ms, random, aggregateId, aggregateVersion, aggregateType, metadata, payload }) =>
        ({
          eventId: uuidV7At(ms, random),
          type: definition.type,
          schemaVersion: definition.version,
          aggregateType,
          aggregateId,
          aggregateVersion,
          occurredAt: new Date(ms).toISOString(),
          ...metadata,
          payload,
        }) as EventOf<D>,
    )

/** Valid decoded events of any public type of the mesh. */
export const meshEventArbitrary: fc.Arbitrary<MeshEvent> = fc.oneof(
  ...meshEventDefinitions.map((definition) => eventArbitrary(definition) as fc.Arbitrary<MeshEvent>),
)

const aggregateKinds = (
  definitions: ReadonlyArray<EventDefinition>,
): ReadonlyArray<ReadonlyArray<EventDefinition>> => {
  const byKind = new Map<string, Array<EventDefinition>>()
  for (const definition of definitions) {
    const kind = `${definition.domain}.${definition.aggregateType}`
    byKind.set(kind, [...(byKind.get(kind) ?? []), definition])
  }
  return [...byKind.values()]
}

/** How many events a generated commit holds. */
export interface CommitSize {
  readonly minEvents?: number
  readonly maxEvents?: number
}

/**
 * Valid commits as one command writes them: events of one aggregate with consecutive versions,
 * non-decreasing timestamps and shared metadata (1 to 5 events unless told otherwise).
 */
export const commitArbitrary = ({
  minEvents = 1,
  maxEvents = 5,
}: CommitSize = {}): fc.Arbitrary<ReadonlyArray<MeshEvent>> =>
  fc.constantFrom(...aggregateKinds(meshEventDefinitions)).chain((definitions) =>
    fc
      .record({
        aggregateId: subjectTokenArbitrary,
        aggregateType: aggregateTypeArbitrary(definitions[0]!),
        firstVersion: fc.integer({ min: 1, max: 1_000_000 }),
        startMs: fc.integer({ min: earliestInstantMs, max: latestInstantMs - 60_000 }),
        metadata: commitMetadataArbitrary,
        steps: fc.array(
          fc.record({
            delayMs: fc.integer({ min: 0, max: 50 }),
            random: randomBytes,
            event: fc.oneof(
              ...definitions.map((definition) =>
                payloadArbitrary(definition).map((payload) => ({ definition, payload })),
              ),
            ),
          }),
          { minLength: minEvents, maxLength: maxEvents },
        ),
      })
      .map(({ aggregateId, aggregateType, firstVersion, startMs, metadata, steps }) => {
        let ms = startMs
        return steps.map(({ delayMs, random, event: { definition, payload } }, index) => {
          ms += delayMs
          return {
            eventId: uuidV7At(ms, random),
            type: definition.type,
            schemaVersion: definition.version,
            aggregateType,
            aggregateId,
            aggregateVersion: firstVersion + index,
            occurredAt: new Date(ms).toISOString(),
            ...metadata,
            payload,
          } as MeshEvent
        })
      }),
  )

// The law checker for register kinds, for a domain that declares a custom merge.
export * from "./registers.ts"
