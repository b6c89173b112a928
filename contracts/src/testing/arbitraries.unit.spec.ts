import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Instant } from "../envelope.ts"
import { meshCatalog, meshEventDefinitions } from "../index.ts"
import {
  commitArbitrary,
  eventArbitrary,
  instantArbitrary,
  meshEventArbitrary,
  uuidV7Arbitrary,
  uuidV7At,
} from "./arbitraries.ts"
import { expectSameData } from "./sameData.ts"

const isUuidV7 = Schema.is(Schema.String.check(Schema.isUUID(7)))

describe("arbitraries", () => {
  it("generate events that the catalogue decodes unchanged, for every event type", () => {
    // #region readme:testing
    for (const definition of meshEventDefinitions) {
      fc.assert(
        fc.property(eventArbitrary(definition), (event) => {
          // A valid event of this type at its current version, with a UUIDv7 id, an ISO instant,
          // an actor and sometimes a trace context; its payload is derived from the schema.
          expectSameData(Result.getOrThrow(meshCatalog.decode(event)), event)
          expect(event.schemaVersion).toBe(definition.version)
        }),
        { numRuns: 20 },
      )
    }
    // #endregion
  })

  it("generate UUIDv7 event ids minted at the event's instant", () => {
    fc.assert(
      fc.property(meshEventArbitrary, (event) => {
        expect(isUuidV7(event.eventId)).toBe(true)
        const msFromId = Number.parseInt(event.eventId.replaceAll("-", "").slice(0, 12), 16)
        expect(new Date(msFromId).toISOString()).toBe(event.occurredAt)
      }),
    )
  })

  it("generate UUIDv7 ids and ISO instants the envelope accepts", () => {
    fc.assert(
      fc.property(uuidV7Arbitrary, instantArbitrary, (id, instant) => {
        expect(isUuidV7(id)).toBe(true)
        expect(Schema.is(Instant)(instant)).toBe(true)
      }),
    )
    expect(uuidV7At(0, new Uint8Array(10))).toBe("00000000-0000-7000-8000-000000000000")
  })

  it("generate commits of one aggregate with consecutive versions and shared metadata", () => {
    fc.assert(
      fc.property(commitArbitrary({ minEvents: 2, maxEvents: 5 }), (events) => {
        const [first, ...rest] = events
        if (first === undefined) return expect.unreachable("empty commit")
        expect(events.length).toBeGreaterThanOrEqual(2)
        expect(events.length).toBeLessThanOrEqual(5)
        rest.forEach((event, index) => {
          expect(event.aggregateType).toBe(first.aggregateType)
          expect(event.aggregateId).toBe(first.aggregateId)
          expect(event.aggregateVersion).toBe(first.aggregateVersion + index + 1)
          expect(event.correlationId).toBe(first.correlationId)
          expect(event.occurredAt >= first.occurredAt).toBe(true)
        })
      }),
    )
  })
})
