import { Argument, Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag, personFlag } from "./shared.ts"

const load = () => import("../handlers/conflicts.ts")

const where = { natsUrl: natsUrlFlag, namespace: namespaceFlag }

const listConfig = {
  open: Flag.Boolean("open").pipe(
    Flag.withDefault(false),
    Flag.withDescription("only what waits for a human: unanswered escalations, violations to escalate"),
  ),
  json: jsonFlag,
  ...where,
}

/** `mesh conflicts resolve <conflict-id> --choose N --hash H --as NAME`: answers an escalation. */
const resolveCommand = Command.make(
  "resolve",
  {
    conflictId: Argument.String("conflict-id").pipe(
      Argument.withDescription("the escalation to answer (`mesh conflicts` lists them)"),
    ),
    choose: Flag.Int("choose").pipe(
      Flag.withDescription("the number of the value to keep, as `mesh conflicts` numbers them"),
    ),
    hash: Flag.String("hash").pipe(
      Flag.filter(
        (hash) => /^[0-9a-f]{64}$/.test(hash),
        () => "the 64 lowercase hex digits of the SHA-256 that `mesh conflicts` prints",
      ),
      Flag.withDescription("the SHA-256 of the values shown by `mesh conflicts`"),
    ),
    as: personFlag("decides"),
    ...where,
  },
  (args) => lazily(load, (h) => h.resolve(args)),
).pipe(
  Command.withDescription(
    "Answer an escalated conflict: write the chosen value for the register's owner, bound to the values' hash",
  ),
)

/** `mesh conflicts [--open] [resolve]`: the conflicts put to a human and the invariant violations. */
export const conflictsCommand = Command.make("conflicts", listConfig, (args) =>
  lazily(load, (h) => h.list(args)),
).pipe(
  Command.withDescription(
    "List register conflicts put to a human and invariant violations; resolve <conflict-id> answers one",
  ),
  Command.withSubcommands([resolveCommand]),
)
