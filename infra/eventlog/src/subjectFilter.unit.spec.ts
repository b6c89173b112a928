import { describe, expect, it } from "vitest"
import { filterTakes } from "./eventLog.ts"

describe("filterTakes", () => {
  it("takes a subject by NATS's rules: literal tokens, `*` for one token, a last `>` for one or more", () => {
    expect(filterTakes("ns.customer.ticket.t1", "ns.customer.ticket.t1")).toBe(true)
    expect(filterTakes("ns.customer.ticket.t1", "ns.customer.ticket.t2")).toBe(false)
    expect(filterTakes("ns.customer.ticket.*", "ns.customer.ticket.t1")).toBe(true)
    expect(filterTakes("ns.customer.*.t1", "ns.customer.order.t1")).toBe(true)
    expect(filterTakes("ns.customer.ticket.*", "ns.customer.order.t1")).toBe(false)
    // `*` is one token: neither none nor two.
    expect(filterTakes("ns.customer.*", "ns.customer.ticket.t1")).toBe(false)
    expect(filterTakes("ns.customer.ticket.*", "ns.customer.ticket")).toBe(false)
    // `>` is one or more tokens, and only last.
    expect(filterTakes("ns.customer.>", "ns.customer.ticket.t1")).toBe(true)
    expect(filterTakes("ns.customer.>", "ns.customer")).toBe(false)
    expect(filterTakes("ns.>.ticket", "ns.customer.ticket")).toBe(false)
    // Several filters (NATS 2.10): any of them.
    expect(filterTakes(["ns.customer.order.*", "ns.customer.ticket.*"], "ns.customer.ticket.t1")).toBe(true)
    expect(filterTakes(["ns.customer.order.*"], "ns.customer.ticket.t1")).toBe(false)
    expect(filterTakes([], "ns.customer.ticket.t1")).toBe(false)
  })
})
