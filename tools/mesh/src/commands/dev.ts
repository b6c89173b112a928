import { Command, Flag } from "effect/cli"
import { lazily, namespaceFlag } from "./shared.ts"

/** `mesh dev`: the local stack (NATS and streams) until Ctrl-C; with `--with-agents`, the whole mesh. */
export const devCommand = Command.make(
  "dev",
  {
    namespace: namespaceFlag,
    withAgents: Flag.Boolean("with-agents").pipe(
      Flag.withDefault(false),
      Flag.withDescription(
        "also run the simulators and every agent and the conflict resolver, each its own process, as `pnpm demo` does, without its workload",
      ),
    ),
  },
  (args) =>
    lazily(
      () => import("../handlers/dev.ts"),
      (h) => h.dev(args),
    ),
).pipe(
  Command.withDescription(
    "Run the local stack (NATS and streams) until Ctrl-C; reuses the server of a `mesh dev` already running",
  ),
)
