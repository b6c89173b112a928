import { Result } from "effect"
import type { CatalogIssue, EventCatalog, EventDefinition, EventOf } from "./catalog.ts"
import type { RawEnvelope } from "./envelope.ts"

/**
 * One JetStream message is one commit: a JSON array of one or more envelopes of the same
 * aggregate. Putting a command's events in one message is what makes a multi-event commit
 * atomic on servers without batch publish (before 2.12).
 */
export const encodeCommit = (envelopes: ReadonlyArray<RawEnvelope>): Uint8Array =>
  textEncoder.encode(JSON.stringify(envelopes))

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true })

/** Decodes a commit's bytes into typed events; any malformed input yields an issue, never a throw. */
export const decodeCommit = <D extends EventDefinition>(
  catalog: EventCatalog<D>,
  bytes: Uint8Array,
): Result.Result<ReadonlyArray<EventOf<D>>, CatalogIssue> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(textDecoder.decode(bytes))
  } catch (cause) {
    return Result.fail({ _tag: "MalformedCommit", message: `not UTF-8 JSON (${(cause as Error).message})` })
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    return Result.fail({ _tag: "MalformedCommit", message: "expected a non-empty JSON array of envelopes" })
  }
  const events: Array<EventOf<D>> = []
  for (const raw of parsed) {
    const decoded = catalog.decode(raw)
    if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
    events.push(decoded.success)
  }
  return Result.succeed(events)
}
