import { hash } from "node:crypto"

/**
 * A UUIDv7-shaped id derived from a seed and an instant: the same inputs always give the same id,
 * so a redelivered cause yields the same command and event ids and deduplicates downstream. The
 * ids are stored, so the derivation never changes (`ids.unit.spec.ts` pins it).
 */
export const deterministicUuid = (seed: string, millis: number): string => {
  // One-shot hashing and plain arithmetic: an action derives a score of these ids, and a Hash
  // object and BigInt shifts per id cost about half again as much.
  const bytes = hash("sha256", seed, "buffer")
  // The 48-bit big-endian timestamp of UUIDv7 (a safe integer: exact in doubles).
  let ms = Math.max(0, Math.floor(millis))
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex", 0, 16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The id of the `index`-th command a reactor issues for a causing event. */
export const reactionCommandId = (
  reactor: string,
  causingEventId: string,
  index: number,
  millis: number,
): string => deterministicUuid(`reaction:${reactor}:${causingEventId}:${index}`, millis)

/** The id of the `index`-th event a command produces. */
export const commandEventId = (commandId: string, index: number, millis: number): string =>
  deterministicUuid(`event:${commandId}:${index}`, millis)
