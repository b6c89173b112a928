import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { OrderPlaced, TicketOpened } from "./domains/customer.ts"
import { DecisionRecorded } from "./domains/decisions.ts"
import { RequestReceived } from "./domains/requests.ts"
import { meshCatalog } from "./index.ts"
import { personalFieldsOf, redactPersonal } from "./personal.ts"

const token = (text: string) => `redacted-${text.length}`
const paths = (schema: Schema.Top) => personalFieldsOf(schema).map((f) => `${f.path.join(".")}:${f.kind}`)

describe("personal data in the contracts", () => {
  it("is found where it is marked, through optional, nullable and nested fields", () => {
    expect(paths(TicketOpened.payload)).toEqual([
      "subject:text",
      "body:text",
      "customerName:text",
      "replyTo:text",
    ])
    expect(paths(OrderPlaced.payload)).toEqual(["email:text"])
    expect(paths(DecisionRecorded.payload)).toEqual([
      "input:content",
      "prompt:content",
      "rawOutput:content",
      "output:content",
      "attempts.[].rawOutput:content",
    ])
    expect(paths(RequestReceived.payload)).toEqual(["body:value"])
  })

  it("is redacted so that the event still decodes under its schema, and nothing else changes", () => {
    const payload = {
      tenantId: "shop",
      customerId: "c-1",
      channel: "email",
      subject: "Broken vase",
      body: "Hi, I am Ana Pérez, my vase arrived broken",
      orderId: null,
      customerName: "Ana",
    }
    const redacted = redactPersonal(payload, personalFieldsOf(TicketOpened.payload), token) as typeof payload
    expect(redacted).toEqual({
      ...payload,
      subject: "redacted-11",
      body: "redacted-42",
      customerName: "redacted-3",
    })
    expect(JSON.stringify(redacted)).not.toContain("Ana")
    expect(Result.isSuccess(Schema.decodeUnknownResult(TicketOpened.payload)(redacted))).toBe(true)
    // The input is not touched.
    expect(payload.body).toContain("Ana")
  })

  it("reduces decision content to its hash, and a request's body to null beside its digest", () => {
    const inline = { _tag: "Inline", sha256: "a".repeat(64), bytes: 3, text: "Ana" }
    const stored = { _tag: "Stored", sha256: "b".repeat(64), bytes: 9_000 }
    const redacted = redactPersonal(
      { input: inline, prompt: stored, rawOutput: null, output: inline, attempts: [{ rawOutput: inline }] },
      personalFieldsOf(DecisionRecorded.payload),
      token,
    )
    const hashOnly = { _tag: "HashOnly", sha256: "a".repeat(64), bytes: 3 }
    expect(redacted).toEqual({
      input: hashOnly,
      prompt: { _tag: "HashOnly", sha256: "b".repeat(64), bytes: 9_000 },
      rawOutput: null,
      output: hashOnly,
      attempts: [{ rawOutput: hashOnly }],
    })
    expect(
      redactPersonal(
        { body: { email: "ana@example.com" }, bodySha256: "c" },
        personalFieldsOf(RequestReceived.payload),
        token,
      ),
    ).toEqual({ body: null, bodySha256: "c" })
  })

  it("is marked on every field whose name says it holds what a customer wrote or how to reach them", () => {
    // A guard for new contracts: a field named like personal data must say how it is redacted.
    const named = /^(body|subject|email|replyTo|customerName|text|address|phone|questions?|answers?)$/
    // The shop's own words and the mesh's own names, not a customer's.
    const notPersonal = new Set([
      "KnowledgeArticleProposed.body",
      "KnowledgeDrafted.body",
      "KnowledgeApproved.body",
      "InvariantViolated.subject",
    ])
    const unmarked: Array<string> = []
    for (const definition of meshCatalog.definitions) {
      // A field is marked itself, or its elements are.
      const marked = new Set(personalFieldsOf(definition.payload).map((f) => f.path[0]))
      const ast = definition.payload.ast as { propertySignatures?: ReadonlyArray<{ name: PropertyKey }> }
      for (const property of ast.propertySignatures ?? []) {
        const name = String(property.name)
        const field = `${definition.type}.${name}`
        if (named.test(name) && !marked.has(name) && !notPersonal.has(field)) unmarked.push(field)
      }
    }
    expect(unmarked).toEqual([])
  })
})
