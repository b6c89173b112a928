import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { Effect, Exit, Fiber } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { ConnectorError } from "./connector.ts"
import { makeHttpConnector } from "./httpConnector.ts"
import { paymentApi } from "./systems.ts"

// A server answering whatever a test scripts, for answers the simulators never give (malformed
// bodies, proxies' HTML, rate limits), recording what the connector sent.
interface Scripted {
  readonly status: number
  readonly body: string
  readonly delayMs?: number
}
interface Received {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}
let script: Scripted = { status: 200, body: "{}" }
const received: Array<Received> = []
let closedEarly = 0
const scripted = createServer((req, res) => {
  const chunks: Array<Buffer> = []
  req.on("data", (chunk: Buffer) => chunks.push(chunk))
  req.on("end", () => {
    received.push({
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    })
    const answer = script
    res.on("close", () => {
      if (!res.writableFinished) closedEarly++
    })
    setTimeout(() => {
      if (res.destroyed) return
      res.writeHead(answer.status, { "content-type": "application/json" })
      res.end(answer.body)
    }, answer.delayMs ?? 0)
  })
})
let scriptedUrl: string
let sims: Simulators

beforeAll(async () => {
  await new Promise<void>((resolve) => scripted.listen(0, "127.0.0.1", resolve))
  scriptedUrl = `http://127.0.0.1:${(scripted.address() as AddressInfo).port}`
  sims = await startSimulators()
})
afterAll(async () => {
  scripted.closeAllConnections()
  await new Promise((resolve) => scripted.close(resolve))
  await sims?.stop()
})
beforeEach(() => {
  script = { status: 200, body: "{}" }
  received.length = 0
  closedEarly = 0
})

const refund = { orderId: "o-1", amountMinor: 1250, currency: "EUR", reason: "damaged" }
const refundAnswer = { id: "re_1", ...refund, status: "succeeded" }
const call = (parameters: Record<string, string | number> = refund) => ({
  key: "act-1",
  kind: "payment.refund",
  parameters,
})
const connector = (baseUrl = scriptedUrl, timeoutMs = 1_000) =>
  makeHttpConnector(paymentApi, { baseUrl, timeoutMs })

const failureOf = async <A>(effect: Effect.Effect<A, ConnectorError>): Promise<ConnectorError> => {
  const exit = await Effect.runPromise(Effect.exit(effect))
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (failure === undefined || failure._tag !== "Fail")
    throw new Error(`expected a typed failure: ${exit.cause}`)
  return failure.error
}

describe("the HTTP connector on the wire", () => {
  it("POSTs the documented parameters only, as JSON, with the Idempotency-Key", async () => {
    script = { status: 200, body: JSON.stringify({ ...refundAnswer, extra: "ignored" }) }
    const receipt = await Effect.runPromise(connector().execute(call({ ...refund, customerTier: "gold" })))
    expect(receipt).toStrictEqual({ externalRef: "re_1", result: refundAnswer })
    const [request] = received
    expect(request?.method).toBe("POST")
    expect(request?.path).toBe("/v1/refunds")
    expect(request?.headers["idempotency-key"]).toBe("act-1")
    expect(request?.headers["content-type"]).toBe("application/json")
    expect(JSON.parse(request?.body ?? "")).toStrictEqual(refund)
  })

  it("refuses parameters the API does not take without calling it", async () => {
    const error = await failureOf(connector().execute(call({ orderId: "o-1", amountMinor: "12.50" })))
    expect(error.reason).toMatchObject({ _tag: "Rejected", code: "invalid_parameters" })
    expect(received).toHaveLength(0)
  })

  it("calls an answer that is not JSON, or not the documented resource, malformed", async () => {
    script = { status: 200, body: "<html>OK</html>" }
    expect((await failureOf(connector().execute(call()))).reason._tag).toBe("MalformedResponse")
    script = { status: 200, body: JSON.stringify({ ...refundAnswer, status: "pending" }) }
    const error = await failureOf(connector().execute(call()))
    expect(error.reason._tag).toBe("MalformedResponse")
    expect(error.retryable).toBe(true)
  })

  it("maps refusals, conflicts and rate limits by status", async () => {
    script = { status: 404, body: "<html>no such route</html>" }
    expect((await failureOf(connector().execute(call()))).reason).toMatchObject({
      _tag: "Rejected",
      code: "http_404",
    })
    script = { status: 429, body: JSON.stringify({ error: { type: "rate_limited", message: "slow down" } }) }
    expect((await failureOf(connector().execute(call()))).reason._tag).toBe("Unavailable")
    script = {
      status: 409,
      body: JSON.stringify({ error: { type: "idempotency_conflict", message: "reused" } }),
    }
    expect((await failureOf(connector().execute(call()))).reason).toStrictEqual({
      _tag: "KeyConflict",
      message: "reused",
    })
  })

  it("reports a refused connection as Unavailable", async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const error = await failureOf(connector(`http://127.0.0.1:${port}`).execute(call()))
    expect(error.reason._tag).toBe("Unavailable")
    expect(error.message).toContain("ECONNREFUSED")
  })

  it("times out a slow answer and aborts its request", async () => {
    script = { status: 200, body: JSON.stringify(refundAnswer), delayMs: 1_000 }
    const error = await failureOf(connector(scriptedUrl, 100).execute(call()))
    expect(error.reason).toStrictEqual({ _tag: "Timeout", afterMs: 100 })
    await expect.poll(() => closedEarly).toBe(1)
  })

  it("aborts the request when the calling fiber is interrupted", async () => {
    script = { status: 200, body: JSON.stringify(refundAnswer), delayMs: 1_000 }
    await Effect.runPromise(
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(connector().execute(call()))
        yield* Effect.sleep("100 millis")
        yield* Fiber.interrupt(fiber)
      }),
    )
    await expect.poll(() => closedEarly).toBe(1)
  })
})

describe("look-up by key against the payment simulator", () => {
  beforeEach(() => sims.reset())

  it("answers a stored refusal with that refusal", async () => {
    const declined = call({ orderId: "declined-1", amountMinor: 100, currency: "EUR" })
    const payment = connector(sims.payment.url)
    const refused = await failureOf(payment.execute(declined))
    expect(refused.reason).toMatchObject({ _tag: "Rejected", code: "refund_declined" })
    expect((await failureOf(payment.lookup(declined))).reason).toStrictEqual(refused.reason)
  })

  it("does not take a key used for another operation as this one's receipt", async () => {
    const payment = connector(sims.payment.url)
    const receipt = await Effect.runPromise(payment.execute(call()))
    const error = await failureOf(
      payment.lookup({ key: "act-1", kind: "payment.cancel-refund", parameters: {} }),
    )
    expect(error.reason._tag).toBe("KeyConflict")
    expect(error.message).toContain("POST /v1/refunds")
    expect(receipt.externalRef).toMatch(/^re_/)
  })

  it("refuses to compensate under the action's own key", async () => {
    const payment = connector(sims.payment.url)
    const receipt = await Effect.runPromise(payment.execute(call()))
    const error = await failureOf(
      payment.compensate({
        key: "act-1",
        kind: "payment.cancel-refund",
        parameters: {},
        originalKey: "act-1",
        originalRef: receipt.externalRef,
      }),
    )
    expect(error.reason._tag).toBe("KeyConflict")
    expect(sims.payment.state()).toMatchObject({ refundedByOrder: { "o-1": 1250 } })
  })
})
