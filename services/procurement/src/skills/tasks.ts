import { Money, NonEmpty } from "@mesh/contracts"
import { Schema } from "effect"

// The agent's model-backed task, choosing the supplier of a reorder: what it takes and answers. Its skill wraps it
// with a prompt and declares its offline implementation, so either provider can serve it.

const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** A supplier's offer for a SKU. */
export const SupplierOffer = Schema.Struct({
  id: NonEmpty,
  name: NonEmpty,
  unitCost: Money,
  leadTimeDays: Count,
  onTimeRate: Probability,
  minOrderQuantity: Count,
})
/** A supplier's offer for a SKU. */
export type SupplierOffer = typeof SupplierOffer.Type

/** A reorder and the offers to choose from. */
export const ChooseSupplierInput = Schema.Struct({
  sku: NonEmpty,
  quantity: Count.check(Schema.isGreaterThanOrEqualTo(1)),
  neededWithinDays: Count,
  suppliers: Schema.Array(SupplierOffer),
})
/** A reorder and the offers to choose from. */
export type ChooseSupplierInput = typeof ChooseSupplierInput.Type

/** The chosen supplier (null: none is eligible, a buyer decides) with the ranking behind it. */
export const ChooseSupplierOutput = Schema.Struct({
  supplierId: Schema.NullOr(NonEmpty),
  reason: NonEmpty,
  ranking: Schema.Array(
    Schema.Struct({ supplierId: NonEmpty, eligible: Schema.Boolean, score: Schema.Finite }),
  ),
})
/** The chosen supplier with the ranking behind it. */
export type ChooseSupplierOutput = typeof ChooseSupplierOutput.Type
