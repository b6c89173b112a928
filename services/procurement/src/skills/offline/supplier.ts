import type { ChooseSupplierInput, ChooseSupplierOutput, SupplierOffer } from "../tasks.ts"

/** Suppliers on time less often than this are penalised. */
export const RELIABLE_ON_TIME_RATE = 0.9
/** The penalty for an unreliable supplier, as a fraction of the cheapest price it would have to beat. */
export const UNRELIABILITY_PENALTY = 0.1

/** Whether an offer can serve the reorder: delivers in time and accepts the quantity. */
export const isEligible = (offer: SupplierOffer, input: ChooseSupplierInput): boolean =>
  offer.leadTimeDays <= input.neededWithinDays && offer.minOrderQuantity <= input.quantity

/**
 * Scores an eligible offer: 1 for the cheapest eligible price, minus its relative surcharge, minus a penalty when it
 * is unreliable; tiny tie-breakers prefer reliability, then speed.
 */
export const scoreOffer = (offer: SupplierOffer, cheapestMinor: number): number => {
  const surcharge = offer.unitCost.amountMinor / cheapestMinor - 1
  const penalty = offer.onTimeRate < RELIABLE_ON_TIME_RATE ? UNRELIABILITY_PENALTY : 0
  const tieBreak = 0.001 * offer.onTimeRate + 0.00001 / (1 + offer.leadTimeDays)
  return Math.round((1 - surcharge - penalty + tieBreak) * 1_000_000) / 1_000_000
}

const money = (minor: number, currency: string): string => `${(minor / 100).toFixed(2)} ${currency}`

/** Chooses a supplier by scoring the eligible offers; with none eligible, chooses nobody so a buyer decides. */
export const chooseSupplierOffline = (input: ChooseSupplierInput): ChooseSupplierOutput => {
  const eligible = input.suppliers.filter((s) => isEligible(s, input))
  const cheapest = Math.min(...eligible.map((s) => s.unitCost.amountMinor))
  const ranking = input.suppliers
    .map((s) => ({
      supplierId: s.id,
      eligible: isEligible(s, input),
      score: isEligible(s, input) && cheapest > 0 ? scoreOffer(s, cheapest) : 0,
    }))
    .sort((a, b) => Number(b.eligible) - Number(a.eligible) || b.score - a.score)
  const best = ranking[0]
  if (best === undefined || !best.eligible) {
    return {
      supplierId: null,
      reason: `No supplier delivers ${input.quantity} units within ${input.neededWithinDays} days; a buyer must decide.`,
      ranking,
    }
  }
  const offer = input.suppliers.find((s) => s.id === best.supplierId)!
  const reliability = `${Math.round(offer.onTimeRate * 100)}% on time`
  return {
    supplierId: offer.id,
    reason: `${offer.name}: ${money(offer.unitCost.amountMinor, offer.unitCost.currency)} a unit, ${offer.leadTimeDays} days, ${reliability}; best of ${eligible.length} eligible.`,
    ranking,
  }
}
