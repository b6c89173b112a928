import {
  ApprovalError,
  type ApprovalOutcome,
  approvalQueueFromLog,
  makeActionCommands,
  makeApprovals,
} from "@mesh/actions"
import { Console, Effect, Option } from "effect"
import { meshError } from "../errors.ts"
import { failedTo, namespaceOf, personDeciding, scopedNatsTarget } from "./nats.ts"

const commandsOf = (natsUrl: Option.Option<string>, namespace: Option.Option<string>) =>
  Effect.gen(function* () {
    const { url, nats } = yield* scopedNatsTarget(natsUrl)
    return { url, commands: makeActionCommands({ nats, namespace: yield* namespaceOf(namespace) }) }
  })

const report = (actionId: string, outcome: ApprovalOutcome) =>
  outcome._tag === "Refused"
    ? meshError({ _tag: "Failed", message: `${actionId}: refused (${outcome.refusal}); nothing changed` })
    : Console.log(
        outcome._tag === "Approved"
          ? `${actionId}: approved until ${outcome.expiresAt}`
          : `${actionId}: rejected`,
      )

/** `mesh approvals`: the actions waiting for a human, with the hash to approve. */
export const approvals = (args: {
  readonly agent: Option.Option<string>
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { commands } = yield* commandsOf(args.natsUrl, args.namespace)
    const queue = yield* approvalQueueFromLog(commands, Option.getOrUndefined(args.agent)).pipe(
      failedTo("read the actions waiting for approval"),
    )
    for (const q of queue) {
      if (args.json) {
        yield* Console.log(JSON.stringify(q))
        continue
      }
      const amount = q.amount === null ? "" : ` ${q.amount.amountMinor} ${q.amount.currency} (minor units)`
      yield* Console.log(
        `${q.agent} ${q.actionId} ${q.status} ${q.kind}${amount} rule ${q.policy.rule} of ${q.policy.workflow} v${q.policy.version}${q.expiresAt === null ? "" : ` expires ${q.expiresAt}`}${q.reason === null ? "" : ` (${q.reason})`}\n  parameters ${JSON.stringify(q.parameters)}\n  hash ${q.parametersHash}`,
      )
    }
    if (!args.json) yield* Console.log(`${queue.length} actions wait for a human`)
  }).pipe(Effect.scoped)

/** The arguments every decision takes: which action, who decides, and where. */
export interface DecisionArgs {
  readonly agent: string
  readonly actionId: string
  readonly as: Option.Option<string>
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}

// An approval error names bad input or an unknown action as such; only a log that could not
// record the decision is the infrastructure's fault.
const decisionFailed = (error: ApprovalError, url: string) =>
  error.reason._tag === "ApprovalUnavailable"
    ? meshError({ _tag: "NatsUnreachable", url, cause: error })
    : meshError({ _tag: "Failed", message: error.message })

/** Runs one human decision as the named approver and reports what it did. */
const decide = (
  args: DecisionArgs,
  run: (
    approvals: ReturnType<typeof makeApprovals>,
    approver: string,
  ) => Effect.Effect<ApprovalOutcome, ApprovalError>,
) =>
  Effect.gen(function* () {
    const approver = yield* personDeciding(args.as)
    const { url, commands } = yield* commandsOf(args.natsUrl, args.namespace)
    // The fallback lifetime of an approval, for actions whose request did not record its policy's.
    const approvals = makeApprovals({ commands, approvalTtlMs: 60 * 60 * 1000, origin: "cli" })
    const outcome = yield* run(approvals, approver).pipe(
      Effect.catchIf(
        (error) => error instanceof ApprovalError,
        (error) => decisionFailed(error, url),
      ),
    )
    yield* report(args.actionId, outcome)
  }).pipe(Effect.scoped)

/** `mesh approve`: approves an action's exact parameters, bound to their hash. */
export const approve = (args: DecisionArgs & { readonly hash: string }) =>
  decide(args, (approvals, approver) =>
    approvals.approve({ agent: args.agent, actionId: args.actionId, approver, parametersHash: args.hash }),
  )

/** `mesh reject`: rejects an action for good. */
export const reject = (args: DecisionArgs & { readonly reason: string }) =>
  decide(args, (approvals, approver) =>
    approvals.reject({ agent: args.agent, actionId: args.actionId, approver, reason: args.reason }),
  )
