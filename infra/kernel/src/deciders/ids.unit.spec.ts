import { createHash } from "node:crypto"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { commandEventId, deterministicUuid } from "./ids.ts"

// Derived ids are stored in the log and deduplicate redeliveries across upgrades: a build that
// derived another id from the same seed and instant would append a redelivered command's events
// again. These are ids the first derivation gave; the property holds the current one to it.

/** The first derivation, as it shipped: a Hash object and BigInt shifts. */
const firstDerivation = (seed: string, millis: number): string => {
  const bytes = createHash("sha256").update(seed).digest().subarray(0, 16)
  const ms = BigInt(Math.max(0, Math.floor(millis)))
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn)
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

describe("deterministic ids", () => {
  it.each([
    ["event:cmd-1:0", 1764800000000, "019ae646-f000-7cb7-ab5d-f440267714d2"],
    [
      "reaction:triage:01a23fc5-c7ef-71bc-bfc9-b24989e38899:2",
      1764835055123.7,
      "019ae85d-d613-7722-8ccc-9ce5731c14ce",
    ],
    ["", 0, "00000000-0000-7c14-9afb-f4c8996fb924"],
    ["ünïcødé ✓", 281474976710655, "ffffffff-ffff-71f4-86b2-13eef2a38cf5"],
    ["x", -5, "00000000-0000-7044-8162-7ca9fbac32f5"],
  ])("derives from %j at %d the id it always did", (seed, millis, id) => {
    expect(deterministicUuid(seed, millis)).toBe(id)
  })

  it("agrees with the first derivation for any seed and any instant of UUIDv7's 48 bits", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 80 }),
        fc.integer({ min: -1, max: 2 ** 48 - 1 }),
        (seed, millis) => {
          expect(deterministicUuid(seed, millis)).toBe(firstDerivation(seed, millis))
        },
      ),
      { numRuns: 1_000 },
    )
    expect(commandEventId("c", 3, 1_000)).toBe(firstDerivation("event:c:3", 1_000))
  })
})
