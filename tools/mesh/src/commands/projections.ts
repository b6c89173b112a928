import { Argument, Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag, personFlag } from "./shared.ts"

const load = () => import("../handlers/projections.ts")

const agentFlag = Flag.String("agent").pipe(
  Flag.optional,
  Flag.withDescription("only this agent's projections"),
)

/** `mesh projections rebuild <projection>`: a read model rebuilt from the log while the live one serves. */
const rebuildCommand = Command.make(
  "rebuild",
  {
    projection: Argument.String("projection").pipe(
      Argument.withDescription("the projection's name, as mesh projections lists it"),
    ),
    agent: agentFlag,
    as: personFlag("asks"),
    timeoutSeconds: Flag.Int("timeout").pipe(
      Flag.withDefault(1_800),
      Flag.withDescription("seconds the rebuild may take"),
    ),
    rollback: Flag.Boolean("rollback").pipe(
      Flag.withDefault(false),
      Flag.withDescription(
        "rebuild even if the answering instance is of an older version than the live one (roll the projection back)",
      ),
    ),
    to: Flag.Int("to").pipe(
      Flag.optional,
      Flag.withDescription(
        "the version to rebuild to, forward or back: only an instance of that version rebuilds (mid-rollout the command is asked again until one answers)",
      ),
    ),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.rebuild(args)),
).pipe(
  Command.withDescription(
    "Rebuild a projection's read model from the log: one instance of the agent that owns it fills shadow tables while the live ones serve, " +
      "then swaps them in at once; progress on stderr, recorded in the log as asked by the operator",
  ),
)

/** `mesh projections [rebuild]`: every running agent's projections over NATS. */
export const projectionsCommand = Command.make(
  "projections",
  { agent: agentFlag, json: jsonFlag, natsUrl: natsUrlFlag, namespace: namespaceFlag },
  (args) => lazily(load, (h) => h.list(args)),
).pipe(
  Command.withDescription(
    "List every running agent's projections with their version, lag and checkpoints (each instance answers over NATS); rebuild <projection>",
  ),
  Command.withSubcommands([rebuildCommand]),
)
