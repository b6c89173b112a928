import { enableCompileCache } from "node:module"

// V8 keeps the compiled code of the modules the agent loads (in the OS temp folder), so a restarted
// or rescheduled agent is ready sooner. The cache must be on before those modules load, hence the
// imports after it.
enableCompileCache()
const [{ runAgentMain }, { procurementAgent }, { procurementLayer }] = await Promise.all([
  import("@mesh/kernel"),
  import("./agent.ts"),
  import("./layers.ts"),
])
runAgentMain(procurementAgent, procurementLayer)
