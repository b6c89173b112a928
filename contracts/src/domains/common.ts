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

// Each currency's exponent, once asked: building an `Intl.NumberFormat` to read it costs tens of
// microseconds warm and more cold, and every amount a policy verdict, a fact or a reply formats
// asked again (on the shop's day, procurement's policy verdicts spent 0.1 s of its event loop in
// it). A code outside ISO 4217 falls back to 2 and is kept too; the codes a process meets are few.
const digitsByCurrency = new Map<string, number>()

/** How many digits a currency has after its decimal point (its ISO-4217 exponent): 2 for EUR, 0 for JPY. */
export const currencyDigits = (currency: string): number => {
  const known = digitsByCurrency.get(currency)
  if (known !== undefined) return known
  let digits = 2
  try {
    digits =
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ??
      2
  } catch {
    digits = 2
  }
  if (digitsByCurrency.size < 1_000) digitsByCurrency.set(currency, digits)
  return digits
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

/**
 * The tenant (shop) an aggregate belongs to; memory and read models are filtered by it. At most 32
 * characters, so that with a tenant's own id (`tenantScopedId`) an action id built on it still fits a
 * subject token.
 */
export const TenantId = Schema.String.check(
  Schema.isPattern(/^[a-z0-9-]{1,32}$/, { message: "must be 1-32 characters of a-z, 0-9 or '-'" }),
)

/** The longest id a tenant may give a thing of its own (a SKU, a storefront order) that becomes part of an aggregate id. */
export const maxTenantOwnIdLength = 63

const tenantPattern = /^[a-z0-9-]{1,32}$/
const ownIdPattern = new RegExp(`^[A-Za-z0-9_-]{1,${maxTenantOwnIdLength}}$`)

/**
 * A tenant's own id (a SKU, an order number) as a subject token: 1-63 letters, digits, '_' or '-',
 * refused by name otherwise, so that with its tenant it still fits an aggregate id.
 */
export const TenantOwnId = Schema.String.check(
  // A pattern (not a custom filter), so that property tests can generate such ids.
  Schema.isPattern(ownIdPattern, {
    message: `must be 1-${maxTenantOwnIdLength} characters of letters, digits, '_' or '-'`,
  }),
)

/**
 * The aggregate and register id of something a tenant names itself: `<tenant>_<its id>`. Two shops
 * may both sell `MUG-1` or both have order `1001`; their stock, reservations, listings and orders
 * must never be one. A tenant id has no '_', so the first '_' splits the id back unambiguously, and
 * at 64 + 1 + 63 characters it is still a subject token. Throws, naming the value, on a tenant or an
 * id that could not be one.
 */
export const tenantScopedId = (tenantId: string, ownId: string): string => {
  if (!tenantPattern.test(tenantId))
    throw new TypeError(`tenant ${JSON.stringify(tenantId)} must be 1-32 characters of a-z, 0-9 or '-'`)
  if (!ownIdPattern.test(ownId))
    throw new TypeError(
      `${JSON.stringify(ownId.slice(0, 200))} must be 1-${maxTenantOwnIdLength} characters of letters, digits, '_' or '-'`,
    )
  return `${tenantId}_${ownId}`
}

/** A tenant-scoped id split back into its tenant and the tenant's own id, or undefined when it is not one. */
export const parseTenantScopedId = (
  scopedId: string,
): { readonly tenantId: string; readonly ownId: string } | undefined => {
  const at = scopedId.indexOf("_")
  if (at < 0) return undefined
  const tenantId = scopedId.slice(0, at)
  const ownId = scopedId.slice(at + 1)
  return tenantPattern.test(tenantId) && ownIdPattern.test(ownId) ? { tenantId, ownId } : undefined
}
