import { type ApprovalOutcome, approvalQueueFromLog, makeActionCommands, makeApprovals } from "@mesh/actions"
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

/** `mesh approve <agent> <action-id> --hash <h> --as <name>`. */
export const approveCommand = Command.make(
  "approve",
  {
    agent: Argument.String("agent"),
    actionId: Argument.String("action-id"),
    hash: Flag.String("hash").pipe(Flag.withDescription("the parameters hash shown by `mesh approvals`")),
    as: approverFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) =>
    Effect.gen(function* () {
      const approver = yield* approverOf(args.as)
      const commands = yield* commandsOf(args.natsUrl, args.namespace)
      const approvals = makeApprovals({ commands, approvalTtlMs: 60 * 60 * 1000 })
      const outcome = yield* approvals.approve({
        agent: args.agent,
        actionId: args.actionId,
        approver,
        parametersHash: args.hash,
      })
      yield* report(args.actionId, outcome)
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Approve an action's exact parameters (bound to their hash)"))

/** `mesh reject <agent> <action-id> --reason <why> --as <name>`. */
export const rejectCommand = Command.make(
  "reject",
  {
    agent: Argument.String("agent"),
    actionId: Argument.String("action-id"),
    reason: Flag.String("reason").pipe(Flag.withDescription("why (recorded in the log)")),
    as: approverFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) =>
    Effect.gen(function* () {
      const approver = yield* approverOf(args.as)
      const commands = yield* commandsOf(args.natsUrl, args.namespace)
      const approvals = makeApprovals({ commands, approvalTtlMs: 60 * 60 * 1000 })
      const outcome = yield* approvals.reject({
        agent: args.agent,
        actionId: args.actionId,
        approver,
        reason: args.reason,
      })
      yield* report(args.actionId, outcome)
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Reject an action for good"))
