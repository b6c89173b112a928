import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import type { Connector, ConnectorError } from "./connector.ts"
import { ConnectorRegistry, makeConnectorRegistry, makeHttpConnectorRegistry } from "./registry.ts"

const fakeConnector = (system: string, kinds: ReadonlyArray<string>): Connector => ({
  system,
  kinds,
  execute: (call) => Effect.succeed({ externalRef: `${system}:${call.key}`, result: { kind: call.kind } }),
  lookup: () => Effect.succeed(undefined),
  compensate: (call) => Effect.succeed({ externalRef: call.originalRef, result: { undone: true } }),
})

const failureOf = <A>(effect: Effect.Effect<A, ConnectorError>): ConnectorError => {
  const exit = Effect.runSync(Effect.exit(effect))
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (failure === undefined || failure._tag !== "Fail")
    throw new Error(`expected a typed failure: ${exit.cause}`)
  return failure.error
}

describe("makeConnectorRegistry", () => {
  const registry = makeConnectorRegistry([
    fakeConnector("payment", ["payment.refund", "payment.cancel-refund"]),
    fakeConnector("mailbox", ["mailbox.send-message"]),
  ])

  it("sends each call to the connector of its kind", () => {
    const receipt = Effect.runSync(
      registry.execute({ key: "k", kind: "mailbox.send-message", parameters: {} }),
    )
    expect(receipt.externalRef).toBe("mailbox:k")
    expect(Effect.runSync(registry.resolve("payment.cancel-refund")).system).toBe("payment")
  })

  it("fails an unknown kind with UnknownKind, naming the kinds it knows", () => {
    const error = failureOf(registry.execute({ key: "k", kind: "supplier.place-order", parameters: {} }))
    expect(error.reason._tag).toBe("UnknownKind")
    expect(error.retryable).toBe(false)
    expect(error.system).toBe("supplier")
    expect(error.key).toBe("k")
    expect(error.message).toContain("mailbox.send-message, payment.cancel-refund, payment.refund")
  })

  it("refuses two connectors serving one kind", () => {
    expect(() =>
      makeConnectorRegistry([fakeConnector("a", ["payment.refund"]), fakeConnector("b", ["payment.refund"])]),
    ).toThrow(/a and b both serve payment.refund/)
  })
})

describe("the HTTP connector registry", () => {
  const registry = makeHttpConnectorRegistry({
    paymentUrl: "http://127.0.0.1:1",
    supplierUrl: null,
    storefrontUrl: "http://127.0.0.1:2/",
    mailboxUrl: "http://127.0.0.1:3",
    timeoutMs: 1_000,
  })

  it("serves every kind of the configured systems and knows their compensations", () => {
    expect([...registry.kinds].sort()).toStrictEqual([
      "mailbox.retract-message",
      "mailbox.send-message",
      "payment.cancel-refund",
      "payment.refund",
      "storefront.adjust-stock",
      "storefront.publish-listing",
      "storefront.revert-availability",
      "storefront.revert-stock-adjustment",
      "storefront.set-availability",
      "storefront.unpublish-listing",
    ])
    expect(registry.compensationOf("payment.refund")).toBe("payment.cancel-refund")
    expect(registry.compensationOf("storefront.publish-listing")).toBe("storefront.unpublish-listing")
    expect(registry.compensationOf("payment.cancel-refund")).toBeUndefined()
  })

  it("names the variable that would configure a system left out", () => {
    const error = failureOf(registry.resolve("supplier.place-order", "po-1"))
    expect(error.reason).toStrictEqual({
      _tag: "UnknownKind",
      message: "supplier is not configured: set MESH_SUPPLIER_URL",
    })
  })
})

describe("ConnectorRegistry.layerFromConfig", () => {
  const registryFrom = (env: Record<string, string>) =>
    Effect.runSyncExit(
      Effect.gen(function* () {
        return yield* ConnectorRegistry
      }).pipe(
        Effect.provide(
          ConnectorRegistry.layerFromConfig.pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))),
          ),
        ),
      ),
    )

  it("reads the systems' URLs and the timeout from the environment", () => {
    const exit = registryFrom({
      MESH_PAYMENT_URL: "http://127.0.0.1:7102",
      MESH_SUPPLIER_URL: "http://127.0.0.1:7103",
      MESH_STOREFRONT_URL: "",
      MESH_MAILBOX_URL: "https://mail.example.com/api",
      MESH_CONNECTOR_TIMEOUT_MS: "2500",
    })
    if (!Exit.isSuccess(exit)) throw new Error(String(exit.cause))
    expect(exit.value.kinds).toContain("supplier.place-order")
    expect(exit.value.kinds).toContain("mailbox.send-message")
    expect(exit.value.kinds).not.toContain("storefront.adjust-stock")
  })

  it("fails on a bad value, naming the variable", () => {
    const badUrl = registryFrom({ MESH_PAYMENT_URL: "127.0.0.1:7102" })
    expect(Exit.isFailure(badUrl) && String(badUrl.cause)).toContain("MESH_PAYMENT_URL")
    const badTimeout = registryFrom({ MESH_CONNECTOR_TIMEOUT_MS: "0" })
    expect(Exit.isFailure(badTimeout) && String(badTimeout.cause)).toContain("MESH_CONNECTOR_TIMEOUT_MS")
  })
})
