import { personalFieldsOfKind } from "@mesh/actions"
import { meshCatalog } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import type { HistoryCommit } from "./historyFile.ts"
import { redactHistory } from "./redaction.ts"

const catalog = {
  payloadOf: (type: string) => meshCatalog.get(type)?.payload,
  kindFields: personalFieldsOfKind,
}
const token = (text: string) => `<${text.length}>`

const actionCommit = (sequence: number, actionId: string, type: string, payload: Record<string, unknown>) =>
  ({
    domain: "actions",
    sequence,
    subject: `actions.customer-ops.${actionId}`,
    msgId: null,
    events: [
      { eventId: `e-${sequence}`, type, aggregateType: "customer-ops", aggregateId: actionId, payload },
    ],
  }) satisfies HistoryCommit

const payloadOf = (commit: HistoryCommit) =>
  (commit.events[0] as { payload: Record<string, unknown> }).payload

describe("redacting exported history", () => {
  it("redacts an action's parameters and answer as its system declares them, and nothing else of it", () => {
    const { commits, fields } = redactHistory(
      [
        actionCommit(1, "reply-1", "ActionRequested", {
          kind: "mailbox.send-message",
          parameters: { to: "ana@example.com", subject: "Re: vase", body: "Hi Ana", inReplyTo: "m-1" },
          compensation: { kind: "mailbox.retract-message", parameters: {} },
        }),
        actionCommit(2, "reply-1", "ActionSucceeded", {
          externalRef: "msg_1",
          result: { id: "msg_1", to: "ana@example.com", subject: "Re: vase", body: "Hi Ana", status: "sent" },
        }),
        actionCommit(3, "po-1", "ActionRequested", {
          kind: "supplier.place-order",
          parameters: { supplierId: "acme", sku: "VASE-1", quantity: 4 },
        }),
      ],
      catalog,
      token,
    )
    expect(payloadOf(commits[0]!).parameters).toEqual({
      to: "<15>",
      subject: "<8>",
      body: "<6>",
      inReplyTo: "m-1",
    })
    expect(payloadOf(commits[1]!).result).toEqual({
      id: "msg_1",
      to: "<15>",
      subject: "<8>",
      body: "<6>",
      status: "sent",
    })
    // A purchase order carries nothing personal: it stays as it was.
    expect(payloadOf(commits[2]!).parameters).toEqual({ supplierId: "acme", sku: "VASE-1", quantity: 4 })
    expect(fields).toEqual(["ActionRequested.parameters", "ActionSucceeded.result"])
  })

  it("redacts all the text of a kind no system here declares", () => {
    const { commits, fields } = redactHistory(
      [
        actionCommit(1, "x-1", "ActionRequested", {
          kind: "crm.update-contact",
          parameters: { name: "Ana Pérez", tags: ["vip"], visits: 3 },
        }),
      ],
      catalog,
      token,
    )
    expect(payloadOf(commits[0]!).parameters).toEqual({ name: "<9>", tags: ["<3>"], visits: 3 })
    expect(fields).toEqual(["ActionRequested.parameters (all text)"])
  })

  it("leaves a commit without personal data as it was", () => {
    const commit = actionCommit(1, "po-1", "ActionDenied", { reason: "quota", rule: "quota:actionsPerHour" })
    expect(redactHistory([commit], catalog, token).commits[0]).toEqual(commit)
  })
})
