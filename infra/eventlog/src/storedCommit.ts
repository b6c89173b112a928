import {
  type CatalogIssue,
  decodeCommit,
  type EventCatalog,
  type EventDefinition,
  type EventOf,
  type RawEnvelope,
} from "@mesh/contracts"
import { Result } from "effect"

/**
 * A stored commit as one reader sees it: the events its catalogue knows, and the types of those
 * it does not (written by a newer build), in order.
 */
export interface StoredCommit<D extends EventDefinition> {
  readonly events: ReadonlyArray<EventOf<D>>
  /** One entry per event of a type this reader's catalogue lacks; empty for nearly every commit. */
  readonly unknownTypes: ReadonlyArray<string>
  /** The aggregate version of the commit's last event, known or not: where the aggregate stands after it. */
  readonly version: number
}

const noTypes: ReadonlyArray<string> = []
const textDecoder = new TextDecoder()

/**
 * Decodes a stored commit for a reader that may be older than its writer: an event whose type
 * the catalogue lacks is set aside by type instead of failing the commit, so that one new event
 * type rolled out before its readers stops none of them. Anything else that does not decode (a
 * malformed commit, a known type's bad payload, a schema version beyond its upcasters) is still an
 * issue. A commit of known types costs what `decodeCommit` costs; one holding an unknown type is
 * parsed a second time.
 */
export const decodeStoredCommit = <D extends EventDefinition>(
  catalog: EventCatalog<D>,
  bytes: Uint8Array,
): Result.Result<StoredCommit<D>, CatalogIssue> => {
  const decoded = decodeCommit(catalog, bytes)
  if (Result.isSuccess(decoded)) {
    const events = decoded.success
    return Result.succeed({
      events,
      unknownTypes: noTypes,
      version: events[events.length - 1]!.aggregateVersion,
    })
  }
  if (decoded.failure._tag !== "UnknownEventType") return Result.fail(decoded.failure)
  // decodeCommit met the unknown type inside a parsed, non-empty array: these bytes are such an array.
  const raws = JSON.parse(textDecoder.decode(bytes)) as ReadonlyArray<unknown>
  const events: Array<EventOf<D>> = []
  const unknownTypes: Array<string> = []
  let version = 0
  for (const raw of raws) {
    const event = catalog.decode(raw)
    if (Result.isSuccess(event)) {
      events.push(event.success)
      version = event.success.aggregateVersion
    } else if (event.failure._tag === "UnknownEventType") {
      unknownTypes.push(event.failure.type)
      // The catalogue validates the envelope before it looks its type up: this one is a valid envelope.
      version = (raw as RawEnvelope).aggregateVersion
    } else {
      return Result.fail(event.failure)
    }
  }
  return Result.succeed({ events, unknownTypes, version })
}

/**
 * Counts, by type, the events a reader skipped because its catalogue lacks their type: what an
 * agent's /status shows per reactor and per projection. Counts live in the process and start at
 * zero with it.
 */
export class SkippedEvents {
  readonly #counts = new Map<string, number>()

  /** Counts skipped events; true the first time a type is seen, so that the reader logs it once. */
  record(types: ReadonlyArray<string>): boolean {
    let first = false
    for (const type of types) {
      const n = this.#counts.get(type)
      if (n === undefined) first = true
      this.#counts.set(type, (n ?? 0) + 1)
    }
    return first
  }

  /** The counts so far, by type (`{}` when nothing was skipped). */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts)
  }
}

const commitText = new TextDecoder()

/**
 * Whether a stored commit may hold an event of one of `types`, told from its envelopes' `type`
 * fields alone, without decoding it through the catalogue's schemas (the costly part of a
 * delivery). False only for a well-formed array of envelopes whose types the catalogue knows, none
 * of them in `types`; anything else (malformed bytes, a type the catalogue lacks, which must be
 * counted as skipped) answers true, and the commit is decoded and handled as any other.
 */
export const commitMayHold = (
  catalog: EventCatalog<EventDefinition>,
  bytes: Uint8Array,
  types: ReadonlySet<string>,
): boolean => {
  let envelopes: unknown
  try {
    envelopes = JSON.parse(commitText.decode(bytes))
  } catch {
    return true
  }
  if (!Array.isArray(envelopes) || envelopes.length === 0) return true
  for (const envelope of envelopes) {
    const type = (envelope as { readonly type?: unknown } | null)?.type
    if (typeof type !== "string" || types.has(type) || catalog.get(type) === undefined) return true
  }
  return false
}
