import { Argument, Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

const load = () => import("../handlers/approvals.ts")

/** `mesh approvals [--agent a]`: the actions waiting for a human, with the hash to approve. */
export const approvalsCommand = Command.make(
  "approvals",
  {
    agent: Flag.String("agent").pipe(Flag.optional, Flag.withDescription("only this agent's actions")),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.approvals(args)),
).pipe(Command.withDescription("List actions waiting for approval (or parked after their retries)"))

/** The arguments every decision takes: which action, who decides, and where. */
const decisionArgs = {
  agent: Argument.String("agent"),
  actionId: Argument.String("action-id"),
  // The approver is a person, never defaulted to the OS user.
  as: Flag.String("as").pipe(
    Flag.optional,
    Flag.withDescription("who decides (recorded in the log); defaults to MESH_APPROVER"),
  ),
  natsUrl: natsUrlFlag,
  namespace: namespaceFlag,
}

/** `mesh approve <agent> <action-id> --hash <h> --as <name>`. */
export const approveCommand = Command.make(
  "approve",
  {
    ...decisionArgs,
    hash: Flag.String("hash").pipe(Flag.withDescription("the parameters hash shown by `mesh approvals`")),
  },
  (args) => lazily(load, (h) => h.approve(args)),
).pipe(Command.withDescription("Approve an action's exact parameters (bound to their hash)"))

/** `mesh reject <agent> <action-id> --reason <why> --as <name>`. */
export const rejectCommand = Command.make(
  "reject",
  { ...decisionArgs, reason: Flag.String("reason").pipe(Flag.withDescription("why (recorded in the log)")) },
  (args) => lazily(load, (h) => h.reject(args)),
).pipe(Command.withDescription("Reject an action for good"))
