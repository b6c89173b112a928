// The procurement agent: inventory, reorders and purchase orders.
export {}
