import { type ContentOpsProcess, startContentOps } from "@mesh/content-ops/testing"
import { type CustomerOpsProcess, startCustomerOps, storefront } from "@mesh/customer-ops/testing"
import { type ProcurementProcess, startProcurement } from "@mesh/procurement/testing"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { uniqueNamespace } from "@mesh/stack"

/**
 * The shop's floor for specs across agents: the simulators, the procurement agent and the
 * customer-ops agent in their own processes, in one namespace on one NATS server, with the
 * storefront's webhooks signed for customer ops and its listing reconciled every half second; and,
 * when asked, the content-ops agent (offline model) with the conflict resolver beside it.
 */
export interface ShopFloor {
  readonly simulators: Simulators
  readonly procurement: ProcurementProcess
  readonly shop: CustomerOpsProcess
  /** Content ops, when the floor was started `withContentOps`. */
  readonly content: ContentOpsProcess | undefined
  /** A POST to the storefront's admin routes, as the shop's world acts on it (shoppers, parcels); its answer. */
  readonly admin: <A>(path: string, body?: unknown) => Promise<A>
  /** A GET of the storefront's own routes. */
  readonly storefrontGet: <A>(path: string) => Promise<A>
  readonly stop: () => Promise<void>
}

/** Starts the shop's floor over the NATS server at `natsUrl`, its namespace named after `prefix`. */
export const startShopFloor = async (
  natsUrl: string,
  prefix: string,
  options: { readonly withContentOps?: boolean } = {},
): Promise<ShopFloor> => {
  const simulators = await startSimulators()
  const namespace = uniqueNamespace(prefix)
  let procurement: ProcurementProcess | undefined
  let shop: CustomerOpsProcess | undefined
  let content: ContentOpsProcess | undefined
  const stop = async () => {
    await content?.stop()
    await shop?.stop()
    await procurement?.stop()
    await simulators.stop()
  }
  const admin = async <A>(path: string, body: unknown = {}): Promise<A> => {
    const response = await fetch(`${simulators.storefront.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    })
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`)
    return (await response.json()) as A
  }
  const storefrontGet = async <A>(path: string): Promise<A> =>
    (await (await fetch(`${simulators.storefront.url}${path}`)).json()) as A
  try {
    procurement = await startProcurement(natsUrl, { namespace, simulators })
    shop = await startCustomerOps(natsUrl, {
      namespace,
      simulators,
      env: { MESH_STOREFRONT_URL: simulators.storefront.url, MESH_STOREFRONT_RECONCILE_MS: "500" },
    })
    await admin("/_admin/webhooks", { url: `${shop.url}/storefront/webhooks`, secret: storefront.secret })
    if (options.withContentOps === true)
      content = await startContentOps(natsUrl, { namespace, simulators, model: "offline" })
  } catch (error) {
    await stop()
    throw error
  }
  return { simulators, procurement, shop, content, admin, storefrontGet, stop }
}
