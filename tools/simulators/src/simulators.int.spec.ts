import { spawn } from "node:child_process"
import { once } from "node:events"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Simulators, startSimulators } from "./index.ts"

let sims: Simulators
beforeAll(async () => {
  sims = await startSimulators()
})
afterAll(async () => {
  await sims?.stop()
})
beforeEach(() => sims.reset())

const post = async (url: string, body: unknown, key?: string) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key === undefined ? {} : { "idempotency-key": key }) },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const refund = { orderId: "o-1", amountMinor: 1250, currency: "EUR", reason: "damaged" }

describe("payment-API idempotency keys", () => {
  it("answers the same key and parameters with the stored result and applies the effect once", async () => {
    const first = await post(`${sims.payment.url}/v1/refunds`, refund, "k-1")
    const second = await post(`${sims.payment.url}/v1/refunds`, { ...refund }, "k-1")
    expect(first.status).toBe(200)
    expect(second).toStrictEqual(first)
    expect(sims.payment.ledger()).toHaveLength(1)
  })

  it("refuses the same key with other parameters with 409", async () => {
    await post(`${sims.payment.url}/v1/refunds`, refund, "k-2")
    const conflict = await post(`${sims.payment.url}/v1/refunds`, { ...refund, amountMinor: 9999 }, "k-2")
    expect(conflict.status).toBe(409)
    expect(conflict.body).toMatchObject({ error: { type: "idempotency_conflict" } })
    expect(sims.payment.ledger()).toHaveLength(1)
  })

  it("applies one effect for 20 parallel requests with one key, even while the first is slow", async () => {
    sims.supplier.injectFaults({ delayMs: 50 })
    const order = { supplierId: "s-1", sku: "lamp", quantity: 4, unitCostMinor: 900, currency: "EUR" }
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(`${sims.supplier.url}/v1/purchase-orders`, order, "po-key")),
    )
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toHaveProperty("size", 1)
    expect(answers[0]?.status).toBe(200)
    expect(sims.supplier.ledger()).toHaveLength(1)
    expect(sims.supplier.state()).toMatchObject({ openOrders: 1 })
  })

  it("requires a key on mutating requests", async () => {
    expect(
      (await post(`${sims.mailbox.url}/v1/messages`, { to: "a@b.c", subject: "s", body: "b" })).status,
    ).toBe(400)
  })

  it("looks a key up after the fact, including a stored refusal", async () => {
    await post(`${sims.payment.url}/v1/refunds`, refund, "k-3")
    await post(`${sims.payment.url}/v1/refunds`, { ...refund, orderId: "declined-9" }, "k-4")
    const found = await fetch(`${sims.payment.url}/v1/idempotency-keys/k-3`).then((r) => r.json())
    expect(found).toMatchObject({
      status: 200,
      method: "POST",
      path: "/v1/refunds",
      request: refund,
      response: { orderId: "o-1", status: "succeeded" },
    })
    const refused = await fetch(`${sims.payment.url}/v1/idempotency-keys/k-4`).then((r) => r.json())
    expect(refused).toMatchObject({ status: 402 })
    expect((await fetch(`${sims.payment.url}/v1/idempotency-keys/nope`)).status).toBe(404)
  })
})

describe("injected failures", () => {
  it("fails the next N calls before the effect without storing the key", async () => {
    sims.payment.injectFaults({ failNext: 2 })
    expect((await post(`${sims.payment.url}/v1/refunds`, refund, "k-5")).status).toBe(503)
    expect((await post(`${sims.payment.url}/v1/refunds`, refund, "k-5")).status).toBe(503)
    expect((await post(`${sims.payment.url}/v1/refunds`, refund, "k-5")).status).toBe(200)
    expect(sims.payment.ledger()).toHaveLength(1)
  })

  it("loses the response after applying the effect, and a retry gets the stored result", async () => {
    sims.mailbox.injectFaults({ failNext: 1, when: "after" })
    const message = { to: "ana@example.com", subject: "Your refund", body: "Done." }
    expect((await post(`${sims.mailbox.url}/v1/messages`, message, "m-1")).status).toBe(503)
    const retry = await post(`${sims.mailbox.url}/v1/messages`, message, "m-1")
    expect(retry.status).toBe(200)
    expect(sims.mailbox.ledger()).toHaveLength(1)
  })

  it("drops the connection before the effect, and a retry applies it once", async () => {
    sims.payment.injectFaults({ failNext: 1, drop: true })
    await expect(post(`${sims.payment.url}/v1/refunds`, refund, "k-7")).rejects.toThrow(TypeError)
    expect(sims.payment.ledger()).toHaveLength(0)
    expect((await post(`${sims.payment.url}/v1/refunds`, refund, "k-7")).status).toBe(200)
    expect(sims.payment.ledger()).toHaveLength(1)
  })

  it("drops the connection after the effect, and a retry gets the stored result", async () => {
    sims.supplier.injectFaults({ failNext: 1, drop: true, when: "after" })
    const order = { supplierId: "s-1", sku: "lamp", quantity: 1, unitCostMinor: 900, currency: "EUR" }
    await expect(post(`${sims.supplier.url}/v1/purchase-orders`, order, "po-7")).rejects.toThrow(TypeError)
    expect(sims.supplier.ledger()).toHaveLength(1)
    const lookedUp = await fetch(`${sims.supplier.url}/v1/idempotency-keys/po-7`).then((r) => r.json())
    expect(lookedUp).toMatchObject({ status: 200, response: { status: "placed" } })
    expect((await post(`${sims.supplier.url}/v1/purchase-orders`, order, "po-7")).status).toBe(200)
    expect(sims.supplier.ledger()).toHaveLength(1)
  })

  it("never faults or delays a look-up by key", async () => {
    await post(`${sims.payment.url}/v1/refunds`, refund, "k-8")
    sims.payment.injectFaults({ failNext: 1 })
    expect((await fetch(`${sims.payment.url}/v1/idempotency-keys/k-8`)).status).toBe(200)
    expect((await post(`${sims.payment.url}/v1/refunds`, refund, "k-9")).status).toBe(503)
  })
})

describe("the simulated world", () => {
  it("undoes effects by their compensations", async () => {
    await fetch(`${sims.storefront.url}/_admin/stock`, { method: "POST", body: JSON.stringify({ lamp: 10 }) })
    const adjusted = await post(
      `${sims.storefront.url}/v1/stock-adjustments`,
      { sku: "lamp", delta: 3 },
      "a-1",
    )
    expect(adjusted.body).toMatchObject({ onHand: 13 })
    const reverted = await post(
      `${sims.storefront.url}/v1/stock-adjustments/${adjusted.body.id}/revert`,
      {},
      "a-1-c",
    )
    expect(reverted.body).toMatchObject({ onHand: 10, status: "reverted" })
    expect(sims.storefront.state()).toMatchObject({ stock: { lamp: 10 } })
    expect(sims.storefront.ledger().map((e) => e.operation)).toStrictEqual([
      "stock.adjusted",
      "stock.reverted",
    ])
  })

  it("refuses business-invalid requests as not retryable 4xx", async () => {
    expect(
      (
        await post(
          `${sims.mailbox.url}/v1/messages`,
          { to: "x@bounce.invalid", subject: "s", body: "b" },
          "m-2",
        )
      ).status,
    ).toBe(422)
    expect(
      (
        await post(
          `${sims.supplier.url}/v1/purchase-orders`,
          { supplierId: "unknown-1", sku: "a", quantity: 1, unitCostMinor: 1, currency: "EUR" },
          "p-2",
        )
      ).status,
    ).toBe(422)
  })

  it("serves the ledger and state over HTTP for other processes", async () => {
    await post(`${sims.payment.url}/v1/refunds`, refund, "k-6")
    const ledger = (await fetch(`${sims.payment.url}/_admin/ledger`).then((r) => r.json())) as {
      entries: Array<unknown>
    }
    expect(ledger.entries).toHaveLength(1)
    expect(ledger.entries[0]).toMatchObject({ key: "k-6", operation: "refund.created", system: "payment" })
    const state = await fetch(`${sims.payment.url}/_admin/state`).then((r) => r.json())
    expect(state).toMatchObject({ refundedByOrder: { "o-1": 1250 } })
  })
})

describe("as a separate process", () => {
  it("starts, prints its URLs, serves, and stops on SIGTERM", async () => {
    const main = fileURLToPath(new URL("./main.ts", import.meta.url))
    // The workspace's Node 24 runs .ts files directly; the machine's default node may not.
    const repoNode = fileURLToPath(new URL("../../../node_modules/.bin/node", import.meta.url))
    const child = spawn(existsSync(repoNode) ? repoNode : process.execPath, [main], {
      stdio: ["ignore", "pipe", "inherit"],
    })
    try {
      const [line] = (await once(child.stdout, "data")) as [Buffer]
      const urls = JSON.parse(line.toString("utf8").trim()) as Record<string, string>
      expect(Object.keys(urls).sort()).toStrictEqual(["mailbox", "payment", "storefront", "supplier"])
      const health = await fetch(`${urls.payment}/_admin/health`).then((r) => r.json())
      expect(health).toStrictEqual({ ok: true, system: "payment" })
    } finally {
      child.kill("SIGTERM")
      const [code] = (await once(child, "exit")) as [number | null]
      expect(code).toBe(0)
    }
  })
})
