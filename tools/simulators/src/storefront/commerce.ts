import type { JsonObject } from "../simulator.ts"
import { catalogue } from "./catalogue.ts"
import { orderBook } from "./orders.ts"

/**
 * The storefront's shop side: a catalogue, orders that shoppers place and the shop fulfils, and
 * their event feed. `storefrontSystem()` adds these to its stock and listings. Consumers are
 * written against this wire format:
 *
 * - `POST /_admin/catalogue {products}` upserts; `GET /v1/products`, `GET /v1/products/:sku`.
 * - `POST /_admin/orders {orderId?, customerId, email?, lines: [{sku, quantity}], at?}` places an
 *   order; `POST /_admin/orders/:id/{pay,ship,deliver,cancel,return}` move it (409
 *   `invalid_transition` with `from` and `to` otherwise). Each answers the order snapshot.
 * - `GET /v1/orders/:id`; `GET /v1/order-events?after&limit` → `{events, next, more}`, the
 *   reconciliation listing of every order event.
 */
export const storefrontCommerce = () => {
  const products = catalogue()
  const orders = orderBook({ product: products.product })
  return {
    routes: [...products.routes, ...orders.routes],
    adminRoutes: [...products.adminRoutes, ...orders.adminRoutes],
    state: (): JsonObject => orders.state(),
    reset: (): void => {
      orders.reset()
      products.reset()
    },
  }
}
