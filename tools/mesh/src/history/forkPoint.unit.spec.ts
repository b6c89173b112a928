import { meshCatalog } from "@mesh/contracts"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { cutAt, replaceAt } from "./forkPoint.ts"
import type { HistoryCommit } from "./historyFile.ts"

/** A UUIDv7-shaped id for the n-th event, as envelopes require. */
const id = (n: number) => `01a23eaa-0000-7000-8000-${String(n).padStart(12, "0")}`
const at = (second: number) => `2026-12-01T10:00:${String(second).padStart(2, "0")}.000Z`

const envelope = (eventId: string, type: string, aggregate: string, second: number, payload: unknown) => {
  const [aggregateType, aggregateId] = aggregate.split("/")
  return {
    eventId,
    type,
    schemaVersion: 1,
    aggregateType,
    aggregateId,
    aggregateVersion: 1,
    occurredAt: at(second),
    correlationId: `chain-${eventId}`,
    causationId: null,
    actor: { kind: "system", id: "intake" },
    payload,
  }
}
const commit = (
  domain: HistoryCommit["domain"],
  sequence: number,
  subject: string,
  events: ReadonlyArray<unknown>,
) =>
  ({
    domain,
    sequence,
    subject,
    msgId: (events[0] as { eventId: string }).eventId,
    events,
  }) satisfies HistoryCommit

const ticket = (body: string) => ({
  tenantId: "shop",
  customerId: "c-1",
  channel: "email",
  subject: "Watering can",
  body,
  orderId: null,
  threadId: "thread-1",
  messageId: "msg-1",
  customerName: "Lena",
  replyTo: "c-1@example.com",
})

// A customer stream and an actions stream interleaved in time; the fork is at the ticket (second 20).
const history: ReadonlyArray<HistoryCommit> = [
  commit("customer", 1, "customer.ticket.t0", [
    envelope("e1", "TicketOpened", "ticket/t0", 10, ticket("first")),
  ]),
  commit("actions", 1, "actions.customer-ops.a1", [
    envelope("a1", "ActionDenied", "customer-ops/a1", 15, {}),
  ]),
  commit("customer", 2, "customer.ticket.t1", [
    envelope(id(2), "TicketOpened", "ticket/t1", 20, ticket("when is it back?")),
  ]),
  commit("actions", 2, "actions.customer-ops.a2", [
    envelope("a2", "ActionDenied", "customer-ops/a2", 25, {}),
  ]),
  commit("registers", 1, "$KV.inventory-on-hand.shop_SKU-1.main", [
    envelope("r1", "RegisterChanged", "inventory-on-hand/x", 12, {}),
  ]),
  commit("customer", 3, "customer.ticket.t1", [envelope("e3", "TicketTriaged", "ticket/t1", 30, {})]),
]

const identity = {
  eventIdOf: (index: number) => id(100 + index),
  correlationId: "fork-chain",
  causationId: id(50),
  occurredAt: "2026-12-04T09:00:00.000Z",
}

describe("cutting a run at a fork point", () => {
  it("keeps the event's stream before it and the other streams' commits that happened before it, nothing after", () => {
    const point = Result.getOrThrow(cutAt(history, id(2)))
    expect(point.before.map((c) => `${c.domain}#${c.sequence}`)).toEqual([
      "customer#1",
      "actions#1",
      "registers#1",
    ])
    expect(point.at.sequence).toBe(2)
    expect(point.after).toBe(2)
  })

  it("names an event it cannot find, and refuses a register change as a fork point", () => {
    expect(Result.getOrUndefined(Result.flip(cutAt(history, "nope")))).toBe("no event nope in the history")
    expect(Result.getOrUndefined(Result.flip(cutAt(history, "r1")))).toContain(
      "is a register change (inventory-on-hand.shop_SKU-1.main); fork at the event that caused it",
    )
  })
})

describe("replacing the fork event", () => {
  const point = Result.getOrThrow(cutAt(history, id(2)))

  it("merges the new fields over the recorded payload, in the fork's own chain, with new ids", () => {
    const forked = Result.getOrThrow(replaceAt(point, { body: "I want a refund" }, meshCatalog, identity))
    const [event] = forked.commit.events as ReadonlyArray<Record<string, unknown>>
    expect(event).toMatchObject({
      eventId: id(100),
      type: "TicketOpened",
      aggregateId: "t1",
      correlationId: "fork-chain",
      causationId: id(50),
      occurredAt: identity.occurredAt,
      payload: { ...ticket("I want a refund") },
    })
    expect(forked.commit.msgId).toBe(id(99))
    expect(forked.commit.subject).toBe("customer.ticket.t1")
    // The body is personal data: the fork's request keeps only its digest.
    expect(forked.personalFieldsChanged).toEqual(["body"])
    expect(
      Result.getOrThrow(replaceAt(point, { orderId: "1001" }, meshCatalog, identity)).personalFieldsChanged,
    ).toEqual([])
  })

  it("refuses a field the event does not have, and a value its contract does not accept, naming them", () => {
    const unknown = Result.getOrUndefined(
      Result.flip(replaceAt(point, { bodyy: "x" }, meshCatalog, identity)),
    )
    expect(unknown).toMatch(/^TicketOpened has no field bodyy \(it has .*body.*\)$/)
    const wrong = Result.getOrUndefined(
      Result.flip(replaceAt(point, { channel: "pigeon" }, meshCatalog, identity)),
    )
    expect(wrong).toContain("the new TicketOpened does not fit its contract")
    expect(wrong).toContain("channel")
  })
})
