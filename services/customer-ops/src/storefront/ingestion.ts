import type { OrderStatus } from "@mesh/contracts"
import type { AgentContext } from "@mesh/kernel"
import { Effect } from "effect"
import type { CustomerOpsDefs } from "../handlers/catalog.ts"
import { type StorefrontEvent, storefrontRequestIdOf, syncCommandOf } from "./storefrontOrder.ts"

/** What taking one storefront event did. */
export interface IngestedEvent {
  readonly requestId: string
  readonly orderId: string
  /** The event was received before (a redelivered webhook, or listed after its webhook): its first record stands. */
  readonly duplicate: boolean
  /** The statuses it recorded, `placed` for the order placed (none for a duplicate or an older snapshot). */
  readonly recorded: ReadonlyArray<OrderStatus>
}

/**
 * Takes one event of a tenant's storefront, by webhook or from the listing alike: recorded first as
 * an outside request under the event's id (so the same event, however often it comes, is one request
 * and its command one command), then its snapshot synced into the order.
 */
export const ingestStorefrontEvent = (
  context: AgentContext<CustomerOpsDefs>,
  tenantId: string,
  event: StorefrontEvent,
  origin: "http" | "schedule",
) => {
  const requestId = storefrontRequestIdOf(tenantId, event.id)
  const sync = syncCommandOf(tenantId, event)
  return context
    .receive(
      {
        requestId,
        name: sync.command._tag,
        origin,
        actor: { kind: "system", id: "storefront" },
        // The tenant with the event, so that a replay of the request knows whose order it is.
        body: { tenantId, event },
      },
      [sync],
    )
    .pipe(
      Effect.map(
        ({ request, outcomes }): IngestedEvent => ({
          requestId,
          orderId: event.order.id,
          duplicate: request.duplicate,
          recorded:
            outcomes[0]?.status === "appended"
              ? outcomes[0].events.map((e) =>
                  e.type === "OrderStatusChanged" ? (e.payload as { status: OrderStatus }).status : "placed",
                )
              : [],
        }),
      ),
    )
}
