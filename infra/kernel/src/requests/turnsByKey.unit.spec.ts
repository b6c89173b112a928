import { Deferred, Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { makeTurnsByKey } from "./turnsByKey.ts"

// The turns a receiver takes requests of one id in: each after the one before it ended.

describe("turns by key", () => {
  it("runs one key's effects one after another, and other keys' beside them", async () => {
    const inTurn = makeTurnsByKey()
    const log: Array<string> = []
    const step = (name: string, ms: number) =>
      Effect.sync(() => log.push(`${name} starts`)).pipe(
        Effect.andThen(Effect.sleep(`${ms} millis`)),
        Effect.andThen(Effect.sync(() => log.push(`${name} ends`))),
      )
    await Effect.runPromise(
      Effect.all([inTurn("a", step("a1", 40)), inTurn("a", step("a2", 10)), inTurn("b", step("b1", 10))], {
        concurrency: "unbounded",
      }),
    )
    expect(log.indexOf("a2 starts")).toBeGreaterThan(log.indexOf("a1 ends"))
    expect(log.indexOf("b1 starts")).toBeLessThan(log.indexOf("a1 ends"))
  })

  it("passes the turn on after a failure, and after an interruption only once the turn before ended", async () => {
    const inTurn = makeTurnsByKey()
    const log: Array<string> = []
    const firstMayEnd = await Effect.runPromise(Deferred.make<void>())
    const first = Effect.runFork(
      inTurn(
        "k",
        Effect.sync(() => log.push("first starts")).pipe(
          Effect.andThen(Deferred.await(firstMayEnd)),
          Effect.andThen(Effect.sync(() => log.push("first ends"))),
          Effect.andThen(Effect.fail("first failed")),
        ),
      ),
    )
    await Effect.runPromise(Effect.sleep("10 millis"))
    // Waits behind the first, and is interrupted while it waits.
    const second = Effect.runFork(
      inTurn(
        "k",
        Effect.sync(() => log.push("second runs")),
      ),
    )
    await Effect.runPromise(Effect.sleep("10 millis"))
    const third = Effect.runFork(
      inTurn(
        "k",
        Effect.sync(() => log.push("third runs")),
      ),
    )
    await Effect.runPromise(Effect.sleep("10 millis"))
    await Effect.runPromise(Fiber.interrupt(second))
    await Effect.runPromise(Effect.sleep("30 millis"))
    // The second gave up its turn, but the third still waits for the first.
    expect(log).toEqual(["first starts"])
    await Effect.runPromise(Deferred.succeed(firstMayEnd, undefined))
    await Effect.runPromise(Fiber.await(first))
    await Effect.runPromise(Fiber.join(third))
    expect(log).toEqual(["first starts", "first ends", "third runs"])
  })
})
