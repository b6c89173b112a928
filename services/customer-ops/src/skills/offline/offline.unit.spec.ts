import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { draftReplyOffline } from "./drafting.ts"
import { classifyIntent, classifySentiment, escalationInputs, triageTicketOffline } from "./triage.ts"

// The keyword triage scorers (triageTicket v1 and v2) and the template reply drafter.

describe("intent classifier", () => {
  it.each([
    ["I'd like my money back for the jacket, it doesn't fit.", "refund"],
    ["Where is my parcel? Tracking hasn't moved in a week.", "order_status"],
    ["Is the kettle compatible with 110V sockets?", "product_question"],
    ["The driver was rude and the box arrived smashed. Unacceptable.", "complaint"],
    ["How do I reset my password?", "other"],
    ["", "other"],
  ] as const)("%s -> %s", (text, intent) => {
    expect(classifyIntent(text).intent).toBe(intent)
  })

  it("reads negation: 'not damaged, just want status' is an order status question", () => {
    const text = "Nothing was damaged at all. I just want to know the status of my second parcel."
    expect(classifyIntent(text).intent).toBe("order_status")
  })

  it("reads negation: declining a refund leaves the refund cue out", () => {
    const text = "No need for a refund or anything, I'm just wondering where my parcel is."
    const scores = classifyIntent(text)
    expect(scores.intent).toBe("order_status")
    expect(scores.scores.refund).toBe(0)
  })

  it("gives a confidence in [0, 1] that grows with the margin", () => {
    const clear = classifyIntent("Refund please, I want my money back, reimburse me")
    const vague = classifyIntent("Refund or tracking?")
    expect(clear.confidence).toBeGreaterThan(vague.confidence)
    fc.assert(
      fc.property(fc.string(), (text) => {
        const { confidence } = classifyIntent(text)
        return confidence >= 0 && confidence <= 1
      }),
      { numRuns: 200 },
    )
  })
})

describe("sentiment", () => {
  it.each([
    ["This is unacceptable, I am really disappointed.", "negative"],
    ["Love it, the note made my day!", "positive"],
    ["Can you send me the invoice? Thanks.", "neutral"],
    ["Not bad overall, the zip feels a bit loose.", "neutral"],
    ["Not great, not impressed at all.", "negative"],
    ["THREE WEEKS and still nothing?!", "negative"],
  ] as const)("%s -> %s", (text, sentiment) => {
    expect(classifySentiment(text).sentiment).toBe(sentiment)
  })
})

describe("escalation", () => {
  const base = { subject: "Help", channel: "email" as const }
  it("flags safety, legal and fraud cues, respecting negation", () => {
    expect(escalationInputs({ ...base, body: "It sparked and caught fire" }).triggersInText).toContain(
      "safety",
    )
    expect(escalationInputs({ ...base, body: "My lawyer will call you" }).triggersInText).toContain("legal")
    expect(
      escalationInputs({ ...base, body: "Nothing burning or smoking, it is just slow" }).triggersInText,
    ).toEqual([])
    expect(
      escalationInputs({ ...base, body: "I'm not going to kick up a fuss or call my bank, just refund me" })
        .triggersInText,
    ).toEqual([])
  })

  it("escalates unhappy repeat contacts and high-value refunds, not calm first contacts", () => {
    const angry = { ...base, body: "Still nothing. This is unacceptable and I am furious." }
    expect(triageTicketOffline({ ...angry, previousContacts: 3 }).escalate).toBe(true)
    expect(triageTicketOffline({ ...angry, previousContacts: 0 }).escalate).toBe(false)
    const refund = { ...base, body: "Please refund the TV, it has dead pixels." }
    const expensive = triageTicketOffline({
      ...refund,
      orderValue: { amountMinor: 129_900, currency: "EUR" },
    })
    expect(expensive.escalate).toBe(true)
    expect(expensive.escalationReason).toContain("high-value")
    expect(
      triageTicketOffline({ ...refund, orderValue: { amountMinor: 4_900, currency: "EUR" } }).escalate,
    ).toBe(false)
  })

  it("makes safety incidents urgent", () => {
    const out = triageTicketOffline({ ...base, body: "The charger melted and caught fire overnight." })
    expect(out).toMatchObject({ escalate: true, priority: "urgent" })
  })
})

describe("reply drafting", () => {
  it("drafts a reply from the relevant facts only and cites them", () => {
    const out = draftReplyOffline({
      customerName: "Amira",
      subject: "Where is my order?",
      body: "When will order 51230 ship?",
      intent: "order_status",
      facts: [
        { id: "f1", kind: "shipment", text: "Order 51230 leaves the warehouse on 6 March with DPD." },
        { id: "f2", kind: "product", text: "The Glass Kettle holds 1.7 l." },
      ],
    })
    expect(out.citedFactIds).toEqual(["f1"])
    expect(out.body).toContain("6 March")
    expect(out.body).not.toContain("1.7 l")
    expect(out.body.startsWith("Hi Amira,")).toBe(true)
    expect(out.proposedActions).toEqual(["send-reply"])
  })

  it("answers a question about stock with the product's stock, however triage read it", () => {
    const stock = {
      id: "stock-KIT-003",
      kind: "stock",
      text: "The Green earthenware teapot is out of stock: our supplier is due to deliver new stock by 9 December 2026.",
    }
    for (const intent of ["product_question", "order_status", "other"] as const) {
      const out = draftReplyOffline({
        subject: "Restock",
        body: "When will the green earthenware teapot be back in stock?",
        intent,
        facts: [stock],
      })
      expect(out.citedFactIds, intent).toEqual(["stock-KIT-003"])
      expect(out.body, intent).toContain("9 December 2026")
    }
  })
})
