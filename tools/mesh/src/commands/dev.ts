import { Command } from "effect/cli"
import { lazily, namespaceFlag } from "./shared.ts"

/** `mesh dev`: the local stack (NATS and streams) until Ctrl-C. */
export const devCommand = Command.make("dev", { namespace: namespaceFlag }, (args) =>
  lazily(
    () => import("../handlers/dev.ts"),
    (h) => h.dev(args),
  ),
).pipe(
  Command.withDescription(
    "Run the local stack (NATS and streams) until Ctrl-C; reuses the server of a `mesh dev` already running",
  ),
)
