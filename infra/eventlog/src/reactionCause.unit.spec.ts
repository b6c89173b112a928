import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { CurrentReactionCause, historyAsOf, historyForReaction } from "./reactionCause.ts"

const at = (second: number, causationId: string | null = null, name = `e${second}`) => ({
  name,
  occurredAt: new Date(Date.UTC(2026, 11, 1, 10, 0, second)).toISOString(),
  causationId,
})
const instant = (second: number) => Date.UTC(2026, 11, 1, 10, 0, second)

describe("an aggregate's history as of a cause", () => {
  const history = [at(1), at(3), at(5, "cause"), at(7)]

  it("keeps what was written up to the instant, the instant included", () => {
    expect(historyAsOf(history, { occurredAt: instant(3), eventId: null }).map((e) => e.name)).toEqual([
      "e1",
      "e3",
    ])
    expect(historyAsOf(history, { occurredAt: instant(0), eventId: null })).toEqual([])
    expect(historyAsOf(history, { occurredAt: instant(9), eventId: null })).toBe(history)
  })

  it("reaches the last event written in answer to the same cause, and is a prefix: what lies between stays", () => {
    expect(historyAsOf(history, { occurredAt: instant(2), eventId: "cause" }).map((e) => e.name)).toEqual([
      "e1",
      "e3",
      "e5",
    ])
  })

  it("is the whole history live and outside a reaction, and as of when a replayed one first ran", async () => {
    const cause = {
      eventId: "cause",
      occurredAt: at(2).occurredAt,
      stream: "MESH_CONTENT",
      sequence: 4,
      readAsOf: at(3).occurredAt,
    }
    const names = (replaying: boolean | undefined) =>
      Effect.runPromise(
        historyForReaction(history).pipe(
          replaying === undefined
            ? (e) => e
            : Effect.provideService(CurrentReactionCause, { ...cause, replaying }),
        ),
      ).then((events) => events.map((e) => e.name))
    expect(await names(undefined)).toEqual(["e1", "e3", "e5", "e7"])
    expect(await names(false)).toEqual(["e1", "e3", "e5", "e7"])
    // Its own answers (caused by it) are not yet written when it reads.
    expect(await names(true)).toEqual(["e1", "e3"])
  })
})
