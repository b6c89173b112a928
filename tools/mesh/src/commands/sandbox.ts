import { Argument, Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

const load = () => import("../handlers/sandbox.ts")

/** `mesh sandbox`: recorded history re-run through every agent in a namespace of its own. */
export const sandboxCommand = Command.make(
  "sandbox",
  {
    file: Argument.String("file").pipe(
      Argument.optional,
      Argument.withDescription("a history file (mesh export); without it, the namespace's own history"),
    ),
    correlation: Flag.String("correlation").pipe(
      Flag.atLeast(0),
      Flag.withDescription("only this chain (repeatable), with what it depends on"),
    ),
    aggregate: Flag.String("aggregate").pipe(
      Flag.atLeast(0),
      Flag.withDescription("only this aggregate's history (type/id; repeatable), with what it depends on"),
    ),
    into: Flag.String("into").pipe(
      Flag.optional,
      Flag.withDescription("the sandbox namespace, which must hold no events (default: a new sandbox<time>)"),
    ),
    keep: Flag.Boolean("keep").pipe(
      Flag.withDefault(false),
      Flag.withDescription("keep the sandbox's data folder (read models, memory, logs) after the replay"),
    ),
    timeoutSeconds: Flag.Int("timeout").pipe(
      Flag.withDefault(600),
      Flag.withDescription("seconds the mesh may take to catch up on the sandbox"),
    ),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.sandbox(args)),
).pipe(
  Command.withDescription(
    "Replay recorded history through the whole mesh in a sandbox namespace: every agent and the resolver re-run each reaction and rebuild " +
      "their read models, against simulators that only count and with no model server; reports what was added to the log, the outside calls " +
      "and the decisions made anew (all nothing when every reaction is idempotent); exit 1 when the replay was not clean",
  ),
)
