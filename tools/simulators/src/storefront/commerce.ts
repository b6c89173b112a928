import type { JsonObject } from "../simulator.ts"
import { catalogue } from "./catalogue.ts"
import { orderBook } from "./orders.ts"
import { webhookDispatcher } from "./webhooks.ts"

/**
 * The storefront's shop side: a catalogue, orders that shoppers place and the shop fulfils, their
 * event feed, and webhooks that announce each event. `storefrontSystem()` adds these to its stock
 * and listings. Consumers are written against this wire format:
 *
 * - `POST /_admin/catalogue {products}` upserts; `GET /v1/products`, `GET /v1/products/:sku`.
 * - `POST /_admin/orders {orderId?, customerId, email?, lines: [{sku, quantity}], at?}` places an
 *   order; `POST /_admin/orders/:id/{pay,ship,deliver,cancel,return}` move it (409
 *   `invalid_transition` with `from` and `to` otherwise). Each answers the order snapshot.
 * - `GET /v1/orders/:id`; `GET /v1/order-events?after&limit` → `{events, next, more}`, the
 *   reconciliation listing of every order event.
 * - `POST /_admin/webhooks {url, secret}` → `{id}`; `POST /_admin/webhook-faults {…}`;
 *   `GET /_admin/webhooks/deliveries` → `{deliveries, pending}`. Each event is POSTed as its feed
 *   JSON with `x-storefront-event-id`, `-topic`, `-delivery-attempt` and `-signature: sha256=<hmac>`.
 */
export const storefrontCommerce = () => {
  const products = catalogue()
  const webhooks = webhookDispatcher()
  const orders = orderBook({ product: products.product, announce: webhooks.announce })
  return {
    routes: [...products.routes, ...orders.routes],
    adminRoutes: [...products.adminRoutes, ...orders.adminRoutes, ...webhooks.routes],
    state: (): JsonObject => orders.state(),
    reset: (): void => {
      // Deliveries go first, so that none of them sends an event of the world being emptied.
      webhooks.reset()
      orders.reset()
      products.reset()
    },
    stop: webhooks.stop,
  }
}
