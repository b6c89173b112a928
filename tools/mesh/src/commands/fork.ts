import { Argument, Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

const load = () => import("../handlers/fork.ts")

// The person who forks or promotes is recorded in the fork's log; never defaulted to the OS user.
const asFlag = Flag.String("as").pipe(
  Flag.optional,
  Flag.withDescription("who forks or promotes (recorded in the fork's log); defaults to MESH_APPROVER"),
)
const keepFlag = Flag.Boolean("keep").pipe(
  Flag.withDefault(false),
  Flag.withDescription("keep the fork's data folder (read models, memory, logs) after the run"),
)
const timeoutFlag = Flag.Int("timeout").pipe(
  Flag.withDefault(600),
  Flag.withDescription("seconds the mesh may take to settle on the fork"),
)

/** `mesh fork promote <fork>`: the dry fork's held actions executed, once each, through their verdicts. */
const promoteCommand = Command.make(
  "promote",
  {
    fork: Argument.String("fork").pipe(
      Argument.withDescription("the fork's namespace (mesh fork printed it)"),
    ),
    as: asFlag,
    keep: keepFlag,
    timeoutSeconds: timeoutFlag,
    json: jsonFlag,
    natsUrl: natsUrlFlag,
  },
  (args) => lazily(load, (h) => h.promote(args)),
).pipe(
  Command.withDescription(
    "Promote a dry fork: start its agents with their executors against the local stack's simulators, so that each action it holds is executed once through the verdict its gate " +
      "recorded; actions waiting for a person still wait. Recorded in the fork's log; promoting again executes nothing twice",
  ),
)

/** `mesh fork --at <event-id> (--with <json> | --drop)`: a past run branched at an event, dry. */
export const forkCommand = Command.make(
  "fork",
  {
    from: Flag.String("from").pipe(
      Flag.optional,
      Flag.withDescription("a history file (mesh export) to fork; without it, the namespace's own log"),
    ),
    at: Flag.String("at").pipe(
      Flag.optional,
      Flag.withDescription("the event to branch at (its id, as mesh history and mesh trace show it)"),
    ),
    with: Flag.String("with").pipe(
      Flag.optional,
      Flag.withDescription("the new input: a JSON object of payload fields that replace the event's"),
    ),
    drop: Flag.Boolean("drop").pipe(
      Flag.withDefault(false),
      Flag.withDescription("branch without the event (its commit is left out)"),
    ),
    into: Flag.String("into").pipe(
      Flag.optional,
      Flag.withDescription("the fork's namespace, which must hold no events (default: a new fork<time>)"),
    ),
    as: asFlag,
    keep: keepFlag,
    timeoutSeconds: timeoutFlag,
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.fork(args)),
).pipe(
  Command.withDescription(
    "Branch a past run at an event into a namespace of its own, with a new input in the event's place (--with) or without it (--drop): " +
      "the run up to the event is played there and the whole mesh carries on from it, dry: every action is requested and gated, none executed, " +
      "no outside call made. Reports the branch and each action with its verdict; `mesh fork promote <fork>` executes them",
  ),
  Command.withSubcommands([promoteCommand]),
)
