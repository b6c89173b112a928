import { createHash } from "node:crypto"
import { type ApprovalRefusal, type RequestOrigin, Sha256Hex } from "@mesh/contracts"
import { MeshNamespace, messageOf, NatsClient } from "@mesh/eventlog"
import { makeRequestLog } from "@mesh/kernel/requests"
import { ReadModelDb } from "@mesh/sql"
import { Clock, Context, Effect, Layer, Result, Schema } from "effect"
import {
  type ActionCommands,
  type ActionDomainEvent,
  type FoldedAction,
  makeActionCommands,
} from "../action/actionCommands.ts"
import { actionsReadModel, listApprovalQueue, type QueuedAction } from "../readModel/actionsProjection.ts"

/** A human's approval of one action, bound to the hash of the parameters they were shown. */
export interface ApprovalDecision {
  readonly agent: string
  readonly actionId: string
  readonly approver: string
  readonly parametersHash: string
}

/** A human's rejection of one action. */
export interface RejectionDecision {
  readonly agent: string
  readonly actionId: string
  readonly approver: string
  readonly reason: string
}

/** What an approval or rejection did. */
export type ApprovalOutcome =
  | { readonly _tag: "Approved"; readonly expiresAt: string }
  | { readonly _tag: "Rejected" }
  | { readonly _tag: "Refused"; readonly refusal: ApprovalRefusal }

/** No action has this id. */
export const UnknownAction = Schema.TaggedStruct("UnknownAction", {
  agent: Schema.String,
  actionId: Schema.String,
})
/** The decision itself is malformed (a hash that is not one, an empty reason). */
export const InvalidDecision = Schema.TaggedStruct("InvalidDecision", { message: Schema.String })
/** The log could not take the decision (NATS down, conflict retries spent). */
export const ApprovalUnavailable = Schema.TaggedStruct("ApprovalUnavailable", { message: Schema.String })

/** The one error of approvals; `reason` says which. */
export class ApprovalError extends Schema.TaggedError<ApprovalError>()("ApprovalError", {
  reason: Schema.Union([UnknownAction, InvalidDecision, ApprovalUnavailable]),
}) {
  override get message(): string {
    const reason = this.reason
    return reason._tag === "UnknownAction"
      ? `no action ${reason.actionId} of agent ${reason.agent}`
      : reason._tag === "InvalidDecision"
        ? `invalid decision: ${reason.message}`
        : `the decision was not recorded: ${reason.message}`
  }
}

/** Checks a decision before it reaches the log, so that bad input is named as such. */
const checkDecision = (fields: { readonly parametersHash?: string; readonly reason?: string }) => {
  if (
    fields.parametersHash !== undefined &&
    Result.isFailure(Schema.decodeUnknownResult(Sha256Hex)(fields.parametersHash))
  ) {
    return Effect.fail(
      new ApprovalError({
        reason: { _tag: "InvalidDecision", message: "parametersHash must be a lowercase hex SHA-256 digest" },
      }),
    )
  }
  if (fields.reason !== undefined && fields.reason.trim() === "") {
    return Effect.fail(
      new ApprovalError({ reason: { _tag: "InvalidDecision", message: "a rejection needs a reason" } }),
    )
  }
  return Effect.void
}

/**
 * Human approval of parked and waiting actions. The decision goes through the action's decider,
 * which refuses other parameters, a passed deadline, a second decision, self-approval and a person
 * the policy does not name as
 * recorded events; the approver is the command's actor, so the log says who decided.
 */
export const makeApprovals = (options: {
  readonly commands: ActionCommands
  readonly approvalTtlMs: number
  /** How decisions reach this instance: the approvals API, or the command line. */
  readonly origin: RequestOrigin
}) => {
  const { commands } = options
  // A decision is recorded as the outside request it is, before it acts.
  const requests = makeRequestLog({ nats: commands.nats, namespace: commands.namespace })

  const existing = (agent: string, actionId: string) =>
    commands.load(agent, actionId).pipe(
      Effect.mapError(
        (e) => new ApprovalError({ reason: { _tag: "ApprovalUnavailable", message: e.message } }),
      ),
      Effect.flatMap((action) =>
        action.state.status === "none"
          ? Effect.fail(new ApprovalError({ reason: { _tag: "UnknownAction", agent, actionId } }))
          : Effect.succeed(action),
      ),
    )

  // A human's decision is an outside request that answers the action's latest
  // ActionAwaitingApproval or ActionParked: it is recorded first, caused by that event and in the
  // action's correlation, and the decision's command is caused by the recorded request, so the
  // chain runs through the human and the log keeps what was asked even when it is refused.
  const decide = (
    action: FoldedAction,
    approver: string,
    commandKey: string,
    command: Parameters<ActionCommands["sendAt"]>[2],
  ) =>
    Effect.gen(function* () {
      const actor = { kind: "human" as const, id: approver }
      const recorded = yield* requests
        .record({
          requestId: `decision-${createHash("sha256").update(`${action.ref.type}:${action.ref.id}:${commandKey}`).digest("hex").slice(0, 32)}`,
          agent: action.ref.type,
          name: command._tag === "Approve" ? "ApproveAction" : "RejectAction",
          origin: options.origin,
          actor,
          body: { agent: action.ref.type, actionId: action.ref.id, decision: command },
          joins: {
            correlationId: action.correlationId ?? `approval:${action.ref.type}:${action.ref.id}`,
            causationId: action.awaitingEventId,
          },
        })
        .pipe(
          Effect.mapError(
            (e) => new ApprovalError({ reason: { _tag: "ApprovalUnavailable", message: e.message } }),
          ),
        )
      return yield* commands
        .sendAt(action, commandKey, command, {
          actor,
          correlationId: recorded.metadata.correlationId,
          causationId: recorded.metadata.causationId,
        })
        .pipe(
          Effect.mapError(
            (e) => new ApprovalError({ reason: { _tag: "ApprovalUnavailable", message: e.message } }),
          ),
        )
    })

  /** Approves an action's exact parameters. */
  const approve = Effect.fn("Approvals.approve")(function* (decision: ApprovalDecision) {
    yield* checkDecision({ parametersHash: decision.parametersHash })
    const action = yield* existing(decision.agent, decision.actionId)
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    const outcome = yield* decide(
      action,
      decision.approver,
      `approve:${decision.approver}:${decision.parametersHash}:v${action.position.version}`,
      {
        _tag: "Approve",
        approver: decision.approver,
        parametersHash: decision.parametersHash,
        approvalTtlMs: options.approvalTtlMs,
        now,
      },
    )
    return outcomeOf(outcome.events)
  })

  /** Rejects an action for good. */
  const reject = Effect.fn("Approvals.reject")(function* (decision: RejectionDecision) {
    yield* checkDecision({ reason: decision.reason })
    const action = yield* existing(decision.agent, decision.actionId)
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    const outcome = yield* decide(
      action,
      decision.approver,
      `reject:${decision.approver}:v${action.position.version}`,
      { _tag: "Reject", by: decision.approver, reason: decision.reason, now },
    )
    return outcomeOf(outcome.events)
  })

  return { approve, reject }
}

/** Approving and rejecting actions (what `makeApprovals` returns). */
export type ApprovalDecisions = ReturnType<typeof makeApprovals>

/** What the approvals service offers: the decisions, and the queue of actions waiting for them. */
export interface ApprovalsShape extends ApprovalDecisions {
  /** The actions waiting for a human (or parked after their retries), oldest first. */
  readonly queue: (agent?: string) => Effect.Effect<ReadonlyArray<QueuedAction>, ApprovalError>
}

/** The lifetime of an approval when the action's request did not record its policy's. */
export const defaultApprovalTtlMs = 60 * 60 * 1000

/** Human approval of one agent's actions, as a service of the process that owns them. */
export class Approvals extends Context.Service<Approvals, ApprovalsShape>()("mesh/Approvals") {
  /**
   * Approvals of `agent`'s actions on the process's NATS connection and namespace, with the queue
   * read from the agent's actions read model (kept by its `actionsProjectionWorker`).
   */
  static readonly layer = (options: {
    readonly agent: string
    readonly approvalTtlMs?: number
  }): Layer.Layer<Approvals, never, NatsClient | MeshNamespace | ReadModelDb> =>
    Layer.effect(
      Approvals,
      Effect.gen(function* () {
        const nats = yield* NatsClient
        const namespace = yield* MeshNamespace
        const readModel = actionsReadModel((yield* ReadModelDb).db, namespace.name, options.agent)
        const decisions = makeApprovals({
          origin: "http",
          commands: makeActionCommands({ nats, namespace: namespace.name }),
          approvalTtlMs: options.approvalTtlMs ?? defaultApprovalTtlMs,
        })
        const queue = (agent?: string) =>
          Effect.tryPromise({
            try: () => listApprovalQueue(readModel, agent),
            catch: (cause) =>
              new ApprovalError({
                reason: {
                  _tag: "ApprovalUnavailable",
                  message: `the approvals queue is unavailable: ${messageOf(cause)}`,
                },
              }),
          })
        return Approvals.of({ ...decisions, queue })
      }),
    )
}

const outcomeOf = (events: ReadonlyArray<ActionDomainEvent>): ApprovalOutcome => {
  for (const event of events) {
    if (event.type === "ActionApproved") return { _tag: "Approved", expiresAt: event.payload.expiresAt }
    if (event.type === "ActionRejected") return { _tag: "Rejected" }
    if (event.type === "ActionApprovalRefused") return { _tag: "Refused", refusal: event.payload.refusal }
  }
  // The same decision was recorded before (a retried request): report it as the decider did then.
  return { _tag: "Refused", refusal: "already-decided" }
}
