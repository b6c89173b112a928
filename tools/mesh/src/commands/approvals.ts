import { Argument, Command, Flag } from "effect/cli"
import {
  allFlag,
  dryRunFlag,
  instantFlag,
  jsonFlag,
  lazily,
  namespaceFlag,
  natsUrlFlag,
  personFlag,
} from "./shared.ts"

const load = () => import("../handlers/approvals.ts")

/** Which waiting or parked actions a command takes; every filter narrows. */
const queueFilters = {
  agent: Flag.String("agent").pipe(Flag.optional, Flag.withDescription("only this agent's actions")),
  status: Flag.Literals("status", ["awaiting-approval", "parked"]).pipe(
    Flag.optional,
    Flag.withDescription("only actions waiting for approval, or only parked ones"),
  ),
  kind: Flag.String("kind").pipe(
    Flag.atLeast(0),
    Flag.withDescription("only actions of this kind (repeatable)"),
  ),
  error: Flag.String("error").pipe(
    Flag.optional,
    Flag.withDescription(
      "only those whose reason (a parked action's last failure) holds this text, in any case",
    ),
  ),
  since: instantFlag("since", "only those requested since an ISO time or a duration ago"),
  until: instantFlag("until", "only those requested until an ISO time or a duration ago"),
}

/** What a bulk decision takes besides its filters. */
const bulkFlags = {
  ...queueFilters,
  all: allFlag("every action in the queue"),
  dryRun: dryRunFlag,
  as: personFlag("decides"),
  json: jsonFlag,
  natsUrl: natsUrlFlag,
  namespace: namespaceFlag,
}

/** `mesh approvals retry`: parked actions given another round of attempts, by filter. */
const retryCommand = Command.make("retry", bulkFlags, (args) => lazily(load, (h) => h.retry(args))).pipe(
  Command.withDescription(
    "Give every parked action the filters take another round of attempts (an approval of its recorded parameters, as the named person, " +
      "recorded in the log); actions waiting for approval are never approved in bulk",
  ),
)

/** `mesh approvals discard --reason`: waiting or parked actions rejected for good, by filter. */
const discardCommand = Command.make(
  "discard",
  { ...bulkFlags, reason: Flag.String("reason").pipe(Flag.withDescription("why (recorded in the log)")) },
  (args) => lazily(load, (h) => h.discard(args)),
).pipe(
  Command.withDescription(
    "Reject for good every waiting or parked action the filters take, with the reason, as the named person (each recorded in the log)",
  ),
)

/** `mesh approvals [retry|discard]`: the actions waiting for a human, with the hash to approve. */
export const approvalsCommand = Command.make(
  "approvals",
  { ...queueFilters, json: jsonFlag, natsUrl: natsUrlFlag, namespace: namespaceFlag },
  (args) => lazily(load, (h) => h.approvals(args)),
).pipe(
  Command.withDescription(
    "List actions waiting for approval or parked after their retries (--agent, --status, --kind, --error, --since, --until); retry or discard them by filter",
  ),
  Command.withSubcommands([retryCommand, discardCommand]),
)

/** The arguments every decision takes: which action, who decides, and where. */
const decisionArgs = {
  agent: Argument.String("agent"),
  actionId: Argument.String("action-id"),
  as: personFlag("decides"),
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
