import { createHash } from "node:crypto"

/**
 * A UUIDv7-shaped id derived from a seed and an instant: the same inputs always give the same id,
 * so a redelivered cause yields the same command and event ids and deduplicates downstream.
 */
export const deterministicUuid = (seed: string, millis: number): string => {
  const bytes = createHash("sha256").update(seed).digest().subarray(0, 16)
  const ms = BigInt(Math.max(0, Math.floor(millis)))
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn)
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex")
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
