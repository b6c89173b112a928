// The content-ops agent: listings, stock status and the fact check.
export { type ContentOpsServices, contentOpsAgent } from "./agent.ts"
export { ContentOpsSettings, type ContentOpsSettingsShape, contentOpsName } from "./config.ts"
export { contentOpsLayer } from "./layers.ts"
export { checkListing } from "./listing/factCheck.ts"
export { type ListingsReadModel, listingsProjection } from "./projections/listingsReadModel.ts"
