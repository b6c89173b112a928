import { describe, expect, it } from "vitest"
import { ConnectorError } from "./connector.ts"
import { reasonForStatus } from "./httpConnector.ts"

const errorBody = (type: string, message: string) => JSON.stringify({ error: { type, message } })

describe("reasonForStatus", () => {
  it("reads a reused key from 409", () => {
    expect(
      reasonForStatus(409, errorBody("idempotency_conflict", "used with other parameters")),
    ).toStrictEqual({
      _tag: "KeyConflict",
      message: "used with other parameters",
    })
  })

  it("reads other 4xx as refusals, with the API's error type as the code", () => {
    expect(reasonForStatus(402, errorBody("refund_declined", "closed card"))).toStrictEqual({
      _tag: "Rejected",
      code: "refund_declined",
      message: "closed card",
    })
    expect(reasonForStatus(404, "<html>Not Found</html>")).toStrictEqual({
      _tag: "Rejected",
      code: "http_404",
      message: "HTTP 404: <html>Not Found</html>",
    })
  })

  it("reads 5xx, 408, 425 and 429 as passing conditions", () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504]) {
      expect(reasonForStatus(status, "")._tag).toBe("Unavailable")
    }
  })

  it("reads a status outside 4xx and 5xx as an answer the API does not document", () => {
    expect(reasonForStatus(302, "")._tag).toBe("MalformedResponse")
  })
})

describe("ConnectorError", () => {
  const error = (reason: ConnectorError["reason"]) =>
    new ConnectorError({ system: "payment", kind: "payment.refund", key: "a-1", reason })

  it("is retryable for passing conditions only", () => {
    expect(error({ _tag: "Unavailable", message: "503" }).retryable).toBe(true)
    expect(error({ _tag: "Timeout", afterMs: 10 }).retryable).toBe(true)
    expect(error({ _tag: "MalformedResponse", message: "x" }).retryable).toBe(true)
    expect(error({ _tag: "Rejected", code: "c", message: "m" }).retryable).toBe(false)
    expect(error({ _tag: "KeyConflict", message: "m" }).retryable).toBe(false)
    expect(error({ _tag: "UnknownKind", message: "m" }).retryable).toBe(false)
  })

  it("names the system, kind, key and reason in its message", () => {
    expect(error({ _tag: "Timeout", afterMs: 250 }).message).toBe(
      "payment payment.refund (key a-1): Timeout: timed out after 250 ms",
    )
  })
})
