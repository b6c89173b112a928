import { taskPrompt } from "@mesh/models"
import { defineProcurementSkill } from "./actions.ts"
import { chooseSupplierOffline, isEligible } from "./offline/supplier.ts"
import { ChooseSupplierInput, ChooseSupplierOutput } from "./tasks.ts"

/** Chooses a supplier for a reorder under the buying policy; a human decides when no answer holds. */
export const chooseSupplier = defineProcurementSkill({
  name: "chooseSupplier",
  version: 1,
  promptVersion: "supplier-1",
  description: "Choose the supplier for a reorder under the buying policy, or nobody when none is eligible.",
  input: ChooseSupplierInput,
  template: (input) =>
    taskPrompt(
      "choose_supplier",
      1,
      [
        "You choose suppliers for reorders.",
        "Eligible: delivers within neededWithinDays and minOrderQuantity <= quantity. None eligible: supplierId null.",
        "Among eligible suppliers the cheapest unit cost wins, unless it is on time less than 90% of the time and a",
        "supplier on time at least 90% costs at most 10% more, which then wins. Rank every supplier with a score.",
      ],
      "Choose the supplier for this reorder.",
      input,
    ),
  output: ChooseSupplierOutput,
  preferredModel: "qwen2.5:7b",
  // Background work: nobody waits on it, so the operator may give it a cheaper, slower model.
  workload: "background",
  allowedActions: ["request-purchase-order"],
  latencyBudgetMs: 20_000,
  fallback: "human",
  actionsOf: (output) => (output.supplierId === null ? [] : ["request-purchase-order"]),
  offline: chooseSupplierOffline,
  check: (input, output) => {
    if (output.supplierId === null) return null
    const offer = input.suppliers.find((s) => s.id === output.supplierId)
    if (offer === undefined) return `chose an unknown supplier ${output.supplierId}`
    return isEligible(offer, input) ? null : `chose ${offer.id}, which cannot deliver this reorder`
  },
})

/** Every version of chooseSupplier, oldest first. */
export const chooseSupplierVersions = [chooseSupplier] as const
