import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  compareHlc,
  compareStamp,
  compareVersionVectors,
  covers,
  type Hlc,
  mergeVersionVectors,
  receiveHlc,
  tickHlc,
  unseenBy,
  type VersionVector,
  writerId,
  zeroHlc,
} from "./clock.ts"

const runs = { numRuns: 10_000 } as const

// Small walls and counters, so that readings tie and wall clocks lag the clocks already seen.
const wallMs = fc.nat({ max: 30 })
const hlc: fc.Arbitrary<Hlc> = fc.record({ wall: wallMs, logical: fc.nat({ max: 4 }) })
const writer = fc.constantFrom(
  writerId("eu-edge", "procurement", "i0"),
  writerId("eu-edge", "procurement", "i1"),
  writerId("cloud", "customer-ops", "i0"),
)
const versionVector: fc.Arbitrary<VersionVector> = fc
  .dictionary(writer, fc.integer({ min: 1, max: 4 }), { maxKeys: 3, noNullPrototype: true })
  .map((vector) => ({ ...vector }))

describe("hybrid logical clock", () => {
  it("ticks to a reading after the last one and no earlier than the wall clock", () => {
    fc.assert(
      fc.property(hlc, wallMs, (last, nowMs) => {
        const next = tickHlc(last, nowMs)
        expect(compareHlc(next, last)).toBeGreaterThan(0)
        expect(next.wall).toBeGreaterThanOrEqual(nowMs)
      }),
      runs,
    )
  })

  it("receives to a reading after both its own and the remote one, and no earlier than the wall clock", () => {
    fc.assert(
      fc.property(hlc, hlc, wallMs, (last, remote, nowMs) => {
        const next = receiveHlc(last, remote, nowMs)
        expect(compareHlc(next, last)).toBeGreaterThan(0)
        expect(compareHlc(next, remote)).toBeGreaterThan(0)
        expect(next.wall).toBeGreaterThanOrEqual(nowMs)
        // It stays close to time: its wall is one of the three it was given.
        expect([last.wall, remote.wall, nowMs]).toContain(next.wall)
      }),
      runs,
    )
  })

  it("never goes backwards on a writer whose wall clock jumps back and forth", () => {
    const event = fc.oneof(
      fc.record({ _tag: fc.constant("Tick" as const), nowMs: wallMs }),
      fc.record({ _tag: fc.constant("Receive" as const), nowMs: wallMs, remote: hlc }),
    )
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), (events) => {
        let clock = zeroHlc
        for (const e of events) {
          const next = e._tag === "Tick" ? tickHlc(clock, e.nowMs) : receiveHlc(clock, e.remote, e.nowMs)
          expect(compareHlc(next, clock)).toBeGreaterThan(0)
          clock = next
        }
      }),
      runs,
    )
  })

  it("orders stamps totally: by clock, then by writer", () => {
    const stamp = fc.record({ hlc, writer })
    fc.assert(
      fc.property(stamp, stamp, stamp, (a, b, c) => {
        expect(Math.sign(compareStamp(a, b)) + Math.sign(compareStamp(b, a))).toBe(0)
        if (compareStamp(a, b) === 0) expect(a).toEqual(b)
        if (compareStamp(a, b) <= 0 && compareStamp(b, c) <= 0)
          expect(compareStamp(a, c)).toBeLessThanOrEqual(0)
        if (compareHlc(a.hlc, b.hlc) !== 0)
          expect(Math.sign(compareStamp(a, b))).toBe(Math.sign(compareHlc(a.hlc, b.hlc)))
      }),
      runs,
    )
  })
})

describe("version vectors", () => {
  const dotsOf = (vector: VersionVector) =>
    Object.entries(vector).flatMap(([w, n]) =>
      Array.from({ length: n }, (_, i) => ({ writer: w, counter: i + 1 })),
    )

  it("merge to the least vector covering both: commutative, associative, idempotent", () => {
    fc.assert(
      fc.property(versionVector, versionVector, versionVector, (a, b, c) => {
        const ab = mergeVersionVectors(a, b)
        expect(ab).toEqual(mergeVersionVectors(b, a))
        expect(mergeVersionVectors(ab, c)).toEqual(mergeVersionVectors(a, mergeVersionVectors(b, c)))
        expect(mergeVersionVectors(a, a)).toEqual(a)
        for (const dot of [...dotsOf(a), ...dotsOf(b)]) expect(covers(ab, dot)).toBe(true)
        for (const dot of dotsOf(ab)) expect(covers(a, dot) || covers(b, dot)).toBe(true)
      }),
      runs,
    )
  })

  it("compare as the dots they cover: before when one has seen only part of the other", () => {
    fc.assert(
      fc.property(versionVector, versionVector, (a, b) => {
        const aSeesB = dotsOf(b).every((dot) => covers(a, dot))
        const bSeesA = dotsOf(a).every((dot) => covers(b, dot))
        const expected = aSeesB ? (bSeesA ? "equal" : "after") : bSeesA ? "before" : "concurrent"
        expect(compareVersionVectors(a, b)).toBe(expected)
      }),
      runs,
    )
  })

  it("name, as ranges, exactly the dots one has that the other has not seen", () => {
    fc.assert(
      fc.property(versionVector, versionVector, (a, b) => {
        const listed = unseenBy(a, b).flatMap(({ writer: w, from, to }) =>
          Array.from({ length: to - from + 1 }, (_, i) => ({ writer: w, counter: from + i })),
        )
        expect(listed).toEqual(
          dotsOf(a)
            .filter((dot) => !covers(b, dot))
            .sort((x, y) => (x.writer < y.writer ? -1 : 1)),
        )
      }),
      runs,
    )
  })
})
