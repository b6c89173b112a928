import { Config, Effect, Schema } from "effect"
import type { Connector } from "./connector.ts"
import { makeHttpConnector } from "./httpConnector.ts"
import { mailboxApi, paymentApi, storefrontApi, supplierApi } from "./systems.ts"

/** Default budget of one connector call. */
export const DEFAULT_CONNECTOR_TIMEOUT_MS = 10_000

/** Where the external systems live; a system left null gets no connector (its kinds are unknown). */
export interface ConnectorSettings {
  readonly paymentUrl: string | null
  readonly supplierUrl: string | null
  readonly storefrontUrl: string | null
  readonly mailboxUrl: string | null
  /** The budget of one call in milliseconds; past it the call fails with `Timeout`. */
  readonly timeoutMs: number
}

/** The environment variable naming each system's base URL. */
export const connectorUrlVariables = {
  payment: "MESH_PAYMENT_URL",
  supplier: "MESH_SUPPLIER_URL",
  storefront: "MESH_STOREFRONT_URL",
  mailbox: "MESH_MAILBOX_URL",
} as const

const BaseUrl = Schema.String.check(
  Schema.isPattern(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message: "must be an http(s) base URL such as http://127.0.0.1:7102",
  }),
)

// An unset or empty variable means the system is not configured; a set one must be a URL.
const optionalUrl = (name: string): Config.Config<string | null> =>
  Config.String(name).pipe(
    Config.withDefault(""),
    Config.flatMap((raw) => (raw.trim() === "" ? Config.succeed(null) : Config.schema(BaseUrl, name))),
  )

/** The settings as an effect `Config`: MESH_PAYMENT_URL, MESH_SUPPLIER_URL, MESH_STOREFRONT_URL, MESH_MAILBOX_URL, MESH_CONNECTOR_TIMEOUT_MS. */
export const connectorSettingsConfig: Config.Config<ConnectorSettings> = Config.all({
  paymentUrl: optionalUrl(connectorUrlVariables.payment),
  supplierUrl: optionalUrl(connectorUrlVariables.supplier),
  storefrontUrl: optionalUrl(connectorUrlVariables.storefront),
  mailboxUrl: optionalUrl(connectorUrlVariables.mailbox),
  timeoutMs: Config.schema(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 600_000 })),
    "MESH_CONNECTOR_TIMEOUT_MS",
  ).pipe(Config.withDefault(DEFAULT_CONNECTOR_TIMEOUT_MS)),
})

/** Reads the settings from the current ConfigProvider (the environment by default). */
export const loadConnectorSettings = Effect.gen(function* () {
  return yield* connectorSettingsConfig
})

/** The HTTP connectors of the configured systems. */
export const makeHttpConnectors = (settings: ConnectorSettings): ReadonlyArray<Connector> => {
  const configured = [
    [paymentApi, settings.paymentUrl],
    [supplierApi, settings.supplierUrl],
    [storefrontApi, settings.storefrontUrl],
    [mailboxApi, settings.mailboxUrl],
  ] as const
  return configured.flatMap(([api, baseUrl]) =>
    baseUrl === null ? [] : [makeHttpConnector(api, { baseUrl, timeoutMs: settings.timeoutMs })],
  )
}
