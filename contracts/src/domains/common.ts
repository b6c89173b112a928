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

/** How many digits a currency has after its decimal point (its ISO-4217 exponent): 2 for EUR, 0 for JPY. */
export const currencyDigits = (currency: string): number => {
  try {
    return (
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ??
      2
    )
  } catch {
    return 2
  }
}

/** Money as a person reads it, e.g. `500.00 EUR` (minor units by the currency's ISO-4217 exponent). */
export const formatMoney = (money: Money): string => {
  const digits = currencyDigits(money.currency)
  if (digits === 0) return `${money.amountMinor} ${money.currency}`
  const minor = String(money.amountMinor).padStart(digits + 1, "0")
  return `${minor.slice(0, -digits)}.${minor.slice(-digits)} ${money.currency}`
}

/**
 * An amount as a person writes it (`12.50`, `12.5`, `12`) in a currency, in minor units; undefined
 * for anything else (a sign, an exponent, more decimals than the currency has, too large to be exact).
 */
export const moneyFromDecimal = (amount: string, currency: string): Money | undefined => {
  const parts = /^(\d+)(?:\.(\d+))?$/.exec(amount.trim())
  if (parts === null || !/^[A-Z]{3}$/.test(currency)) return undefined
  const digits = currencyDigits(currency)
  const fraction = parts[2] ?? ""
  if (fraction.length > digits) return undefined
  const amountMinor = Number(`${parts[1]}${fraction.padEnd(digits, "0")}`)
  return Number.isSafeInteger(amountMinor) ? { amountMinor, currency } : undefined
}

/** A probability-like score in [0, 1], such as a model's confidence. */
export const Score = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** A whole quantity of stock units. */
export const Quantity = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** The tenant (shop) an aggregate belongs to; memory and read models are filtered by it. */
export const TenantId = Schema.String.check(Schema.isPattern(/^[a-z0-9-]{1,64}$/))
