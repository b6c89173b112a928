import { OrderPlaced, OrderStatusChanged } from "@mesh/contracts"

/** The events of a storefront order, the customer domain's `order` aggregate. */
export const orderEvents = [OrderPlaced, OrderStatusChanged] as const
