import { Cause, Effect, Exit } from "effect"
import type { Kysely } from "kysely"
import { describe, expect, it } from "vitest"
import { awaitReadModelAt, unreadCause } from "./readModelAt.ts"

// A projection checkpoints only the events it reads: a reader awaiting it at a cause it does not
// read would wait for a later event it reads, or for ever. Such a reader is refused at once.

const cause = { stream: "NS_CUSTOMER", sequence: 42, subject: "ns.customer.ticket.t1" }
const projection = (
  streams: ReadonlyArray<{ domain: "customer" | "procurement"; filterSubject?: string }>,
) => ({
  name: "care",
  version: 3,
  streams,
})

describe("unreadCause", () => {
  it("accepts a projection that reads the cause's stream whole, or through a filter that takes its subject", () => {
    expect(unreadCause(projection([{ domain: "customer" }]), cause)).toBeUndefined()
    expect(
      unreadCause(projection([{ domain: "customer", filterSubject: "ns.customer.ticket.*" }]), cause),
    ).toBeUndefined()
    // Not told its streams, or not told the cause's subject: not judged.
    expect(unreadCause({ name: "care", version: 3 }, cause)).toBeUndefined()
    expect(unreadCause(projection([]), { stream: "NS_CUSTOMER", sequence: 42 })).toBeUndefined()
  })

  it("names a projection that does not read the cause's stream, or filters its subject out", () => {
    expect(unreadCause(projection([{ domain: "procurement" }]), cause)).toBe(
      "read model care does not read the customer stream, so it never applies NS_CUSTOMER#42 (ns.customer.ticket.t1)",
    )
    expect(
      unreadCause(projection([{ domain: "customer", filterSubject: "ns.customer.order.*" }]), cause),
    ).toBe(
      "read model care reads the customer stream through ns.customer.order.*, which leaves out NS_CUSTOMER#42 (ns.customer.ticket.t1): its checkpoint passes it only with a later event it reads",
    )
  })

  it("refuses such a reader at once, before it asks the database anything", async () => {
    // The check comes before any query: a database handle that would throw on use is never used.
    const untouched = new Proxy(
      {},
      {
        get: () => {
          throw new Error("the database was asked")
        },
      },
    ) as Kysely<unknown>
    const exit = await Effect.runPromiseExit(
      awaitReadModelAt({
        db: untouched,
        schema: "care",
        projection: projection([{ domain: "procurement" }]),
        cause,
      }),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) expect(Cause.pretty(exit.cause)).toContain("does not read the customer stream")
  })
})
