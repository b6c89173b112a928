import { Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

const load = () => import("../handlers/reactors.ts")

/** `mesh reactors`: every running agent's reactors, their backlog and where their reactions spend their time. */
export const reactorsCommand = Command.make(
  "reactors",
  {
    agent: Flag.String("agent").pipe(Flag.optional, Flag.withDescription("only this agent's reactors")),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.list(args)),
).pipe(
  Command.withDescription(
    "List every running agent's reactors (each instance answers over NATS): events pending, retrying, and where their reactions spent their time since the instance's process started, " +
      "in ms at p50/p99: delivery (stored to the reaction's start), of it the queue behind the reactor's own work, the reaction's work, its commit",
  ),
)
