// The procurement agent: inventory, reorders and purchase orders.
export { type ProcurementServices, procurementAgent } from "./agent.ts"
export { ProcurementSettings, type ProcurementSettingsShape, procurementName } from "./config.ts"
export { procurementLayer } from "./layers.ts"
export { type ProcurementReadModel, procurementProjection } from "./projections/procurementReadModel.ts"
