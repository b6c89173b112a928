import { makeCatalog } from "./catalog.ts"
import { actionEvents } from "./domains/actions.ts"
import { contentEvents } from "./domains/content.ts"
import { customerEvents } from "./domains/customer.ts"
import { decisionEvents } from "./domains/decisions.ts"
import { procurementEvents } from "./domains/procurement.ts"
import { registerEvents } from "./domains/registers.ts"
import { requestEvents } from "./domains/requests.ts"

export * from "./canonical.ts"
export * from "./catalog.ts"
export * from "./domains/actions.ts"
export * from "./domains/common.ts"
export * from "./domains/content.ts"
export * from "./domains/customer.ts"
export * from "./domains/decisions.ts"
export * from "./domains/procurement.ts"
export * from "./domains/registers.ts"
export * from "./domains/requests.ts"
export * from "./envelope.ts"
export * from "./measurement.ts"
export * from "./personal.ts"
export * from "./processVitals.ts"
export * from "./reactionTimes.ts"
export * from "./registers/clock.ts"
export * from "./registers/invariants.ts"
export * from "./registers/kinds.ts"
export * from "./registers/register.ts"
export * from "./registers/shop.ts"
export * from "./subjects.ts"
export * from "./wire.ts"

/** Every public event definition of the mesh. */
export const meshEventDefinitions = [
  ...customerEvents,
  ...contentEvents,
  ...procurementEvents,
  ...actionEvents,
  ...decisionEvents,
  ...requestEvents,
  ...registerEvents,
] as const

/** The catalogue of every public event of the mesh. */
export const meshCatalog = makeCatalog(meshEventDefinitions)

/** Any public event of the mesh, decoded. */
export type MeshEvent =
  ReturnType<typeof meshCatalog.decode> extends infer R
    ? R extends { readonly success: infer E }
      ? E
      : never
    : never
