import { Result, Schema } from "effect"
import { type EventEnvelope, plainEnvelope, RawEnvelope } from "./envelope.ts"
import type { Domain } from "./subjects.ts"

/** Turns a payload written at schema version N into version N + 1; pure and total. */
export type Upcaster = (payload: unknown) => unknown

/** Any payload codec whose encoded side is plain JSON. */
// biome-ignore lint/suspicious/noExplicitAny: a definition accepts any payload type; EventOf recovers the precise one
export type PayloadSchema = Schema.Codec<any, any>

/** The contract of one event type: where it lives, its current payload schema and how old versions upcast. */
export interface EventDefinition<T extends string = string, P extends PayloadSchema = PayloadSchema> {
  readonly type: T
  readonly domain: Domain
  /** The aggregate type the event belongs to, or `anyAggregateType` ("*") for platform events. */
  readonly aggregateType: string
  /** The current schema version; events are always written at this version. */
  readonly version: number
  readonly payload: P
  /** `upcasters[n]` turns a version-n payload into version n + 1. */
  readonly upcasters: Readonly<Record<number, Upcaster>>
  readonly summary: string
  readonly producer: string
  readonly consumers: ReadonlyArray<string>
}

/** Declares an event type. */
export const defineEvent = <const T extends string, P extends PayloadSchema>(spec: {
  readonly type: T
  readonly domain: Domain
  readonly aggregateType: string
  readonly version?: number
  readonly payload: P
  readonly upcasters?: Readonly<Record<number, Upcaster>>
  readonly summary: string
  readonly producer: string
  readonly consumers?: ReadonlyArray<string>
}): EventDefinition<T, P> => {
  const version = spec.version ?? 1
  if (!Number.isInteger(version) || version < 1) {
    // Envelopes only accept positive integer versions, so such a definition would write undecodable events.
    throw new TypeError(`event ${spec.type} has version ${version}; versions are integers from 1`)
  }
  for (let v = 1; v < version; v++) {
    if (spec.upcasters?.[v] === undefined) {
      throw new TypeError(`event ${spec.type} is at version ${version} but has no upcaster from version ${v}`)
    }
  }
  return {
    type: spec.type,
    domain: spec.domain,
    aggregateType: spec.aggregateType,
    version,
    payload: spec.payload,
    upcasters: spec.upcasters ?? {},
    summary: spec.summary,
    producer: spec.producer,
    consumers: spec.consumers ?? [],
  }
}

/** The decoded event a definition describes. */
export type EventOf<D extends EventDefinition> =
  D extends EventDefinition<infer T, infer P> ? EventEnvelope<T, P["Type"]> : never

/** The payload type of a definition. */
export type PayloadOf<D extends EventDefinition> = D["payload"]["Type"]

/** Why an event could not be decoded or encoded. Every failure is a value, never a throw. */
export type CatalogIssue =
  | { readonly _tag: "MalformedCommit"; readonly message: string }
  | { readonly _tag: "InvalidEnvelope"; readonly message: string }
  | { readonly _tag: "UnknownEventType"; readonly type: string }
  | {
      readonly _tag: "UnsupportedVersion"
      readonly type: string
      readonly version: number
      readonly current: number
    }
  | {
      readonly _tag: "UpcastFailed"
      readonly type: string
      readonly fromVersion: number
      readonly message: string
    }
  | {
      readonly _tag: "InvalidPayload"
      readonly type: string
      readonly version: number
      readonly message: string
    }

/** Renders an issue as one sentence that names what is wrong. */
export const describeIssue = (issue: CatalogIssue): string => {
  switch (issue._tag) {
    case "MalformedCommit":
      return `malformed commit: ${issue.message}`
    case "InvalidEnvelope":
      return `invalid envelope: ${issue.message}`
    case "UnknownEventType":
      return `unknown event type ${JSON.stringify(issue.type)}`
    case "UnsupportedVersion":
      return `${issue.type} schema version ${issue.version} is newer than this build knows (${issue.current})`
    case "UpcastFailed":
      return `${issue.type} upcast from version ${issue.fromVersion} failed: ${issue.message}`
    case "InvalidPayload":
      return `${issue.type} v${issue.version} payload is invalid: ${issue.message}`
  }
}

const oneLine = (message: string): string => message.replace(/\s*\n\s*/g, " ")

// An upcaster may throw anything, even a value whose String() throws; describing it must not throw in turn.
const describeThrown = (cause: unknown): string => {
  try {
    return String(cause)
  } catch {
    return "an unprintable value was thrown"
  }
}

interface CompiledDefinition<D extends EventDefinition> {
  readonly definition: D
  readonly decodePayload: (input: unknown) => Result.Result<unknown, Schema.SchemaError>
  readonly encodePayload: (input: unknown) => Result.Result<unknown, Schema.SchemaError>
}

/** A closed set of event definitions that decodes and encodes events at the edge. */
export interface EventCatalog<D extends EventDefinition = EventDefinition> {
  readonly definitions: ReadonlyArray<D>
  readonly get: (type: string) => D | undefined
  /** Validates a raw envelope, upcasts its payload to the current version and decodes it. */
  readonly decode: (raw: unknown) => Result.Result<EventOf<D>, CatalogIssue>
  /** Validates a payload against the current schema and returns its JSON-safe encoded form. */
  readonly encodePayload: (type: string, payload: unknown) => Result.Result<unknown, CatalogIssue>
}

const decodeRawEnvelope = Schema.decodeUnknownResult(RawEnvelope)

/** Builds a catalogue from definitions; duplicate event types are a programming error. */
export const makeCatalog = <const Defs extends ReadonlyArray<EventDefinition>>(
  definitions: Defs,
): EventCatalog<Defs[number]> => {
  type D = Defs[number]
  const byType = new Map<string, CompiledDefinition<D>>()
  for (const definition of definitions) {
    if (byType.has(definition.type)) throw new TypeError(`event type ${definition.type} is defined twice`)
    byType.set(definition.type, {
      definition,
      decodePayload: Schema.decodeUnknownResult(definition.payload),
      encodePayload: Schema.encodeUnknownResult(definition.payload),
    })
  }

  const upcast = (definition: D, from: number, payload: unknown): Result.Result<unknown, CatalogIssue> => {
    let current = payload
    for (let v = from; v < definition.version; v++) {
      const step = definition.upcasters[v]
      if (step === undefined) {
        return Result.fail({
          _tag: "UpcastFailed",
          type: definition.type,
          fromVersion: v,
          message: "no upcaster",
        })
      }
      try {
        current = step(current)
      } catch (cause) {
        // Upcasters are pure functions over untrusted old payloads; a throw is a decode failure of that event.
        return Result.fail({
          _tag: "UpcastFailed",
          type: definition.type,
          fromVersion: v,
          message: describeThrown(cause),
        })
      }
    }
    return Result.succeed(current)
  }

  return {
    definitions,
    get: (type) => byType.get(type)?.definition,
    decode: (raw) => {
      // Nearly every stored envelope passes the plain checks; only the others pay for the schema.
      const plain = plainEnvelope(raw)
      const envelope = plain === undefined ? decodeRawEnvelope(raw) : Result.succeed(plain)
      if (Result.isFailure(envelope)) {
        return Result.fail({ _tag: "InvalidEnvelope", message: oneLine(envelope.failure.message) })
      }
      const e = envelope.success
      const compiled = byType.get(e.type)
      if (compiled === undefined) return Result.fail({ _tag: "UnknownEventType", type: e.type })
      const { definition } = compiled
      if (e.schemaVersion > definition.version) {
        return Result.fail({
          _tag: "UnsupportedVersion",
          type: e.type,
          version: e.schemaVersion,
          current: definition.version,
        })
      }
      const upcasted = upcast(definition, e.schemaVersion, e.payload)
      if (Result.isFailure(upcasted)) return Result.fail(upcasted.failure)
      const payload = compiled.decodePayload(upcasted.success)
      if (Result.isFailure(payload)) {
        return Result.fail({
          _tag: "InvalidPayload",
          type: e.type,
          version: definition.version,
          message: oneLine(payload.failure.message),
        })
      }
      return Result.succeed({
        ...e,
        schemaVersion: definition.version,
        payload: payload.success,
      } as EventOf<D>)
    },
    encodePayload: (type, payload) => {
      const compiled = byType.get(type)
      if (compiled === undefined) return Result.fail({ _tag: "UnknownEventType", type })
      const encoded = compiled.encodePayload(payload)
      if (Result.isFailure(encoded)) {
        return Result.fail({
          _tag: "InvalidPayload",
          type,
          version: compiled.definition.version,
          message: oneLine(encoded.failure.message),
        })
      }
      return Result.succeed(encoded.success)
    },
  }
}
