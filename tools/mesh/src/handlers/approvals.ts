import {
  type ActionCommands,
  ApprovalError,
  type ApprovalOutcome,
  approvalQueueFromLog,
  makeActionCommands,
  makeApprovals,
} from "@mesh/actions"
import { Clock, Console, Effect, Option } from "effect"
import { meshError } from "../errors.ts"
import { instantOf, type Since } from "../since.ts"
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

/** Which waiting or parked actions a command takes; every filter narrows. */
export interface QueueFilter {
  readonly agent: Option.Option<string>
  readonly status: Option.Option<"awaiting-approval" | "parked">
  readonly kind: ReadonlyArray<string>
  /** Text the reason it waits (a parked action's last failure) holds, in any case. */
  readonly error: Option.Option<string>
  readonly since: Option.Option<Since>
  readonly until: Option.Option<Since>
}

/** The queue's actions the filter takes, oldest first. */
const filteredQueue = (commands: ActionCommands, filter: QueueFilter) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const instant = (s: Since) => instantOf(s, now)
    const queue = yield* approvalQueueFromLog(commands, Option.getOrUndefined(filter.agent)).pipe(
      failedTo("read the actions waiting for approval"),
    )
    const error = Option.map(filter.error, (e) => e.toLowerCase())
    return queue.filter((q) => {
      const at = Date.parse(q.requestedAt)
      return (
        Option.match(filter.status, { onNone: () => true, onSome: (s) => q.status === s }) &&
        (filter.kind.length === 0 || filter.kind.includes(q.kind)) &&
        Option.match(error, {
          onNone: () => true,
          onSome: (e) => (q.reason ?? "").toLowerCase().includes(e),
        }) &&
        Option.match(filter.since, { onNone: () => true, onSome: (s) => at >= instant(s) }) &&
        Option.match(filter.until, { onNone: () => true, onSome: (u) => at <= instant(u) })
      )
    })
  })

/** `mesh approvals`: the actions waiting for a human, with the hash to approve. */
export const approvals = (
  args: QueueFilter & {
    readonly json: boolean
    readonly natsUrl: Option.Option<string>
    readonly namespace: Option.Option<string>
  },
) =>
  Effect.gen(function* () {
    const { commands } = yield* commandsOf(args.natsUrl, args.namespace)
    const queue = yield* filteredQueue(commands, args)
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

interface BulkArgs extends QueueFilter {
  readonly all: boolean
  readonly dryRun: boolean
  readonly as: Option.Option<string>
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}

const hasFilter = (f: QueueFilter) =>
  Option.isSome(f.agent) ||
  Option.isSome(f.status) ||
  f.kind.length > 0 ||
  Option.isSome(f.error) ||
  Option.isSome(f.since) ||
  Option.isSome(f.until)

/**
 * Runs one decision per action the filter takes, as the named person, each recorded in the log as
 * that person's request (the approvals' own recording) and reported on its own line; a refused one
 * is reported and the rest go on. Exit 1 when any was refused.
 */
const bulkDecide = (
  args: BulkArgs,
  verb: "retry" | "discard",
  eligible: (q: { readonly status: string }) => boolean,
  run: (
    approvals: ReturnType<typeof makeApprovals>,
    approver: string,
    q: { readonly agent: string; readonly actionId: string; readonly parametersHash: string },
  ) => Effect.Effect<ApprovalOutcome, ApprovalError>,
) =>
  Effect.gen(function* () {
    if (!hasFilter(args) && !args.all)
      return yield* meshError({
        _tag: "BadInput",
        message: `say which actions to ${verb}: --agent, --status, --kind, --error, --since or --until, or --all`,
      })
    const approver = yield* personDeciding(args.as)
    const { url, commands } = yield* commandsOf(args.natsUrl, args.namespace)
    const queue = (yield* filteredQueue(commands, args)).filter(eligible)
    const approvals = makeApprovals({ commands, approvalTtlMs: 60 * 60 * 1000, origin: "cli" })
    let refused = 0
    for (const q of queue) {
      const outcome = args.dryRun
        ? `would ${verb}`
        : yield* run(approvals, approver, q).pipe(
            Effect.map((o) =>
              o._tag === "Refused" ? `refused (${o.refusal})` : verb === "retry" ? "retried" : "discarded",
            ),
            Effect.catchIf(
              (error) => error instanceof ApprovalError,
              (error) =>
                error.reason._tag === "ApprovalUnavailable"
                  ? meshError({ _tag: "NatsUnreachable", url, cause: error })
                  : Effect.succeed(`refused (${error.message})`),
            ),
          )
      if (outcome.startsWith("refused")) refused += 1
      yield* Console.log(
        args.json
          ? JSON.stringify({ agent: q.agent, actionId: q.actionId, kind: q.kind, status: q.status, outcome })
          : `${q.agent} ${q.actionId} ${q.kind} (${q.status}${q.reason === null ? "" : `: ${q.reason}`}): ${outcome}`,
      )
    }
    if (!args.json)
      yield* Console.log(
        `${queue.length} actions ${args.dryRun ? `would be ${verb === "retry" ? "retried" : "discarded"}` : `${verb === "retry" ? "retried" : "discarded"}, ${refused} refused`}`,
      )
    if (refused > 0)
      return yield* meshError({
        _tag: "Failed",
        message: `${refused} actions were refused; they are unchanged`,
      })
  }).pipe(Effect.scoped)

/**
 * `mesh approvals retry`: every parked action the filter takes given another round of attempts
 * (an approval of its recorded parameters, by the named person). Waiting approvals are never
 * granted in bulk: each is a person's decision on its own parameters (`mesh approve`).
 */
export const retry = (args: BulkArgs) =>
  bulkDecide(
    args,
    "retry",
    (q) => q.status === "parked",
    (approvals, approver, q) =>
      approvals.approve({
        agent: q.agent,
        actionId: q.actionId,
        approver,
        parametersHash: q.parametersHash,
      }),
  )

/** `mesh approvals discard --reason`: every action the filter takes rejected for good, with the reason. */
export const discard = (args: BulkArgs & { readonly reason: string }) =>
  bulkDecide(
    args,
    "discard",
    () => true,
    (approvals, approver, q) =>
      approvals.reject({ agent: q.agent, actionId: q.actionId, approver, reason: args.reason }),
  )
