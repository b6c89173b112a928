import { makeCatalog, registerEvents, shopInvariants, shopRegisters } from "@mesh/contracts"
import { defineAgent } from "@mesh/kernel"
import type { Registers } from "@mesh/registers"
import { type ResolverTally, replicationWorker, resolverWorker } from "./resolver.ts"

/** The resolver's counts since it started; `/status` shows them. */
export const resolverTally: ResolverTally = {
  resolved: 0,
  escalated: 0,
  violations: 0,
  failed: 0,
  skippedUnknown: 0,
}

/**
 * The conflict resolver: its own process, no aggregates of its own; it reads the registers' changes
 * and writes their merges, and checks the invariants across agents. The registers and invariants it
 * knows are the shop's, declared in the contracts.
 */
export const conflictResolverAgent = defineAgent<(typeof registerEvents)[number], Registers>({
  name: "conflict-resolver",
  catalog: makeCatalog(registerEvents),
  aggregates: [],
  reactors: [],
  workers: [resolverWorker(shopRegisters as never, resolverTally, shopInvariants), replicationWorker()],
})
