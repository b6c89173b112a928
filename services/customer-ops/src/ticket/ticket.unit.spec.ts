import { DeciderSpecification } from "@mesh/kernel/testing"
import { describe, expect, it } from "vitest"
import { type IncomingMessage, openRefundOf, type TicketEvent, ticketDecider } from "./ticket.ts"

const ticket = DeciderSpecification.for(ticketDecider)

const message = (overrides: Partial<IncomingMessage> = {}): IncomingMessage => ({
  tenantId: "shop",
  customerId: "c-17",
  customerName: "Ana",
  replyTo: "ana@example.com",
  threadId: "th-1",
  messageId: "m-1",
  channel: "email",
  subject: "Where is my order?",
  body: "Hi, where is order O-1042?",
  orderId: "O-1042",
  ...overrides,
})

const opened: TicketEvent = {
  type: "TicketOpened",
  payload: {
    tenantId: "shop",
    customerId: "c-17",
    channel: "email",
    subject: "Where is my order?",
    body: "Hi, where is order O-1042?",
    orderId: "O-1042",
    threadId: "th-1",
    messageId: "m-1",
    customerName: "Ana",
    replyTo: "ana@example.com",
  },
}
const triaged: TicketEvent = {
  type: "TicketTriaged",
  payload: {
    intent: "refund",
    sentiment: "negative",
    priority: "high",
    confidence: 0.91,
    decisionId: "triageTicket-e1",
    messageId: "m-1",
    escalationReasons: [],
    abstention: null,
  },
}
const drafted: TicketEvent = {
  type: "ReplyDrafted",
  payload: {
    draftId: "draft-1",
    body: "Hello Ana",
    decisionId: "draftReply-e1",
    messageId: "m-1",
    citedFactIds: ["order-O-1042"],
  },
}
const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" })
const refundRequested: TicketEvent = {
  type: "RefundRequested",
  payload: { orderId: "O-1042", amount: eur(5_990), reason: "damaged", actionId: "refund-1" },
}
const refundIssued: TicketEvent = {
  type: "RefundIssued",
  payload: { orderId: "O-1042", amount: eur(5_990), actionId: "refund-1", externalRef: "rf_1" },
}

describe("threading", () => {
  it("opens a ticket with the first message of a thread", () => {
    ticket
      .given([])
      .when({ _tag: "ReceiveMessage", ...message() })
      .thenEmits([opened])
  })

  it("joins a later message of the thread, counting the contact", () => {
    ticket
      .given([opened])
      .when({ _tag: "ReceiveMessage", ...message({ messageId: "m-2", body: "Any news?" }) })
      .thenEmits([
        {
          type: "TicketMessageReceived",
          payload: {
            messageId: "m-2",
            channel: "email",
            subject: "Where is my order?",
            body: "Any news?",
            orderId: "O-1042",
            contact: 2,
            reopened: false,
          },
        },
      ])
  })

  it("takes a redelivered message once", () => {
    ticket
      .given([opened])
      .when({ _tag: "ReceiveMessage", ...message() })
      .thenNothingHappens()
  })

  it("reopens a resolved ticket when the customer writes again", () => {
    ticket
      .given([opened, { type: "TicketResolved", payload: { resolution: "answered" } }])
      .when({ _tag: "ReceiveMessage", ...message({ messageId: "m-3" }) })
      .thenEmits([
        {
          type: "TicketMessageReceived",
          payload: {
            messageId: "m-3",
            channel: "email",
            subject: "Where is my order?",
            body: "Hi, where is order O-1042?",
            orderId: "O-1042",
            contact: 2,
            reopened: true,
          },
        },
      ])
  })
})

describe("decisions on a message, each recorded once", () => {
  it("records triage once per message", () => {
    const { _tag, ...command } = { _tag: "RecordTriage" as const, ...triaged.payload, messageId: "m-1" }
    ticket
      .given([opened])
      .when({ _tag, ...command })
      .thenEmits([triaged])
    ticket
      .given([opened, triaged])
      .when({ _tag, ...command })
      .thenNothingHappens()
  })

  it("records one draft per message", () => {
    const command = {
      _tag: "RecordDraft" as const,
      messageId: "m-1",
      draftId: "draft-1",
      body: "Hello Ana",
      decisionId: "draftReply-e1",
      citedFactIds: ["order-O-1042"],
    }
    ticket.given([opened, triaged]).when(command).thenEmits([drafted])
    ticket
      .given([opened, triaged, drafted])
      .when({ ...command, draftId: "draft-2" })
      .thenNothingHappens()
  })

  it("escalates with the reasons when the policy routes a draft to a human", () => {
    ticket
      .given([opened, triaged, drafted])
      .when({
        _tag: "RouteReply",
        draftId: "draft-1",
        disposition: "escalate",
        reasons: [
          { code: "negative-sentiment", detail: "the customer is unhappy" },
          { code: "repeat-contact", detail: "3rd contact" },
        ],
        policy: "customer-ops replies v1",
        actionId: "reply-1",
        queue: "support",
      })
      .thenEmits([
        {
          type: "ReplyRouted",
          payload: {
            draftId: "draft-1",
            disposition: "escalate",
            reasons: [
              { code: "negative-sentiment", detail: "the customer is unhappy" },
              { code: "repeat-contact", detail: "3rd contact" },
            ],
            policy: "customer-ops replies v1",
            actionId: "reply-1",
          },
        },
        {
          type: "TicketEscalated",
          payload: {
            reason: "the customer is unhappy; 3rd contact",
            queue: "support",
            reasons: ["negative-sentiment", "repeat-contact"],
            messageId: "m-1",
          },
        },
      ])
  })

  it("records a guardrail once per target", () => {
    const command = {
      _tag: "RecordGuardrail" as const,
      guardrail: "grounding" as const,
      target: { kind: "draft" as const, id: "draft-1" },
      findings: ["ungrounded-code"],
      reason: "the reply offers code SAVE50, which no record holds",
      action: "held-for-human" as const,
    }
    const { _tag, ...payload } = command
    ticket
      .given([opened])
      .when(command)
      .thenEmits([{ type: "GuardrailTripped", payload }])
    ticket
      .given([opened, { type: "GuardrailTripped", payload }])
      .when(command)
      .thenNothingHappens()
  })

  it("refuses a decision on a ticket that does not exist, as bad input", () => {
    ticket
      .given([])
      .when({ _tag: "ResolveTicket", resolution: "answered" })
      .thenThrows("ticket does not exist")
  })
})

describe("refunds and replies", () => {
  it("records a refund request once per action", () => {
    const command = {
      _tag: "RecordRefundRequest" as const,
      orderId: "O-1042",
      amount: eur(5_990),
      reason: "damaged",
      actionId: "refund-1",
    }
    ticket.given([opened, triaged]).when(command).thenEmits([refundRequested])
    ticket.given([opened, triaged, refundRequested]).when(command).thenNothingHappens()
  })

  it("refunds an order once: a second request for it waits behind the first, and follows a refusal", () => {
    const again = {
      _tag: "RecordRefundRequest" as const,
      orderId: "O-1042",
      amount: eur(5_990),
      reason: "asked again",
      actionId: "refund-2",
    }
    ticket.given([opened, refundRequested]).when(again).thenNothingHappens()
    ticket.given([opened, refundRequested, refundIssued]).when(again).thenNothingHappens()
    const refused: TicketEvent = {
      type: "RefundRejected",
      payload: { orderId: "O-1042", reason: "not eligible", actionId: "refund-1" },
    }
    ticket
      .given([opened, refundRequested])
      .when({ _tag: "RecordRefundRefused", actionId: "refund-1", reason: "not eligible" })
      .thenEmits([refused])
    const { _tag, ...payload } = again
    ticket
      .given([opened, refundRequested, refused])
      .when(again)
      .thenEmits([{ type: "RefundRequested", payload }])
  })

  it("records the refund paid with the amount requested, once", () => {
    ticket
      .given([opened, refundRequested])
      .when({ _tag: "RecordRefundIssued", actionId: "refund-1", externalRef: "rf_1" })
      .thenEmits([refundIssued])
    ticket
      .given([opened, refundRequested, refundIssued])
      .when({ _tag: "RecordRefundIssued", actionId: "refund-1", externalRef: "rf_1" })
      .thenNothingHappens()
  })

  it("does not resolve a ticket whose refund is still undecided when its reply goes out", () => {
    ticket
      .given([opened, drafted, refundRequested])
      .when({ _tag: "RecordReplySent", draftId: "draft-1", actionId: "reply-1", externalRef: "msg_1" })
      .thenEmits([
        { type: "ReplySent", payload: { draftId: "draft-1", actionId: "reply-1", externalRef: "msg_1" } },
      ])
  })

  it("resolves an answered ticket with nothing left to decide", () => {
    ticket
      .given([opened, drafted, refundRequested, refundIssued])
      .when({ _tag: "RecordReplySent", draftId: "draft-1", actionId: "reply-1", externalRef: "msg_1" })
      .thenEmits([
        { type: "ReplySent", payload: { draftId: "draft-1", actionId: "reply-1", externalRef: "msg_1" } },
        { type: "TicketResolved", payload: { resolution: "answered" } },
      ])
  })

  it("stays open while a later message waits, when the reply to an earlier one goes out", () => {
    const second: TicketEvent = {
      type: "TicketMessageReceived",
      payload: {
        messageId: "m-2",
        channel: "email",
        subject: "Where is my order?",
        body: "And can I change the colour?",
        orderId: "O-1042",
        contact: 2,
        reopened: false,
      },
    }
    const draftedSecond: TicketEvent = {
      type: "ReplyDrafted",
      payload: {
        draftId: "draft-2",
        body: "Hello again",
        decisionId: "draftReply-e2",
        messageId: "m-2",
        citedFactIds: [],
      },
    }
    const sentFirst: TicketEvent = {
      type: "ReplySent",
      payload: { draftId: "draft-1", actionId: "reply-1", externalRef: "msg_1" },
    }
    ticket
      .given([opened, drafted, second, draftedSecond])
      .when({ _tag: "RecordReplySent", draftId: "draft-1", actionId: "reply-1", externalRef: "msg_1" })
      .thenEmits([sentFirst])
    ticket
      .given([opened, drafted, second, draftedSecond, sentFirst])
      .when({ _tag: "RecordReplySent", draftId: "draft-2", actionId: "reply-2", externalRef: "msg_2" })
      .thenEmits([
        { type: "ReplySent", payload: { draftId: "draft-2", actionId: "reply-2", externalRef: "msg_2" } },
        { type: "TicketResolved", payload: { resolution: "answered" } },
      ])
    // A person's reply answers the message it names.
    ticket
      .given([
        opened,
        drafted,
        second,
        sentFirst,
        {
          type: "ReplyWrittenByPerson",
          payload: { draftId: "written-2", messageId: "m-2", body: "We can, yes.", author: "ana" },
        },
      ])
      .when({ _tag: "RecordReplySent", draftId: "written-2", actionId: "answer-2", externalRef: "msg_3" })
      .thenEmits([
        { type: "ReplySent", payload: { draftId: "written-2", actionId: "answer-2", externalRef: "msg_3" } },
        { type: "TicketResolved", payload: { resolution: "answered" } },
      ])
  })

  it("counts a reply recorded as sent before its draft as the answer to the message its id names", () => {
    // The gate may send an auto reply before the reaction that asked for it has written its steps.
    ticket
      .given([opened])
      .when({
        _tag: "RecordReplySent",
        draftId: "draft-tk-1-m1",
        actionId: "reply-tk-1-m1",
        externalRef: "msg_1",
      })
      .thenEmits([
        {
          type: "ReplySent",
          payload: { draftId: "draft-tk-1-m1", actionId: "reply-tk-1-m1", externalRef: "msg_1" },
        },
        { type: "TicketResolved", payload: { resolution: "answered" } },
      ])
  })

  it("takes a person's reply to a later message as the answer to the earlier ones too", () => {
    const second: TicketEvent = {
      type: "TicketMessageReceived",
      payload: {
        messageId: "m-2",
        channel: "email",
        subject: "Where is my order?",
        body: "Hello?",
        orderId: "O-1042",
        contact: 2,
        reopened: false,
      },
    }
    ticket
      .given([
        opened,
        second,
        {
          type: "ReplyWrittenByPerson",
          payload: { draftId: "answer-2", messageId: "m-2", body: "It ships today.", author: "ana" },
        },
      ])
      .when({ _tag: "RecordReplySent", draftId: "answer-2", actionId: "answer-2", externalRef: "msg_2" })
      .thenEmits([
        { type: "ReplySent", payload: { draftId: "answer-2", actionId: "answer-2", externalRef: "msg_2" } },
        { type: "TicketResolved", payload: { resolution: "answered" } },
      ])
  })

  it("does not count a message's own refund against it when the message is redelivered", () => {
    const state = [opened, refundRequested].reduce(
      (s, e) => ticketDecider.evolve(s, e),
      ticketDecider.initialState(),
    )
    if (state.status === "none") throw new Error("the ticket should be open")
    expect(openRefundOf(state, "O-1042")).toMatchObject({ actionId: "refund-1", status: "requested" })
    expect(openRefundOf(state, "O-1042", "refund-1")).toBeUndefined()
  })

  it("refuses to record a refund that was never requested", () => {
    ticket
      .given([opened])
      .when({ _tag: "RecordRefundIssued", actionId: "refund-9", externalRef: "rf_9" })
      .thenThrows("never requested")
  })
})
