import type { FaultPlan, LedgerEntry } from "@mesh/simulators"
import type { ConnectorContractSetup, ContractFault } from "./connectorContract.ts"

/** The part of a running simulator (`SimulatorHandle` of @mesh/simulators) the contract suite drives. */
export interface SimulatorLike {
  ledger(): ReadonlyArray<LedgerEntry>
  injectFaults(plan: FaultPlan): void
}

const planFor = (fault: ContractFault, slowMs: number): FaultPlan => {
  switch (fault._tag) {
    case "ServerError":
      return { failNext: 1, status: 500, when: fault.when }
    case "DropConnection":
      return { failNext: 1, drop: true, when: fault.when }
    case "SlowResponse":
      return { delayMs: slowMs }
  }
}

/**
 * The ledger and fault hooks of the contract suite for a connector whose system is a simulator in
 * this process; a slow response takes two and a half times the connector's timeout.
 */
export const simulatorContractHooks = (
  simulator: SimulatorLike,
  options: { readonly timeoutMs: number },
): Pick<ConnectorContractSetup, "ledger" | "injectFault" | "clearFaults"> => ({
  ledger: async () => simulator.ledger(),
  injectFault: async (fault) => simulator.injectFaults(planFor(fault, Math.ceil(options.timeoutMs * 2.5))),
  clearFaults: async () => simulator.injectFaults({ delayMs: 0 }),
})
