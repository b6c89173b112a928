import { type EventEnvelope, parametersHash } from "@mesh/contracts"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { customerOpsName } from "./config.ts"
import { MAX_INBOUND_BYTES } from "./intake/inbound.ts"
import { type CustomerOpsProcess, clerk, owner, startCustomerOps } from "./testing/customerOpsProcess.ts"

// The customer-ops agent in its own process, over real NATS and Postgres, with the payment and
// mailbox simulators behind its connectors: each path of a ticket, from the webhook to the
// customer's inbox or a person's queue, read back from the log, the read model and the ledgers.

const nats = useNatsServer()
let agent: CustomerOpsProcess

beforeAll(async () => {
  agent = await startCustomerOps(nats.url, { prefix: "custops" })
}, 150_000)

afterAll(async () => {
  await agent?.stop()
})

const send = (message: Record<string, unknown>) => agent.send(message)
const ticket = (ticketId: string) => agent.ticket(ticketId)
const everything = () => agent.everything()
const placeOrder: CustomerOpsProcess["placeOrder"] = (...args) => agent.placeOrder(...args)
const untilThe: CustomerOpsProcess["until"] = (...args) => agent.until(...args)
const ticketView = <A>(view: A | undefined): A => {
  expect(view).toBeDefined()
  return view as A
}

const ofTicket = (events: ReadonlyArray<EventEnvelope>, ticketId: string, type: string) =>
  events.filter((e) => e.aggregateId === ticketId && e.type === type)

const mailTo = (customerId: string) =>
  agent.simulators.mailbox.ledger().filter((entry) => entry.params.to === `${customerId}@example.com`)

describe("intake", () => {
  it("takes messages only from a tenant's gateway, and tickets are read only by the shop's people", async () => {
    const unsigned = await fetch(`${agent.url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messageId: "x-1",
        customerId: "c-9",
        channel: "email",
        subject: "Hi",
        body: "Hello",
      }),
    })
    expect(unsigned.status).toBe(401)
    const otherTenant = await send({
      messageId: "x-2",
      tenantId: "other-shop",
      customerId: "c-9",
      subject: "Hi",
      body: "Hello",
    })
    expect(otherTenant.status).toBe(403)
    expect(await otherTenant.json()).toMatchObject({ field: "tenantId" })
    for (const path of ["/tickets", "/tickets/tk-000000000000000000000000", "/customers/c-9"])
      expect((await fetch(`${agent.url}${path}`)).status, path).toBe(401)
  })

  it("refuses a bad body with 400 naming the field, and an oversized one with 413", async () => {
    const bad = await send({
      messageId: "bad-1",
      customerId: "c-9",
      replyTo: "c-9@example.com",
      subject: "Hi",
      body: "",
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ field: "body" })
    const channel = await send({
      messageId: "bad-2",
      customerId: "c-9",
      replyTo: "c-9@example.com",
      subject: "Hi",
      body: "x",
      channel: "fax",
    })
    expect(channel.status).toBe(400)
    expect(await channel.json()).toMatchObject({ field: "channel" })
    const huge = await send({
      messageId: "big-1",
      customerId: "c-9",
      replyTo: "c-9@example.com",
      subject: "Hi",
      body: "x".repeat(MAX_INBOUND_BYTES),
    })
    expect(huge.status).toBe(413)
    const listed = (await (await agent.read("/tickets?customer=c-9")).json()) as {
      tickets: ReadonlyArray<unknown>
    }
    expect(listed.tickets).toEqual([])
  })
})

describe("the paths of a ticket", () => {
  it("answers an order-status question on its own, from the customer's history, and traces the reply", async () => {
    await placeOrder("O-1001", "c-1", 4_990, {
      carrier: "DHL",
      trackingNumber: "JD0146000038",
      expectedDelivery: "2026-12-04",
    })
    const response = await send({
      messageId: "m-1001",
      customerId: "c-1",
      replyTo: "c-1@example.com",
      customerName: "Ana",
      subject: "Where is my order?",
      body: "Hello, could you tell me where my order O-1001 is? Thanks, Ana",
      orderId: "O-1001",
    })
    expect(response.status).toBe(202)
    const { ticketId } = (await response.json()) as { ticketId: string }
    const answered = await untilThe("the reply is sent", async () => {
      const view = await ticket(ticketId)
      return view?.replySent === true && view.status === "resolved" ? view : undefined
    })
    expect(answered).toMatchObject({ intent: "order_status", disposition: "auto-send", escalated: false })
    const [mail] = mailTo("c-1")
    expect(String(mail?.params.body)).toContain("JD0146000038")
    expect(String(mail?.params.body)).toContain("2026-12-04")

    // The reply traces to its decision, its inputs and retrieved records, the verdict and the send.
    const events = await everything()
    const sent = ofTicket(events, ticketId, "ReplySent")
    expect(sent).toHaveLength(1)
    const actionId = (sent[0]?.payload as { actionId: string } | undefined)?.actionId
    const requested = events.find((e) => e.type === "ActionRequested" && e.aggregateId === actionId)
    const request = requested?.payload as {
      cause: { decisionId: string }
      policy: { verdict: { mode: string } }
    }
    expect(request.policy.verdict.mode).toBe("auto")
    const decision = events.find(
      (e) =>
        e.type === "DecisionRecorded" &&
        (e.payload as { decisionId: string }).decisionId === request.cause.decisionId,
    )
    expect(decision?.payload).toMatchObject({ skill: "draftReply" })
    expect(JSON.stringify(decision?.payload)).toContain("shipment-O-1001")
    const routed = ofTicket(events, ticketId, "ReplyRouted")[0]?.payload as {
      disposition: string
      actionId: string
    }
    expect(routed).toMatchObject({ disposition: "auto-send", actionId })
  })

  it("holds a refund for approval, pays the exact amount once when approved, then replies", async () => {
    await placeOrder("O-2002", "c-2", 5_990)
    const response = await send({
      messageId: "m-2002",
      customerId: "c-2",
      replyTo: "c-2@example.com",
      subject: "Return and refund",
      body: "Hello, I would like to return the desk lamp from order O-2002 and get a refund of my money please.",
      orderId: "O-2002",
    })
    const { ticketId } = (await response.json()) as { ticketId: string }
    const waiting = await untilThe("the refund waits for a person", async () => {
      const queue = await fetch(`${agent.url}/approvals`, {
        headers: { authorization: `Bearer ${owner.token}` },
      })
      const entries = ((await queue.json()) as { queue?: ReadonlyArray<Record<string, unknown>> }).queue ?? []
      return entries.find((e) => String(e.actionId).startsWith(`refund-${ticketId}`))
    })
    expect(waiting).toMatchObject({ kind: "payment.refund", amount: { amountMinor: 5_990, currency: "EUR" } })
    expect(waiting.parametersHash).toBe(parametersHash(waiting.parameters as never))
    expect(agent.simulators.payment.ledger()).toHaveLength(0)
    expect(mailTo("c-2")).toHaveLength(0)

    const approve = () =>
      fetch(`${agent.url}/approvals/${customerOpsName}/${String(waiting.actionId)}/approve`, {
        method: "POST",
        headers: { authorization: `Bearer ${owner.token}`, "content-type": "application/json" },
        body: JSON.stringify({ parametersHash: waiting.parametersHash }),
      })
    // A clerk with an approver token is not who the shop's policy names for refunds: refused, and recorded.
    const byClerk = await fetch(
      `${agent.url}/approvals/${customerOpsName}/${String(waiting.actionId)}/approve`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${clerk.token}`, "content-type": "application/json" },
        body: JSON.stringify({ parametersHash: waiting.parametersHash }),
      },
    )
    expect(byClerk.status).toBe(409)
    expect(await byClerk.text()).toMatch(/not-a-named-approver|names other people/)
    expect((await approve()).status).toBeLessThan(300)
    await approve()
    // Once the refund is paid the held reply goes out, on its own unless its first routing escalated the
    // ticket (then a person approves the reply too: the refund's approval covered the refund, not its words).
    const replyWaits = await untilThe("the refund is paid and the reply sent or held", async () => {
      const view = await ticket(ticketId)
      if (view?.refund?.status !== "issued") return undefined
      if (view.replySent) return "sent"
      const held = (await agent.approvals()).find(
        (e) => e.kind === "mailbox.send-message" && String(e.actionId).includes(ticketId),
      )
      return held === undefined ? undefined : held
    })
    if (replyWaits !== "sent") {
      expect(ticketView(await ticket(ticketId)).escalated).toBe(true)
      const approvedReply = await fetch(
        `${agent.url}/approvals/${customerOpsName}/${String(replyWaits.actionId)}/approve`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${owner.token}`, "content-type": "application/json" },
          body: JSON.stringify({ parametersHash: replyWaits.parametersHash }),
        },
      )
      expect(approvedReply.status).toBeLessThan(300)
    }
    const done = await untilThe("the reply is sent", async () => {
      const view = await ticket(ticketId)
      return view?.replySent ? view : undefined
    })
    expect(done.refund).toEqual({ status: "issued", amount: { amountMinor: 5_990, currency: "EUR" } })
    const paid = agent.simulators.payment.ledger().filter((entry) => entry.key === waiting.actionId)
    expect(paid).toHaveLength(1)
    expect(paid[0]?.params).toMatchObject({ orderId: "O-2002", amountMinor: 5_990, currency: "EUR" })
    expect(String(mailTo("c-2")[0]?.params.body)).toContain(
      "refund of 59.90 EUR for order O-2002 has been issued",
    )

    // The refund traces to its decision and inputs, the records it was drafted from, the verdict and the approval.
    const events = await everything()
    const requested = events.find((e) => e.type === "ActionRequested" && e.aggregateId === waiting.actionId)
    const request = requested?.payload as {
      cause: { decisionId: string; eventId: string }
      policy: { verdict: { mode: string; rule: string }; inputs: { amount: unknown } }
    }
    expect(request.policy.verdict).toMatchObject({ mode: "require-approval" })
    expect(request.policy.inputs.amount).toEqual({ amountMinor: 5_990, currency: "EUR" })
    const decision = events.find(
      (e) =>
        e.type === "DecisionRecorded" &&
        (e.payload as { decisionId: string }).decisionId === request.cause.decisionId,
    )
    expect(decision?.payload).toMatchObject({ skill: "draftReply" })
    expect(JSON.stringify(decision?.payload)).toContain("order-O-2002")
    const recorded = events.find((e) => e.eventId === request.cause.eventId)
    expect(recorded?.type).toBe("RefundRequested")
    expect(events.find((e) => e.eventId === recorded?.causationId)?.type).toBe("TicketOpened")
    const approval = events.find((e) => e.type === "ActionApproved" && e.aggregateId === waiting.actionId)
    expect(approval?.payload).toMatchObject({ approver: owner.name })

    // The customer asks again, in the same thread and in a new one: the order is refunded once, and a
    // person answers each, told which refund it is.
    const again = await send({
      messageId: "m-2002-2",
      customerId: "c-2",
      replyTo: "c-2@example.com",
      subject: "Re: Return and refund",
      body: "Hello, I want a refund of my money for the desk lamp from order O-2002, please.",
      orderId: "O-2002",
    })
    expect(((await again.json()) as { ticketId: string }).ticketId).toBe(ticketId)
    const elsewhere = await send({
      messageId: "m-2002-3",
      customerId: "c-2",
      replyTo: "c-2@example.com",
      threadId: "th-2002-other",
      subject: "Refund",
      body: "Hello, I returned the desk lamp from order O-2002. I would like a refund of my money please.",
      orderId: "O-2002",
    })
    const otherTicket = ((await elsewhere.json()) as { ticketId: string }).ticketId
    expect(otherTicket).not.toBe(ticketId)
    for (const [id, draftId, named] of [
      [ticketId, `draft-${ticketId}-m2`, "was already paid; an order is refunded once"],
      [otherTicket, `draft-${otherTicket}-m1`, `was already paid (ticket ${ticketId})`],
    ] as const) {
      const routed = await untilThe(`the refund asked again on ${id} goes to a person`, async () =>
        (await everything()).find(
          (e) => e.type === "ReplyRouted" && (e.payload as { draftId: string }).draftId === draftId,
        ),
      )
      const payload = routed.payload as {
        disposition: string
        reasons: ReadonlyArray<{ code: string; detail: string }>
      }
      expect(payload.disposition).toBe("escalate")
      const reason = payload.reasons.find((r) => r.code === "refund-already-requested")
      expect(reason?.detail).toContain(named)
    }
    const refundsOfOrder = (await everything()).filter(
      (e) => e.type === "RefundRequested" && (e.payload as { orderId: string }).orderId === "O-2002",
    )
    expect(refundsOfOrder).toHaveLength(1)
    expect(
      agent.simulators.payment.ledger().filter((entry) => entry.params.orderId === "O-2002"),
    ).toHaveLength(1)
  })

  it("keeps a 50-message thread within the prompt budget, still using the order its first message named", async () => {
    await placeOrder("O-7007", "c-10", 3_900, {
      carrier: "GLS",
      trackingNumber: "GL77070000123",
      expectedDelivery: "2026-12-06",
    })
    // A later order of the same customer: the thread's order is the one its first message named, not the latest.
    await placeOrder("O-7008", "c-10", 1_200, undefined, "2026-11-30T10:00:00.000Z")
    const thread = {
      customerId: "c-10",
      replyTo: "c-10@example.com",
      threadId: "th-7007",
      subject: "My lamp",
    }
    await send({
      ...thread,
      messageId: "m-7007-1",
      body: "Hello, I ordered a lamp, order O-7007. When will it come?",
    })
    for (let i = 2; i <= 50; i++)
      await send({
        ...thread,
        messageId: `m-7007-${i}`,
        body: `Message ${i}: any news about the parcel? I am still waiting at home.`,
      })
    const ticketId = (
      (await (
        await send({
          ...thread,
          messageId: "m-7007-1",
          body: "Hello, I ordered a lamp, order O-7007. When will it come?",
        })
      ).json()) as { ticketId: string }
    ).ticketId
    const last = await untilThe(
      "the 50th message is drafted",
      async () => {
        const events = await everything()
        const drafted = events.find(
          (e) =>
            e.aggregateId === ticketId &&
            e.type === "ReplyDrafted" &&
            (e.payload as { messageId?: string }).messageId === "m-7007-50",
        )
        return drafted === undefined ? undefined : { events, drafted }
      },
      120_000,
    )
    const draft = last.drafted.payload as {
      body: string
      decisionId: string
      citedFactIds: ReadonlyArray<string>
    }
    // The order came from the first message only; the fiftieth still answers from it.
    expect(draft.citedFactIds).toContain("shipment-O-7007")
    expect(draft.body).toContain("GL77070000123")
    const decision = last.events.find(
      (e) =>
        e.type === "DecisionRecorded" &&
        (e.payload as { decisionId: string }).decisionId === draft.decisionId,
    )
    const promptTokens = (decision?.payload as { promptTokens: number } | undefined)?.promptTokens
    expect(promptTokens).toBeLessThanOrEqual(2_000)
  }, 180_000)

  it("escalates an angry repeat customer, with the reasons on the ticket and in the queue", async () => {
    await placeOrder("O-3003", "c-3", 2_500)
    const first = await send({
      messageId: "m-3003-1",
      customerId: "c-3",
      replyTo: "c-3@example.com",
      threadId: "th-3003",
      subject: "Order O-3003",
      body: "Hi, where is my order O-3003?",
      orderId: "O-3003",
    })
    const { ticketId } = (await first.json()) as { ticketId: string }
    await untilThe("the first message is answered", async () =>
      (await ticket(ticketId))?.draftedReply ? true : undefined,
    )
    const second = await send({
      messageId: "m-3003-2",
      customerId: "c-3",
      replyTo: "c-3@example.com",
      threadId: "th-3003",
      subject: "Re: Order O-3003",
      body: "This is the third time I write to you. Still no parcel, no answer. Terrible, I am furious!",
      orderId: "O-3003",
    })
    expect(((await second.json()) as { ticketId: string }).ticketId).toBe(ticketId)
    const escalated = await untilThe("the ticket is escalated", async () => {
      const view = await ticket(ticketId)
      return view?.escalated ? view : undefined
    })
    expect(escalated.contacts).toBe(2)
    expect(escalated.sentiment).toBe("negative")
    expect(escalated.escalationCodes).toEqual(expect.arrayContaining(["sentiment"]))
    expect(escalated.awaiting).toBe("human")
    expect(escalated.escalationReason).toMatch(/sentiment is negative/)
    const queue = await fetch(`${agent.url}/approvals`, {
      headers: { authorization: `Bearer ${owner.token}` },
    })
    const entries = ((await queue.json()) as { queue: ReadonlyArray<Record<string, unknown>> }).queue
    const held = entries.find((e) => e.actionId === escalated.replyActionId)
    expect(held).toMatchObject({ kind: "mailbox.send-message" })
    expect(String(held?.reason)).toMatch(/sentiment is negative/)
  })

  it("sends a message triage cannot read with confidence to a person", async () => {
    const response = await send({
      messageId: "m-4004",
      customerId: "c-4",
      replyTo: "c-4@example.com",
      subject: "Kysymys",
      body: "Hyvää päivää, haluaisin tietää milloin tilaukseni saapuu ja voiko sen noutaa myymälästä.",
    })
    const { ticketId } = (await response.json()) as { ticketId: string }
    const escalated = await untilThe("the ticket goes to a person", async () => {
      const view = await ticket(ticketId)
      return view?.escalated ? view : undefined
    })
    expect(escalated.escalationCodes).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(triage-declined|low-confidence)$/)]),
    )
    expect(mailTo("c-4")).toHaveLength(0)
  })

  it("makes one ticket, one decision and one reply of a message delivered twice", async () => {
    await placeOrder("O-5005", "c-5", 1_990, {
      carrier: "UPS",
      trackingNumber: "1Z999AA10123456784",
      expectedDelivery: "2026-12-05",
    })
    const message = {
      messageId: "m-5005",
      customerId: "c-5",
      replyTo: "c-5@example.com",
      subject: "Tracking",
      body: "Hi, what is the tracking number for order O-5005?",
      orderId: "O-5005",
    }
    const [a, b] = await Promise.all([send(message), send(message)])
    const bodies = (await Promise.all([a.json(), b.json()])) as ReadonlyArray<{
      ticketId: string
      duplicate: boolean
    }>
    expect(bodies[0]?.ticketId).toBe(bodies[1]?.ticketId)
    const ticketId = bodies[0]?.ticketId ?? ""
    await untilThe("the reply is sent", async () => ((await ticket(ticketId))?.replySent ? true : undefined))
    const again = (await (await send(message)).json()) as { duplicate: boolean }
    expect(again.duplicate).toBe(true)
    const events = await everything()
    expect(ofTicket(events, ticketId, "TicketOpened")).toHaveLength(1)
    expect(ofTicket(events, ticketId, "TicketMessageReceived")).toHaveLength(0)
    expect(ofTicket(events, ticketId, "TicketTriaged")).toHaveLength(1)
    const decisions = events.filter(
      (e) =>
        e.type === "DecisionRecorded" &&
        String((e.payload as { decisionId: string }).decisionId).endsWith(
          ofTicket(events, ticketId, "TicketOpened")[0]?.eventId ?? "?",
        ),
    )
    expect(decisions.map((d) => (d.payload as { skill: string }).skill).sort()).toEqual([
      "draftReply",
      "triageTicket",
    ])
    expect(mailTo("c-5")).toHaveLength(1)
  })

  it("turns a person's answer into a knowledge draft that, once approved, answers the next similar ticket", async () => {
    const ask = async (customerId: string, body: string) => {
      const response = await send({
        messageId: `m-${customerId}`,
        customerId,
        replyTo: `${customerId}@example.com`,
        channel: "chat",
        subject: "Desk lamp",
        body,
      })
      return ((await response.json()) as { ticketId: string }).ticketId
    }
    const asPerson = { authorization: `Bearer ${owner.token}`, "content-type": "application/json" }

    // Nothing on record answers it: a person does, and the agent sends their reply.
    const first = await ask("c-6", "Hello, which bulbs does the desk lamp take? Can I use an LED bulb?")
    const escalated = await untilThe("the question goes to a person", async () => {
      const view = await ticket(first)
      return view?.escalated ? view : undefined
    })
    expect(escalated.escalationCodes).toContain("no-facts")
    const answer = "The desk lamp takes E27 bulbs up to 60 W, and LED bulbs with an E27 base work well in it."
    const written = await fetch(`${agent.url}/tickets/${first}/answer`, {
      method: "POST",
      headers: asPerson,
      body: JSON.stringify({ body: answer }),
    })
    expect(written.status).toBe(202)
    // The same answer again is the same request, taken once; a different one for the same message is
    // refused, as is a message the ticket does not have.
    const again = (body: Record<string, unknown>) =>
      fetch(`${agent.url}/tickets/${first}/answer`, {
        method: "POST",
        headers: asPerson,
        body: JSON.stringify(body),
      })
    expect((await again({ body: answer })).status).toBe(200)
    const another = await again({ body: "Any bulb will do." })
    expect(another.status).toBe(409)
    expect(await another.text()).toMatch(/already has a person's reply/)
    const unknown = await again({ body: answer, messageId: "m-nope" })
    expect(unknown.status).toBe(400)
    expect(await unknown.text()).toMatch(/messageId/)
    await untilThe("the person's reply is sent", async () =>
      (await ticket(first))?.status === "resolved" ? true : undefined,
    )
    expect(String(mailTo("c-6")[0]?.params.body)).toBe(answer)

    // The answer becomes a draft article, waiting for a person's approval of its exact text.
    const publish = await untilThe("the knowledge draft waits for approval", async () =>
      (await agent.approvals()).find((e) => e.kind === "knowledge.publish"),
    )
    expect(publish.parameters).toMatchObject({ body: answer, version: 1 })

    // A draft is never cited: the next similar question still goes to a person.
    const second = await ask("c-7", "Hi, what kind of bulb fits the desk lamp?")
    const unanswered = await untilThe("the second question goes to a person", async () => {
      const view = await ticket(second)
      return view?.escalated ? view : undefined
    })
    expect(unanswered.draftedReply).not.toContain("E27")
    expect(mailTo("c-7")).toHaveLength(0)

    // Approved, it answers the next one on its own.
    const approved = await fetch(
      `${agent.url}/approvals/${customerOpsName}/${String(publish.actionId)}/approve`,
      {
        method: "POST",
        headers: asPerson,
        body: JSON.stringify({ parametersHash: publish.parametersHash }),
      },
    )
    expect(approved.status).toBeLessThan(300)
    await untilThe("the article is approved", async () =>
      (await everything()).some((e) => e.type === "KnowledgeApproved") ? true : undefined,
    )
    // Long-term memory follows the log: its reactor has taken the approval once nothing is pending for it.
    await untilThe("long-term memory has the article", async () => {
      const status = (await (await fetch(`${agent.url}/status`)).json()) as {
        reactors: ReadonlyArray<{ name: string; pending: number | null; unacknowledged: number | null }>
      }
      const memory = status.reactors.find((r) => r.name === "customer-ops-remember-knowledge")
      return memory?.pending === 0 && memory.unacknowledged === 0 ? true : undefined
    })
    const third = await ask("c-8", "Which bulb type does the desk lamp use?")
    const answered = await untilThe("the third question is answered on its own", async () => {
      const view = await ticket(third)
      return view?.replySent ? view : view?.escalated ? view : undefined
    })
    expect(answered).toMatchObject({ intent: "product_question", disposition: "auto-send", replySent: true })
    expect(String(mailTo("c-8")[0]?.params.body)).toContain("E27")
    const decision = (await everything()).find(
      (e) =>
        e.type === "DecisionRecorded" &&
        (e.payload as { skill: string }).skill === "draftReply" &&
        JSON.stringify(e.payload).includes("kb_article"),
    )
    expect(decision, "the reply's decision records the article it retrieved").toBeDefined()

    // Retired, it goes stale in long-term memory and is never recalled again.
    const articleId = String((publish.parameters as { articleId: string }).articleId)
    const retired = await fetch(`${agent.url}/knowledge/${articleId}/retire`, {
      method: "POST",
      headers: asPerson,
      body: JSON.stringify({ reason: "the lamp now ships with a GU10 fitting" }),
    })
    expect(retired.status).toBe(202)
    await untilThe("long-term memory has retired the article", async () => {
      const all = await everything()
      const status = (await (await fetch(`${agent.url}/status`)).json()) as {
        reactors: ReadonlyArray<{ name: string; pending: number | null; unacknowledged: number | null }>
      }
      const memory = status.reactors.find((r) => r.name === "customer-ops-remember-knowledge")
      return all.some((e) => e.type === "KnowledgeRetired") &&
        memory?.pending === 0 &&
        memory.unacknowledged === 0
        ? true
        : undefined
    })
    const fourth = await ask("c-11", "Which bulb type does the desk lamp use, please?")
    const afterRetirement = await untilThe("the fourth question goes to a person", async () => {
      const view = await ticket(fourth)
      return view?.escalated || view?.replySent ? view : undefined
    })
    expect(afterRetirement.escalationCodes).toContain("no-facts")
    expect(mailTo("c-11")).toHaveLength(0)
  })
})
