import type { JetStreamManager } from "@nats-io/jetstream"
import { Cause, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { EventLogError } from "./errors.ts"
import { applyTopology, declareTopology, isServerOlderThan } from "./topology.ts"

// Before 2.10 a server re-checks a copied message's compare-and-set header against the stream it
// is copied into, so the registers stream's copy of the register bucket stops at the first event
// appended to it directly (seen on 2.9.10: the demo's log lost register history and its causation
// check failed). The topology refuses such a server before it creates anything.

/** A manager whose connection says it talks to `version`; any call into the server fails the test. */
const managerOf = (version: string) =>
  new Proxy(
    { nc: { info: { version } } },
    {
      get: (target, key) => {
        if (key === "nc") return target.nc
        throw new Error(`the server was asked for ${String(key)}`)
      },
    },
  ) as unknown as JetStreamManager

describe("the server a topology needs", () => {
  it("reads versions as the server reports them", () => {
    expect(isServerOlderThan("2.9.10", 2, 10)).toBe(true)
    expect(isServerOlderThan("2.9.25", 2, 10)).toBe(true)
    expect(isServerOlderThan("1.4.1", 2, 10)).toBe(true)
    expect(isServerOlderThan("2.10.0", 2, 10)).toBe(false)
    expect(isServerOlderThan("2.10.27", 2, 10)).toBe(false)
    expect(isServerOlderThan("2.11.3-beta.1", 2, 10)).toBe(false)
    expect(isServerOlderThan("v3.0.0", 2, 10)).toBe(false)
    expect(isServerOlderThan("unknown", 2, 10)).toBe(false)
  })

  it("refuses a 2.9 server for streams that source a bucket, naming the version and what to run instead", async () => {
    const exit = await Effect.runPromiseExit(
      applyTopology(managerOf("2.9.10"), declareTopology({ namespace: "old" })),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(error).toBeInstanceOf(EventLogError)
    const failure = error as EventLogError
    expect(failure.reason).toMatchObject({ _tag: "UnsupportedServer", version: "2.9.10" })
    expect(failure.message).toMatch(
      /^nats-server 2\.9\.10 is not supported: the registers stream copies the register bucket/,
    )
    expect(failure.message).toMatch(/Run nats-server 2\.10 or later/)
  })
})
