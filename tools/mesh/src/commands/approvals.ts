import {
  type ApprovalError,
  type ApprovalOutcome,
  type Approvals,
  approvalQueueFromLog,
  makeActionCommands,
  makeApprovals,
} from "@mesh/actions"
import { openNats } from "@mesh/eventlog"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { namespaceOf, natsTarget } from "../target.ts"
import { namespaceFlag, natsUrlFlag } from "./streams.ts"

const connect = (flag: Option.Option<string>) =>
  Effect.acquireRelease(
    Effect.tryPromise(() => openNats(natsTarget(Option.getOrUndefined(flag)), "mesh-cli")),
    (h) => Effect.promise(() => h.connection.drain()),
  )

const commandsOf = (natsUrl: Option.Option<string>, namespace: Option.Option<string>) =>
  Effect.map(connect(natsUrl), (nats) =>
    makeActionCommands({ nats, namespace: namespaceOf(Option.getOrUndefined(namespace)) }),
  )

// The approver is a person: named explicitly, or by MESH_APPROVER; never defaulted to the OS user,
// so that the log never records an approval nobody meant to sign.
const approverFlag = Flag.String("as").pipe(
  Flag.optional,
  Flag.withDescription("who decides (recorded in the log); defaults to MESH_APPROVER"),
)

const approverOf = (flag: Option.Option<string>) => {
  const approver = Option.getOrUndefined(flag) ?? process.env.MESH_APPROVER
  return approver === undefined || approver.trim() === ""
    ? Effect.fail(new Error("say who decides: --as <name> or MESH_APPROVER"))
    : Effect.succeed(approver.trim())
}

const report = (actionId: string, outcome: ApprovalOutcome) =>
  outcome._tag === "Refused"
    ? Effect.fail(new Error(`${actionId}: refused (${outcome.refusal}); nothing changed`))
    : Console.log(
        outcome._tag === "Approved"
          ? `${actionId}: approved until ${outcome.expiresAt}`
          : `${actionId}: rejected`,
      )

/** `mesh approvals [--agent a]`: the actions waiting for a human, with the hash to approve. */
export const approvalsCommand = Command.make(
  "approvals",
  {
    agent: Flag.String("agent").pipe(Flag.optional, Flag.withDescription("only this agent's actions")),
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) =>
    Effect.gen(function* () {
      const commands = yield* commandsOf(args.natsUrl, args.namespace)
      const queue = yield* approvalQueueFromLog(commands, Option.getOrUndefined(args.agent))
      for (const q of queue) {
        const amount = q.amount === null ? "" : ` ${q.amount.amountMinor} ${q.amount.currency} (minor units)`
        yield* Console.log(
          `${q.agent} ${q.actionId} ${q.status} ${q.kind}${amount} rule ${q.policy.rule} of ${q.policy.workflow} v${q.policy.version}${q.expiresAt === null ? "" : ` expires ${q.expiresAt}`}${q.reason === null ? "" : ` (${q.reason})`}\n  parameters ${JSON.stringify(q.parameters)}\n  hash ${q.parametersHash}`,
        )
      }
      yield* Console.log(`${queue.length} actions wait for a human`)
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("List actions waiting for approval (or parked after their retries)"))

/** The arguments every decision takes: which action, who decides, and where. */
const decisionArgs = {
  agent: Argument.String("agent"),
  actionId: Argument.String("action-id"),
  as: approverFlag,
  natsUrl: natsUrlFlag,
  namespace: namespaceFlag,
}

/** Runs one human decision as the named approver and reports what it did. */
const decide = (
  args: {
    readonly agent: string
    readonly actionId: string
    readonly as: Option.Option<string>
    readonly natsUrl: Option.Option<string>
    readonly namespace: Option.Option<string>
  },
  run: (approvals: Approvals, approver: string) => Effect.Effect<ApprovalOutcome, ApprovalError>,
) =>
  Effect.gen(function* () {
    const approver = yield* approverOf(args.as)
    const commands = yield* commandsOf(args.natsUrl, args.namespace)
    // The fallback lifetime of an approval, for actions whose request did not record its policy's.
    const approvals = makeApprovals({ commands, approvalTtlMs: 60 * 60 * 1000 })
    yield* report(args.actionId, yield* run(approvals, approver))
  }).pipe(Effect.scoped)

/** `mesh approve <agent> <action-id> --hash <h> --as <name>`. */
export const approveCommand = Command.make(
  "approve",
  {
    ...decisionArgs,
    hash: Flag.String("hash").pipe(Flag.withDescription("the parameters hash shown by `mesh approvals`")),
  },
  (args) =>
    decide(args, (approvals, approver) =>
      approvals.approve({ agent: args.agent, actionId: args.actionId, approver, parametersHash: args.hash }),
    ),
).pipe(Command.withDescription("Approve an action's exact parameters (bound to their hash)"))

/** `mesh reject <agent> <action-id> --reason <why> --as <name>`. */
export const rejectCommand = Command.make(
  "reject",
  { ...decisionArgs, reason: Flag.String("reason").pipe(Flag.withDescription("why (recorded in the log)")) },
  (args) =>
    decide(args, (approvals, approver) =>
      approvals.reject({ agent: args.agent, actionId: args.actionId, approver, reason: args.reason }),
    ),
).pipe(Command.withDescription("Reject an action for good"))
