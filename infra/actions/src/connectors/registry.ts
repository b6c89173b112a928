import { Context, Effect, Layer } from "effect"
import {
  type CompensationCall,
  type Connector,
  type ConnectorCall,
  ConnectorError,
  type ConnectorReceipt,
} from "./connector.ts"
import {
  type ConnectorSettings,
  connectorUrlVariables,
  loadConnectorSettings,
  makeHttpConnectors,
} from "./settings.ts"

/** The connectors of a process, by action kind; executing through it picks the connector of the call's kind. */
export interface ConnectorRegistryShape {
  /** Every kind some connector serves (actions and compensations). */
  readonly kinds: ReadonlyArray<string>
  /** The connector serving a kind; `UnknownKind` when none does. */
  readonly resolve: (kind: string, key?: string) => Effect.Effect<Connector, ConnectorError>
  /** The compensation kind that undoes a kind, if its connector declares one. */
  readonly compensationOf: (kind: string) => string | undefined
  /** `execute` of the connector serving `call.kind`. */
  readonly execute: (call: ConnectorCall) => Effect.Effect<ConnectorReceipt, ConnectorError>
  /** `lookup` of the connector serving `call.kind`. */
  readonly lookup: (call: ConnectorCall) => Effect.Effect<ConnectorReceipt | undefined, ConnectorError>
  /** `compensate` of the connector serving `call.kind` (the compensation kind). */
  readonly compensate: (call: CompensationCall) => Effect.Effect<ConnectorReceipt, ConnectorError>
}

/** Options of a registry. */
export interface ConnectorRegistryOptions {
  /** Systems known but left unconfigured, with what would configure them; named when one of their kinds is asked for. */
  readonly unconfigured?: Readonly<Record<string, string>>
}

/**
 * Builds a registry over connectors. Two connectors serving one kind is a wiring bug, so it throws
 * at construction rather than letting one of them win silently.
 */
export const makeConnectorRegistry = (
  connectors: ReadonlyArray<Connector>,
  options: ConnectorRegistryOptions = {},
): ConnectorRegistryShape => {
  const byKind = new Map<string, Connector>()
  const compensations = new Map<string, string>()
  for (const connector of connectors) {
    for (const kind of connector.kinds) {
      const taken = byKind.get(kind)
      if (taken !== undefined) {
        throw new Error(`connectors ${taken.system} and ${connector.system} both serve ${kind}`)
      }
      byKind.set(kind, connector)
    }
    for (const [kind, compensation] of Object.entries(connector.compensations ?? {})) {
      compensations.set(kind, compensation)
    }
  }

  const resolve = (kind: string, key = "") => {
    const connector = byKind.get(kind)
    if (connector !== undefined) return Effect.succeed(connector)
    const system = kind.split(".")[0] ?? kind
    const hint = options.unconfigured?.[system]
    return Effect.fail(
      new ConnectorError({
        system,
        kind,
        key,
        reason: {
          _tag: "UnknownKind",
          message:
            hint !== undefined
              ? `${system} is not configured: ${hint}`
              : `no connector serves ${kind}; known kinds: ${[...byKind.keys()].sort().join(", ") || "none"}`,
        },
      }),
    )
  }

  return {
    kinds: [...byKind.keys()],
    resolve,
    compensationOf: (kind) => compensations.get(kind),
    execute: (call) => Effect.flatMap(resolve(call.kind, call.key), (c) => c.execute(call)),
    lookup: (call) => Effect.flatMap(resolve(call.kind, call.key), (c) => c.lookup(call)),
    compensate: (call) => Effect.flatMap(resolve(call.kind, call.key), (c) => c.compensate(call)),
  }
}

/** The registry over the HTTP connectors of the configured systems; unconfigured ones are named in errors. */
export const makeHttpConnectorRegistry = (
  settings: ConnectorSettings,
  extra: ReadonlyArray<Connector> = [],
): ConnectorRegistryShape => {
  const urls = {
    payment: settings.paymentUrl,
    supplier: settings.supplierUrl,
    storefront: settings.storefrontUrl,
    mailbox: settings.mailboxUrl,
  }
  const unconfigured = Object.fromEntries(
    Object.entries(urls)
      .filter(([, url]) => url === null)
      .map(([system]) => [system, `set ${connectorUrlVariables[system as keyof typeof urls]}`]),
  )
  return makeConnectorRegistry([...makeHttpConnectors(settings), ...extra], { unconfigured })
}

/** The connectors of this process, resolved by action kind. */
export class ConnectorRegistry extends Context.Service<ConnectorRegistry, ConnectorRegistryShape>()(
  "ConnectorRegistry",
) {
  /** A registry over the given connectors (tests, or connectors beyond the built-in ones). */
  static readonly layer = (connectors: ReadonlyArray<Connector>, options?: ConnectorRegistryOptions) =>
    Layer.sync(ConnectorRegistry, () => makeConnectorRegistry(connectors, options))

  /** The built-in HTTP connectors from explicit settings. */
  static readonly layerFromSettings = (settings: ConnectorSettings) =>
    Layer.sync(ConnectorRegistry, () => makeHttpConnectorRegistry(settings))

  /** The built-in HTTP connectors from MESH_PAYMENT_URL, MESH_SUPPLIER_URL, MESH_STOREFRONT_URL, MESH_MAILBOX_URL and MESH_CONNECTOR_TIMEOUT_MS. */
  static readonly layerFromConfig = Layer.unwrap(
    Effect.map(loadConnectorSettings, (settings) => ConnectorRegistry.layerFromSettings(settings)),
  )

  /** The built-in HTTP connectors from the environment, beside an agent's own in-process connectors. */
  static readonly layerFromConfigWith = (extra: ReadonlyArray<Connector>) =>
    Layer.unwrap(
      Effect.map(loadConnectorSettings, (settings) =>
        Layer.sync(ConnectorRegistry, () => makeHttpConnectorRegistry(settings, extra)),
      ),
    )
}
