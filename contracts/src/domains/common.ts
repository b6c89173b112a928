import { Schema } from "effect"

/** A non-empty string. */
export const NonEmpty = Schema.String.check(Schema.isMinLength(1))

/** An amount of money in minor units (cents) with its ISO-4217 currency; never a float. */
export const Money = Schema.Struct({
  amountMinor: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  currency: Schema.String.check(
    Schema.isPattern(/^[A-Z]{3}$/, { message: "must be an ISO-4217 code such as EUR" }),
  ),
})
/** An amount of money. */
export type Money = typeof Money.Type

/** A probability-like score in [0, 1], such as a model's confidence. */
export const Score = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** A whole quantity of stock units. */
export const Quantity = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** The tenant (shop) an aggregate belongs to; memory and read models are filtered by it. */
export const TenantId = Schema.String.check(Schema.isPattern(/^[a-z0-9-]{1,64}$/))
